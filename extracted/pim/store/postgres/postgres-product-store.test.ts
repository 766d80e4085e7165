import { afterAll, beforeAll } from 'vitest';
import pg from 'pg';
import { migrate } from '../../../../platform/migrations.ts';
import { silentLogger } from '../../../../platform/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { PIM_SCHEMA } from '../../pim-service.ts';
import { describeProductStoreContract } from '../product-store.contract.ts';
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
