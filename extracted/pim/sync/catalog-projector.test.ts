import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { silentLogger } from '../../../platform/logger.ts';
import { migrate } from '../../../platform/migrations.ts';
import { PIM_SCHEMA } from '../pim-service.ts';
import type { ProductRemoval } from '../domain/product-document.ts';
import { PostgresProductStore } from '../store/postgres/postgres-product-store.ts';
import { CatalogProjector } from './catalog-projector.ts';

// The first build of a seeded catalog's documents (flushSeeded) writes them without their
// secondary indexes and builds those once at the end; the indexes must always come back.

let database: TestDatabase;
let pool: pg.Pool;

async function documentIndexes(): Promise<string[]> {
  const { rows } = await pool.query<{ definition: string }>(
    `SELECT indexdef AS definition FROM pg_indexes WHERE tablename IN ('pim_document', 'pim_document_category') ORDER BY indexname`,
  );
  return rows.map((row) => row.definition);
}

/** Tables whose autovacuum is switched off (reloption autovacuum_enabled=false). */
async function autovacuumPaused(): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class WHERE 'autovacuum_enabled=false' = ANY(reloptions) ORDER BY relname`,
  );
  return rows.map((row) => row.name);
}

async function rawIndexes(): Promise<string[]> {
  const { rows } = await pool.query<{ definition: string }>(
    `SELECT indexdef AS definition FROM pg_indexes WHERE tablename LIKE 'pim_raw_%' ORDER BY indexname`,
  );
  return rows.map((row) => row.definition);
}

/** A product marked dirty whose raw rows are gone: its rebuild is a removal from the store. */
async function markDirty(entityId: number): Promise<void> {
  await pool.query(`INSERT INTO pim_product_state (entity_id, lsn, dirty) VALUES ($1, '0/10', true) ON CONFLICT (entity_id) DO UPDATE SET dirty = true`, [entityId]);
}

class FailingStore extends PostgresProductStore {
  override remove(_removals: readonly ProductRemoval[]): Promise<never> {
    return Promise.reject(new Error('the PIM died while writing documents'));
  }
}

beforeAll(async () => {
  database = await createTestDatabase('pim_projector');
  await migrate(database.url, PIM_SCHEMA, silentLogger());
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
});

afterAll(async () => {
  await pool.end();
  await database.drop();
});

beforeEach(async () => {
  await pool.query('TRUNCATE pim_product_state, pim_document, pim_document_category, pim_raw_entity, pim_raw_value');
});

describe('building the documents of a seeded catalog', () => {
  it('when the documents are built, then every dirty product is rebuilt and the document indexes exist again, exactly as defined', async () => {
    const before = await documentIndexes();
    expect(before.length).toBeGreaterThan(5);
    for (const id of [1, 2, 3]) await markDirty(id);
    const projector = new CatalogProjector({ pool, store: new PostgresProductStore(pool), logger: silentLogger() });
    expect(await projector.flushSeeded()).toBe(3);
    expect(await documentIndexes()).toEqual(before);
    expect(await autovacuumPaused()).toEqual([]);
    const { rows } = await pool.query('SELECT 1 FROM pim_product_state WHERE dirty');
    expect(rows).toHaveLength(0);
  });

  it('when the PIM dies while the documents are written, then the next start creates the dropped indexes again', async () => {
    const before = await documentIndexes();
    await markDirty(7);
    const failing = new CatalogProjector({ pool, store: new FailingStore(pool), logger: silentLogger() });
    await expect(failing.flushSeeded()).rejects.toThrow(/died/);
    expect((await documentIndexes()).length).toBeLessThan(before.length);
    // While the documents are written in bulk, autovacuum stays away from them (it would scan the
    // growing table again and again, and an index build finding it running waits for its cancel).
    expect(await autovacuumPaused()).toEqual(['pim_document', 'pim_document_category']);
    // A store reset in between empties every table; the definitions must survive it.
    await pool.query('TRUNCATE pim_product_state, pim_document, pim_document_category, pim_sync_state');
    const restarted = new CatalogProjector({ pool, store: new PostgresProductStore(pool), logger: silentLogger() });
    await restarted.restoreDeferredIndexes();
    expect(await documentIndexes()).toEqual(before);
    expect(await autovacuumPaused()).toEqual([]);
  });

  it('when documents already exist, then their indexes are left alone', async () => {
    const before = await documentIndexes();
    await markDirty(9);
    const failing = new CatalogProjector({ pool, store: new FailingStore(pool), logger: silentLogger() });
    await pool.query(`INSERT INTO pim_document_category (category_id, entity_id) VALUES (1, 1)`);
    await pool.query(
      `INSERT INTO pim_document (entity_id, sku, lsn, type_id, attribute_set_id, has_options, required_options, created_at, updated_at, fields, texts, category_ids, facets, store_values, product, search_text)
       VALUES (1, 'a', 1, 'simple', 4, 0, 0, '2024-01-01 00:00:00', '2024-01-01 00:00:00', '{}', '{}', '{}', '{}', '{}', '{}', '')`,
    );
    await expect(failing.flushSeeded()).rejects.toThrow(/died/);
    expect(await documentIndexes()).toEqual(before);
  });
});

// While an empty PIM receives its snapshot, the raw rows' by-product indexes are dropped; the
// documents are read through them, so they must exist again before any is built.
describe('receiving the snapshot of an empty PIM', () => {
  it('when the snapshot starts, then the raw by-product indexes are dropped, and the documents\' build creates them again exactly as defined first', async () => {
    const before = await rawIndexes();
    const projector = new CatalogProjector({ pool, store: new PostgresProductStore(pool), logger: silentLogger() });
    expect(await projector.deferRawIndexes()).toBe(true);
    const during = await rawIndexes();
    expect(during.length).toBeLessThan(before.length);
    expect(during.some((definition) => definition.includes('(entity_id)') && definition.includes('pim_raw_value'))).toBe(false);
    // A product whose raw rows arrived: its document is built from them (read by entity_id).
    await pool.query(
      `INSERT INTO pim_raw_entity (entity_id, sku, type_id, attribute_set_id, has_options, required_options, created_at, updated_at)
       VALUES (5, 'sku-5', 'simple', 4, 0, 0, '2024-01-01 00:00:00', '2024-01-01 00:00:00')`,
    );
    await markDirty(5);
    expect(await projector.flushSeeded()).toBe(1);
    expect(await rawIndexes()).toEqual(before);
    const { rows } = await pool.query<{ sku: string }>('SELECT sku FROM pim_document WHERE entity_id = 5');
    expect(rows).toEqual([{ sku: 'sku-5' }]);
  });

  it('when the PIM dies while receiving the snapshot, then the next start creates the raw indexes again', async () => {
    const before = await rawIndexes();
    const projector = new CatalogProjector({ pool, store: new PostgresProductStore(pool), logger: silentLogger() });
    await projector.deferRawIndexes();
    await pool.query('TRUNCATE pim_product_state, pim_raw_entity, pim_raw_value, pim_sync_state');
    const restarted = new CatalogProjector({ pool, store: new PostgresProductStore(pool), logger: silentLogger() });
    await restarted.restoreDeferredIndexes();
    expect(await rawIndexes()).toEqual(before);
  });

  it('when raw rows exist already (a restart mid-seeding), then their indexes are left alone', async () => {
    const before = await rawIndexes();
    await pool.query(`INSERT INTO pim_raw_value (backend, value_id, entity_id, attribute_id, store_id, value) VALUES ('varchar', 1, 1, 73, 0, 'x')`);
    const projector = new CatalogProjector({ pool, store: new PostgresProductStore(pool), logger: silentLogger() });
    expect(await projector.deferRawIndexes()).toBe(false);
    expect(await rawIndexes()).toEqual(before);
  });
});
