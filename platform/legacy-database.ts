import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';
import type { CaptureOptions } from './capture-options.ts';
import { assertLogicalWal } from './database.ts';
import type { Logger } from './logger.ts';
import { migrate } from './migrations.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface LegacyDatabaseReport {
  migrations: string[];
  /** The schema was created by this call: a brand-new legacy database, with no change history yet. */
  created: boolean;
  capturePrepared: boolean;
  seed: { seeded: boolean; products: number; ms: number };
}

/** cdc/capture-setup.ts's contract, written here because the CDC bridge may not exist yet. */
interface CaptureSetup {
  prepareCapture(options: { databaseUrl: string; logger: Logger; slot?: string; publication?: string; tables?: string[] }): Promise<void>;
}

/**
 * Brings the legacy database to a state the stack can run on, idempotently:
 * schema, then the CDC publication and slot (when the CDC bridge exists), then the seed.
 * The order is the point (issue 4): with the slot in place before the first row is written,
 * every row ever written reaches the stream, and the services can be filled from it alone.
 */
export async function prepareLegacyDatabase(options: {
  databaseUrl: string;
  products: number;
  logger: Logger;
  /** Slot, publication and tables: the CDC bridge's defaults for what is absent. */
  capture?: CaptureOptions;
}): Promise<LegacyDatabaseReport> {
  const log = options.logger.child({ component: 'legacy-database' });
  await assertLogicalWal(options.databaseUrl);
  const schema = path.join(ROOT, 'legacy-stub', 'schema');
  const firstMigration = (await readdir(schema)).filter((name) => name.endsWith('.sql')).sort()[0];
  const migrations = await migrate(options.databaseUrl, schema, options.logger);
  const created = firstMigration !== undefined && migrations.includes(firstMigration);
  const captureSetup = await loadCaptureSetup();
  if (captureSetup) {
    const { tables, ...names } = options.capture ?? {};
    await captureSetup.prepareCapture({
      databaseUrl: options.databaseUrl,
      logger: options.logger,
      ...names,
      ...(tables ? { tables: [...tables] } : {}),
    });
    log.info('CDC publication and replication slot ready');
  }
  // The seed says itself whether it wrote the catalog or found one there.
  const seed = await seedLegacy(options.databaseUrl, { products: options.products, logger: options.logger });
  return { migrations, created, capturePrepared: Boolean(captureSetup), seed };
}

async function loadCaptureSetup(): Promise<CaptureSetup | undefined> {
  const file = path.join(ROOT, 'cdc', 'capture-setup.ts');
  if (!existsSync(file)) return undefined;
  // Loaded by path so that the launcher works before the CDC bridge lands (issue 4).
  return (await import(pathToFileURL(file).href)) as CaptureSetup;
}
