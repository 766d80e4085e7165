import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { prepareLegacyDatabase } from './legacy-database.ts';
import { silentLogger } from './logger.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cdcPresent = existsSync(path.join(ROOT, 'cdc', 'capture-setup.ts'));

describe('preparing the legacy database for the stack', () => {
  let database: TestDatabase;
  const suffix = randomBytes(4).toString('hex');
  const capture = { slot: `stack_test_${suffix}`, publication: `stack_test_${suffix}` };

  beforeAll(async () => {
    database = await createTestDatabase('legacy_setup');
  });
  afterAll(async () => {
    await database.drop();
  });

  async function query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('when the database is empty, then it migrates and seeds the requested number of products', async () => {
    const report = await prepareLegacyDatabase({ databaseUrl: database.url, products: 25, logger: silentLogger(), capture });
    expect(report.migrations).toEqual(['001-catalog.sql', '002-storefront.sql']);
    expect(report.created).toBe(true);
    expect(report.seed).toMatchObject({ seeded: true, products: 25 });
    expect(report.capturePrepared).toBe(cdcPresent);
    const [row] = await query<{ count: string }>('SELECT count(*) FROM catalog_product_entity');
    expect(Number(row?.count)).toBe(25);
  });

  it.runIf(cdcPresent)('when the CDC bridge exists, then its slot was created before the seed, so the stream holds every seeded product', async () => {
    // The test cluster commits asynchronously (synchronous_commit=off) and decoding stops at the
    // flushed WAL, which the WAL writer advances within a few hundred milliseconds: poll.
    const countInserts = async () => {
      const rows = await query<{ count: string }>(
        `SELECT count(*) FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)
          WHERE get_byte(data, 0) = 73 /* 'I': an insert */`,
        [capture.slot, capture.publication],
      );
      return Number(rows[0]?.count);
    };
    let inserts = await countInserts();
    for (const deadline = Date.now() + 10_000; inserts === 0 && Date.now() < deadline; inserts = await countInserts()) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const [products] = await query<{ count: string }>('SELECT count(*) FROM catalog_product_entity');
    // Every table of the catalog is captured; the products alone already give a lower bound.
    expect(inserts).toBeGreaterThan(Number(products?.count));
  });

  it('when the stack starts again, then nothing is migrated or seeded twice', async () => {
    const report = await prepareLegacyDatabase({ databaseUrl: database.url, products: 40, logger: silentLogger(), capture });
    expect(report.migrations).toEqual([]);
    expect(report.created).toBe(false);
    expect(report.seed.seeded).toBe(false);
    const [row] = await query<{ count: string }>('SELECT count(*) FROM catalog_product_entity');
    expect(Number(row?.count)).toBe(25);
  });
});
