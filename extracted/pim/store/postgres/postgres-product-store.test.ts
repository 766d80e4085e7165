import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate } from '../../../../platform/migrations.ts';
import { silentLogger } from '../../../../platform/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { PIM_SCHEMA } from '../../pim-service.ts';
import { describeProductStoreContract } from '../product-store.contract.ts';
import { contractDocument, contractDocuments, priceQuery } from '../contract-documents.ts';
import { PostgresProductStore } from './postgres-product-store.ts';

let database: TestDatabase;
let pool: pg.Pool;
let store: PostgresProductStore;

beforeAll(async () => {
  database = await createTestDatabase('pim_pg_store');
  await migrate(database.url, PIM_SCHEMA, silentLogger());
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  store = new PostgresProductStore(pool);
  await store.init();
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

describeProductStoreContract('the PostgreSQL store', {
  store: () => store,
  prepare: async () => {
    await pool.query('TRUNCATE pim_document, pim_document_tombstone');
  },
});

describe('the PostgreSQL store counts a searchCriteria query again only when the documents changed', () => {
  const { b, c, d } = contractDocuments;
  const versionsSent: unknown[] = [];
  let counting: PostgresProductStore;
  let countingPool: pg.Pool;

  beforeAll(async () => {
    countingPool = new pg.Pool({ connectionString: database.url, max: 2 });
    // The version each search statement carries: null means "count".
    const query = countingPool.query.bind(countingPool) as (...args: unknown[]) => unknown;
    countingPool.query = ((...args: unknown[]) => {
      const config = args[0] as { text?: string; values?: unknown[] };
      // The version is bound before the page's limit and offset.
      if (config.text?.includes('FROM pim_document_version v')) versionsSent.push(config.values?.at(-3));
      return query(...args);
    }) as typeof countingPool.query;
    counting = new PostgresProductStore(countingPool);
  });

  afterAll(async () => {
    await countingPool?.end();
  });

  const countsNow = async () => {
    const { rows } = await pool.query<{ version: string }>('SELECT version::text AS version FROM pim_document_version');
    return rows[0]!.version;
  };

  it('when the same query (or another page of it) comes again, then its total_count is reused, not counted', async () => {
    await pool.query('TRUNCATE pim_document, pim_document_tombstone, pim_document_category');
    await counting.upsert([b, c, d]);
    const first = await counting.search(priceQuery(1));
    const hitsBefore = counting.counts.hitRatio;
    const second = await counting.search(priceQuery(2));
    expect(first.totalCount).toBe(2);
    expect(second).toEqual({ totalCount: 2, items: [JSON.stringify(d.product)] });
    // The first statement had no count to reuse; the second carried the first one's version, which still held.
    expect(versionsSent.slice(-2)).toEqual([null, await countsNow()]);
    expect(counting.counts.hitRatio).toBeGreaterThan(hitsBefore);
  });

  it('when a document is written, removed or the table truncated, then the next query counts again', async () => {
    await pool.query('TRUNCATE pim_document, pim_document_tombstone, pim_document_category');
    await counting.upsert([b, c, d]);
    expect((await counting.search(priceQuery(1))).totalCount).toBe(2);
    const before = await countsNow();
    await counting.upsert([contractDocument({ entityId: 5, sku: 'CT-E', name: 'Echo Cap', price: '50.000000', version: 3000n })]);
    expect(await countsNow()).not.toBe(before);
    expect((await counting.search(priceQuery(1))).totalCount).toBe(3);
    await counting.remove([{ entityId: 5, version: 3100n }]);
    expect((await counting.search(priceQuery(1))).totalCount).toBe(2);
    // A writer that is not the store (a reset, a fix by hand) changes the version too.
    await pool.query('TRUNCATE pim_document');
    expect(await counting.search(priceQuery(1))).toEqual({ totalCount: 0, items: [] });
  });

  it('when another PIM with its own cache writes, then this one still counts again', async () => {
    await pool.query('TRUNCATE pim_document, pim_document_tombstone, pim_document_category');
    await counting.upsert([b, c]);
    expect((await counting.search(priceQuery(1))).totalCount).toBe(1);
    await new PostgresProductStore(pool).upsert([d]);
    expect((await counting.search(priceQuery(1))).totalCount).toBe(2);
  });
});
