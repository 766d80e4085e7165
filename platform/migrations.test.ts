import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from './migrations.ts';
import { silentLogger } from './logger.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';

const legacySchema = fileURLToPath(new URL('../legacy-stub/schema', import.meta.url));

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrations');
  });
  afterAll(async () => db.drop());

  it('applies every SQL file once, in order, and records it', async () => {
    const applied = await migrate(db.url, legacySchema, silentLogger());
    expect(applied).toEqual(['001-catalog.sql', '002-storefront.sql']);
    const client = new pg.Client(db.url);
    await client.connect();
    const { rows } = await client.query("SELECT to_regclass('catalog_product_entity_decimal') AS t, (SHOW_wal) AS x FROM (SELECT current_setting('wal_level') AS show_wal) s");
    await client.end();
    expect(rows[0]).toEqual({ t: 'catalog_product_entity_decimal', x: 'logical' });
  });

  it('is a no-op when run again', async () => {
    expect(await migrate(db.url, legacySchema, silentLogger())).toEqual([]);
  });
});
