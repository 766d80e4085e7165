import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { silentLogger } from '../../../platform/logger.ts';
import { migrate } from '../../../platform/migrations.ts';
import type { ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import type { Operation, Row } from '../../../cdc/events/change-event.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import { PIM_SCHEMA } from '../pim-service.ts';
import { PostgresProductStore } from '../store/postgres/postgres-product-store.ts';
import { CatalogProjector } from './catalog-projector.ts';

// While an empty PIM seeds, its snapshot rows are not claimed one by one in cdc_applied: their
// position is kept in the raw row (schema/011). These pin that the guarantees of the claim hold
// all the same: an older change never replaces a newer one, in either order, a delete is never
// undone by an older snapshot row, and a duplicate is a no-op.

let database: TestDatabase;
let pool: pg.Pool;
let projector: CatalogProjector;

const TABLE = 'public.catalog_product_entity_decimal';

function change(op: Operation, lsn: string, index: number, valueId: number, value: string | null): ReceivedChange {
  const row: Row | null = value === null ? null : { value_id: valueId, attribute_id: 77, store_id: 0, entity_id: 1, value };
  const key = { value_id: valueId };
  return {
    event: {
      before: op === 'd' ? key : null,
      after: op === 'd' ? null : row,
      source: {
        version: 'test',
        connector: 'postgresql',
        name: 'legacy',
        ts_ms: Date.now(),
        snapshot: op === 'r' ? 'incremental' : 'false',
        db: 'legacy',
        sequence: '["0","0"]',
        schema: 'public',
        table: 'catalog_product_entity_decimal',
        txId: null,
        lsn: null,
        xmin: null,
      },
      op,
      ts_ms: Date.now(),
      transaction: null,
    },
    table: TABLE,
    key,
    messageId: `legacy:${lsn}:${index}`,
    position: { commitLsn: Lsn.parse(lsn), index },
    attempt: 1,
  };
}

function entityRow(lsn: string, index: number, entityId: number): ReceivedChange {
  const base = change('r', lsn, index, 0, '0');
  const after = { entity_id: entityId, sku: `sku-${entityId}`, type_id: 'simple', attribute_set_id: 4, has_options: 0, required_options: 0, created_at: 1.7e15, updated_at: 1.7e15 };
  return {
    ...base,
    event: { ...base.event, after, source: { ...base.event.source, table: 'catalog_product_entity' } },
    table: 'public.catalog_product_entity',
    key: { entity_id: entityId },
    messageId: `legacy:${lsn}:e${index}`,
  };
}

const truncate = (lsn: string): ReceivedChange => ({ ...change('t', lsn, 0, 0, null), key: null, event: { ...change('t', lsn, 0, 0, null).event, before: null } });

async function price(valueId: number): Promise<string | null | undefined> {
  const { rows } = await pool.query<{ value: string | null }>(`SELECT value FROM pim_raw_value WHERE backend = 'decimal' AND value_id = $1`, [valueId]);
  return rows[0]?.value;
}

beforeAll(async () => {
  database = await createTestDatabase('pim_unclaimed');
  await migrate(database.url, PIM_SCHEMA, silentLogger());
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
});

afterAll(async () => {
  await pool.end();
  await database.drop();
});

beforeEach(async () => {
  await pool.query('TRUNCATE pim_product_state, pim_raw_value, pim_raw_entity, pim_document, pim_document_category, pim_document_tombstone, cdc_applied');
  projector = new CatalogProjector({ pool, store: new PostgresProductStore(pool), logger: silentLogger() });
});

describe('snapshot rows applied while seeding, without a claim each', () => {
  it('when a seeding snapshot row is applied, then it lands in the raw rows with its position and leaves no entry in cdc_applied', async () => {
    const result = await projector.applyDeferred([change('r', '0/200', 0, 1, '10.000000'), change('r', '0/200', 1, 2, '20.000000')]);
    expect(result).toEqual({ applied: 2, skipped: 0 });
    expect(await price(1)).toBe('10.000000');
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM cdc_applied');
    expect(rows[0]!.n).toBe(0);
    const { rows: positions } = await pool.query<{ lsn: string; position: number }>(
      `SELECT cdc_lsn::text AS lsn, cdc_position AS position FROM pim_raw_value WHERE value_id = 2`,
    );
    expect(positions[0]).toEqual({ lsn: '0/200', position: 1 });
  });

  it('when the same snapshot batch arrives twice, then the second is a no-op', async () => {
    const batch = [change('r', '0/200', 0, 1, '10.000000')];
    await projector.applyDeferred(batch);
    expect(await projector.applyDeferred(batch)).toEqual({ applied: 0, skipped: 1 });
    expect(await price(1)).toBe('10.000000');
  });

  it('when a newer live update was applied first, then an older snapshot row of the same row does not replace it', async () => {
    await projector.applyDeferred([change('u', '0/300', 0, 1, '11.000000')]);
    expect(await projector.applyDeferred([change('r', '0/200', 0, 1, '10.000000')])).toEqual({ applied: 0, skipped: 1 });
    expect(await price(1)).toBe('11.000000');
  });

  it('when a newer live delete was applied first, then an older snapshot row (redelivered) does not bring the row back', async () => {
    await projector.applyDeferred([change('r', '0/200', 0, 1, '10.000000')]);
    await projector.applyDeferred([change('d', '0/300', 0, 1, null)]);
    expect(await price(1)).toBeUndefined();
    await projector.applyDeferred([change('r', '0/200', 0, 1, '10.000000')]);
    expect(await price(1)).toBeUndefined();
  });

  it('when an older live change is retried after the snapshot row, then neither its update nor its delete replaces the snapshot row', async () => {
    await projector.applyDeferred([change('r', '0/200', 0, 1, '10.000000')]);
    await projector.applyDeferred([change('u', '0/100', 0, 1, '9.000000')]);
    expect(await price(1)).toBe('10.000000');
    await projector.applyDeferred([change('d', '0/150', 0, 1, null)]);
    expect(await price(1)).toBe('10.000000');
    // Also once the store is seeded (the ordinary path, with claims).
    await projector.apply([change('u', '0/180', 0, 1, '9.500000')]);
    expect(await price(1)).toBe('10.000000');
    await projector.apply([change('u', '0/400', 0, 1, '12.000000')]);
    expect(await price(1)).toBe('12.000000');
  });

  it('when a live delete and an older snapshot row of one row come in one batch, then the row stays deleted, whatever their order', async () => {
    await projector.applyDeferred([change('r', '0/200', 0, 1, '10.000000'), change('d', '0/300', 0, 1, null)]);
    expect(await price(1)).toBeUndefined();
    await projector.applyDeferred([change('d', '0/500', 0, 2, null), change('r', '0/400', 0, 2, '20.000000')]);
    expect(await price(2)).toBeUndefined();
  });

  it('when the snapshot completes, then every product whose entity row arrived is built, versioned no older than the changes folded into it', async () => {
    // Snapshot rows mark nothing dirty as they land; a live change does.
    await projector.applyDeferred([entityRow('0/200', 0, 1), entityRow('0/200', 1, 2), change('r', '0/200', 2, 1, '10.000000')]);
    await projector.applyDeferred([change('u', '0/300', 0, 1, '11.000000')]);
    expect(await projector.flushSeeded()).toBe(2);
    const { rows } = await pool.query<{ entity_id: number; lsn: string; dirty: boolean }>('SELECT entity_id, lsn::text AS lsn, dirty FROM pim_product_state ORDER BY entity_id');
    expect(rows).toEqual([
      { entity_id: 1, lsn: '0/300', dirty: false },
      { entity_id: 2, lsn: '0/300', dirty: false },
    ]);
    const { rows: documents } = await pool.query<{ sku: string; lsn: string }>('SELECT sku, lsn::text AS lsn FROM pim_document ORDER BY entity_id');
    expect(documents).toEqual([
      { sku: 'sku-1', lsn: String(Lsn.parse('0/300').toBigInt()) },
      { sku: 'sku-2', lsn: String(Lsn.parse('0/300').toBigInt()) },
    ]);
  });

  it('when the table was truncated after the snapshot read, then the snapshot rows redelivered later are not applied', async () => {
    await projector.applyDeferred([change('r', '0/200', 0, 1, '10.000000')]);
    await projector.applyDeferred([truncate('0/300')]);
    expect(await price(1)).toBeUndefined();
    await projector.applyDeferred([change('r', '0/200', 0, 1, '10.000000')]);
    expect(await price(1)).toBeUndefined();
    // A row written after the truncate stays when an older truncate is retried.
    await projector.applyDeferred([change('r', '0/400', 0, 3, '30.000000')]);
    await projector.applyDeferred([truncate('0/350')]);
    expect(await price(3)).toBe('30.000000');
  });
});

describe('raw row values written in bulk arrive unchanged', () => {
  // The rows of a batch go to PostgreSQL as one array literal per column (raw-catalog.ts,
  // arrayLiteral): every character array_in treats specially must come through as it was.
  const awkward = ['say "hi"', 'back\\slash', '\\"', '{a,b}', 'NULL', 'null', '', '  padded  ', 'comma, here', 'caf\u00e9 \u{1F600}', 'line\nbreak\ttab', "it's"];

  it('when snapshot rows and claimed live changes hold quotes, backslashes, braces, commas, the word NULL, blanks and non-ASCII text, then each raw value is stored as sent', async () => {
    // A live delete first: the table then has row entries in cdc_applied, so the snapshot rows
    // also go through the probe of those entries (their row keys are sent as an array too).
    await projector.applyDeferred([change('d', '0/100', 0, 999, null)]);
    const snapshot = awkward.map((value, i) => change('r', '0/200', i, i + 1, value));
    const nullValue = change('r', '0/200', awkward.length, awkward.length + 1, 'replaced');
    const withNull = { ...nullValue, event: { ...nullValue.event, after: { ...nullValue.event.after!, value: null } } };
    expect(await projector.applyDeferred([...snapshot, withNull])).toEqual({ applied: awkward.length + 1, skipped: 0 });
    for (const [i, value] of awkward.entries()) expect(await price(i + 1)).toBe(value);
    expect(await price(awkward.length + 1)).toBeNull();
    // The ordinary path (claimed live changes) writes its arrays the same way.
    await projector.apply(awkward.map((value, i) => change('u', '0/300', i, i + 1, `${value}!`)));
    for (const [i, value] of awkward.entries()) expect(await price(i + 1)).toBe(`${value}!`);
  });
});

describe('a large batch of snapshot rows, applied as two halves at once', () => {
  const rows = (from: number, count: number, lsn: string, value: (id: number) => string) =>
    Array.from({ length: count }, (_, i) => change('r', lsn, from + i, from + i + 1, value(from + i + 1)));

  it('when a batch of 1,600 snapshot rows is applied, then every row lands once, with its own position', async () => {
    const batch = rows(0, 1600, '0/200', (id) => `${id}.000000`);
    expect(await projector.applyDeferred(batch)).toEqual({ applied: 1600, skipped: 0 });
    const { rows: stored } = await pool.query<{ n: number; positions: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT cdc_position)::int AS positions FROM pim_raw_value WHERE backend = 'decimal' AND cdc_lsn = '0/200'`,
    );
    expect(stored[0]).toEqual({ n: 1600, positions: 1600 });
    expect(await price(1)).toBe('1.000000');
    expect(await price(1600)).toBe('1600.000000');
  });

  it('when the same rows come twice in one batch, one copy in each half, then they are written once and the batch counts the copy as skipped', async () => {
    const once = rows(0, 800, '0/200', (id) => `${id}.000000`);
    // Redelivered with the same message ids: the second half holds the same keys as the first,
    // written by the other transaction at the same time.
    expect(await projector.applyDeferred([...once, ...once])).toEqual({ applied: 800, skipped: 800 });
    expect(await price(800)).toBe('800.000000');
  });

  it('when a newer live change of a row was applied first, then neither half replaces it', async () => {
    await projector.applyDeferred([change('u', '0/300', 0, 5, 'live'), change('u', '0/300', 1, 1500, 'live')]);
    expect(await projector.applyDeferred(rows(0, 1600, '0/200', () => 'snapshot'))).toEqual({ applied: 1598, skipped: 2 });
    expect(await price(5)).toBe('live');
    expect(await price(1500)).toBe('live');
    expect(await price(6)).toBe('snapshot');
  });

  it('when live changes come in the same batch, then they are applied first: an older snapshot row of a row deleted among them stays deleted, a newer one is written', async () => {
    const batch = [
      ...rows(0, 700, '0/200', (id) => `${id}.000000`),
      change('d', '0/300', 0, 10, null),
      change('u', '0/300', 1, 11, 'live'),
      ...rows(700, 700, '0/200', (id) => `${id}.000000`),
      change('d', '0/100', 2, 1200, null),
    ];
    await projector.applyDeferred(batch);
    expect(await price(10)).toBeUndefined();
    expect(await price(11)).toBe('live');
    expect(await price(1200)).toBe('1200.000000');
    expect(await price(1400)).toBe('1400.000000');
    // The live update marked its product dirty; snapshot rows mark nothing.
    const { rows: dirty } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pim_product_state WHERE dirty');
    expect(dirty[0]!.n).toBe(1);
  });
});
