import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../platform/database.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cdcPresent = existsSync(path.join(ROOT, 'cdc', 'capture-setup.ts'));

describe('strangler db setup, as docker-compose runs it', () => {
  let legacy: TestDatabase;
  const suffix = randomBytes(4).toString('hex');
  const names = { pricing: `setup_pricing_${suffix}`, pim: `setup_pim_${suffix}`, slot: `setup_slot_${suffix}`, publication: `setup_pub_${suffix}` };
  let env: Record<string, string>;

  beforeAll(async () => {
    legacy = await createTestDatabase('setup_legacy');
    env = {
      ...(process.env as Record<string, string>),
      LEGACY_DATABASE_URL: legacy.url,
      PRICING_DATABASE_URL: withDatabase(legacy.url, names.pricing),
      PIM_DATABASE_URL: withDatabase(legacy.url, names.pim),
      SEED_PRODUCTS: '12',
      CDC_SLOT: names.slot,
      CDC_PUBLICATION: names.publication,
      LOG_LEVEL: 'info',
    };
  });

  afterAll(async () => {
    await legacy.drop();
    const admin = new pg.Client({ connectionString: inject('postgresServerUrl') });
    await admin.connect();
    try {
      for (const name of [names.pricing, names.pim]) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });

  function setup(): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [path.join(ROOT, 'bin/strangler.js'), 'db', 'setup'], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
  }

  async function query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: legacy.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('when run on an empty server, then it creates the services’ databases, the CDC slot it is told, and seeds', async () => {
    const { code, output } = await setup();
    expect(code, output).toBe(0);
    expect(output).toMatch(/^setup +│ .*databases ready/m);
    const [products] = await query<{ count: string }>('SELECT count(*) FROM catalog_product_entity');
    expect(Number(products?.count)).toBe(12);
    const databases = await query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [[names.pricing, names.pim]]);
    expect(databases.map((row) => row.datname).sort()).toEqual([names.pim, names.pricing].sort());
    if (cdcPresent) {
      const slots = await query<{ slot_name: string; database: string }>('SELECT slot_name, database FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
      expect(slots).toEqual([{ slot_name: names.slot, database: legacy.name }]);
      const publications = await query('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.publication]);
      expect(publications).toHaveLength(1);
    }
  });

  it('when run again, then it changes nothing and still succeeds', async () => {
    env.SEED_PRODUCTS = '30';
    const { code, output } = await setup();
    expect(code, output).toBe(0);
    const [products] = await query<{ count: string }>('SELECT count(*) FROM catalog_product_entity');
    expect(Number(products?.count)).toBe(12);
  });

  it('when the server does not do logical replication, then it fails with the setting to change', async () => {
    // A URL that cannot connect stands in for the wrong server: the error must name it, not crash.
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'bin/strangler.js'), 'db', 'setup'],
        { cwd: ROOT, env: { ...env, LEGACY_DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/legacy', PRICING_DATABASE_URL: '', PIM_DATABASE_URL: '' }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(code).toBe(1);
    expect(output).toContain('PLATFORM_DATABASE_UNREACHABLE');
    expect(output).toContain('postgres://postgres:***@127.0.0.1:1/legacy');
  });
});
