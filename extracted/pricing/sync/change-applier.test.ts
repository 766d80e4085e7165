import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { AppliedPositions } from '../../../cdc/consumer/applied-positions.ts';
import type { ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import type { Operation, Row } from '../../../cdc/events/change-event.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import { migrate } from '../../../platform/migrations.ts';
import { silentLogger } from '../../../platform/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { PRICING_MIGRATIONS } from '../pricing-service.ts';
import { PriceStore } from '../store/price-store.ts';
import { PendingProjection, applyChange, emptyInvalidation, timestampText, writeChanges, type Invalidation } from './change-applier.ts';

// The applier on a real pricing store, fed hand-made changes in the orders the stream can deliver them.

let db: TestDatabase;
let pool: pg.Pool;
let store: PriceStore;
const positions = new AppliedPositions();
let lsn = 0x1000;

beforeAll(async () => {
  db = await createTestDatabase('pricing_applier');
  await migrate(db.url, PRICING_MIGRATIONS, silentLogger());
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  store = new PriceStore(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const KEYS: Record<string, string> = {
  catalog_product_entity: 'entity_id',
  catalog_product_entity_decimal: 'value_id',
  catalog_product_entity_datetime: 'value_id',
  catalog_product_entity_tier_price: 'value_id',
  eav_attribute: 'attribute_id',
  customer_group: 'customer_group_id',
};

function change(table: string, op: Operation, row: Row | null, options: { before?: Row | null; at?: number } = {}): ReceivedChange {
  const at = options.at ?? (lsn += 0x100);
  const image = row ?? options.before ?? null;
  const keyColumn = KEYS[table]!;
  return {
    event: {
      before: op === 'c' ? null : (options.before ?? (op === 'd' ? row : null)),
      after: op === 'd' || op === 't' ? null : row,
      source: { version: 'test', connector: 'postgresql', name: 'legacy', ts_ms: Date.now(), snapshot: 'false', db: 'legacy', sequence: '[]', schema: 'public', table, txId: 1, lsn: at, xmin: null },
      op,
      ts_ms: Date.now(),
      transaction: null,
    },
    table: `public.${table}`,
    key: op === 't' || !image ? null : { [keyColumn]: image[keyColumn]! },
    messageId: `legacy:${Lsn.fromBigInt(BigInt(at)).toString()}:0`,
    position: { commitLsn: Lsn.fromBigInt(BigInt(at)), index: 0 },
    attempt: 1,
  };
}

async function apply(received: ReceivedChange): Promise<{ applied: boolean; invalidation: Invalidation }> {
  let invalidation = emptyInvalidation();
  const applied = await positions.applyOnce(pool, received, async (client) => {
    invalidation = await applyChange(client, received);
  });
  return { applied, invalidation };
}

const decimal = (valueId: number, entityId: number, attributeId: number, storeId: number, value: string | null): Row => ({
  value_id: valueId, entity_id: entityId, attribute_id: attributeId, store_id: storeId, value,
});
const micros = (iso: string) => Date.parse(iso) * 1000;

describe('applying CDC changes to the pricing store', () => {
  it('when value rows arrive before their product and their attribute dictionary row, then the price appears once both are there', async () => {
    await apply(change('catalog_product_entity_decimal', 'c', decimal(1, 10, 177, 0, '19.990000')));
    expect(await store.factsOf('EARLY')).toBeNull();
    const product = await apply(change('catalog_product_entity', 'c', { entity_id: 10, sku: 'EARLY' }));
    expect(product.invalidation.skus).toEqual(new Set(['EARLY']));
    // The attribute is unknown so far: no price, which the legacy shows as 0.
    expect((await store.factsOf('EARLY'))?.facts.price).toBe('0');
    const attribute = await apply(change('eav_attribute', 'c', { attribute_id: 177, entity_type_id: 4, attribute_code: 'price', backend_type: 'decimal' }));
    expect(attribute.invalidation.all).toBe(true);
    expect((await store.factsOf('EARLY'))?.facts.price).toBe('19.990000');
  });

  it('resolves attributes by code from the dictionary, whatever their ids, and ignores other entity types', async () => {
    await apply(change('eav_attribute', 'c', { attribute_id: 300, entity_type_id: 4, attribute_code: 'special_price', backend_type: 'decimal' }));
    await apply(change('eav_attribute', 'c', { attribute_id: 301, entity_type_id: 4, attribute_code: 'special_from_date', backend_type: 'datetime' }));
    await apply(change('eav_attribute', 'c', { attribute_id: 302, entity_type_id: 3, attribute_code: 'special_to_date', backend_type: 'datetime' }));
    await apply(change('catalog_product_entity_decimal', 'c', decimal(2, 10, 300, 0, '9.500000')));
    await apply(change('catalog_product_entity_datetime', 'c', { value_id: 1, entity_id: 10, attribute_id: 301, store_id: 0, value: micros('2026-03-01T13:14:15.5Z') }));
    await apply(change('catalog_product_entity_datetime', 'c', { value_id: 2, entity_id: 10, attribute_id: 302, store_id: 0, value: micros('2026-04-01T00:00:00Z') }));
    expect((await store.factsOf('EARLY'))?.facts).toMatchObject({ specialPrice: '9.500000', specialFrom: '2026-03-01 13:14:15', specialTo: null });
  });

  it('when a store-view value exists, even NULL, then it hides the admin value, as the legacy reads it', async () => {
    const stored = await apply(change('catalog_product_entity_decimal', 'c', decimal(3, 10, 177, 1, null)));
    expect(stored.invalidation.skus).toEqual(new Set(['EARLY']));
    expect((await store.factsOf('EARLY'))?.facts.price).toBe('0');
    expect(await store.basePrices(['EARLY'])).toEqual([{ sku: 'EARLY', storeId: 0, price: '19.990000' }]);
    await apply(change('catalog_product_entity_decimal', 'd', decimal(3, 10, 177, 1, null)));
    expect((await store.factsOf('EARLY'))?.facts.price).toBe('19.990000');
  });

  it('when an older change or a duplicate comes after a newer one, then it is skipped and the row keeps the newer value', async () => {
    const newer = change('catalog_product_entity_decimal', 'u', decimal(1, 10, 177, 0, '25.000000'));
    const older = change('catalog_product_entity_decimal', 'u', decimal(1, 10, 177, 0, '21.000000'), { at: newer.position.commitLsn.toNumber() - 1 });
    expect((await apply(newer)).applied).toBe(true);
    expect((await apply(older)).applied).toBe(false);
    expect((await apply(newer)).applied).toBe(false);
    expect((await store.factsOf('EARLY'))?.facts.price).toBe('25.000000');
  });

  it('when the dictionary renames an attribute, then the values are re-resolved', async () => {
    await apply(change('eav_attribute', 'u', { attribute_id: 177, entity_type_id: 4, attribute_code: 'cost', backend_type: 'decimal' }, { before: { attribute_id: 177, entity_type_id: 4, attribute_code: 'price', backend_type: 'decimal' } }));
    expect((await store.factsOf('EARLY'))?.facts.price).toBe('0');
    await apply(change('eav_attribute', 'u', { attribute_id: 177, entity_type_id: 4, attribute_code: 'price', backend_type: 'decimal' }));
    expect((await store.factsOf('EARLY'))?.facts.price).toBe('25.000000');
  });

  it('keeps tier prices of all groups and of one group, and forgets them all on a truncate', async () => {
    await apply(change('customer_group', 'c', { customer_group_id: 2, customer_group_code: 'Wholesale' }));
    const tier = (valueId: number, allGroups: number, group: number, qty: string, value: string, pct: string | null): Row => ({
      value_id: valueId, entity_id: 10, all_groups: allGroups, customer_group_id: group, qty, value, percentage_value: pct, website_id: 0,
    });
    const added = await apply(change('catalog_product_entity_tier_price', 'c', tier(1, 0, 2, '5.0000', '0.000000', '10.00')));
    expect(added.invalidation.skus).toEqual(new Set(['EARLY']));
    await apply(change('catalog_product_entity_tier_price', 'c', tier(2, 1, 0, '10.0000', '20.000000', null)));
    expect((await store.factsOf('EARLY'))?.facts.tiers).toEqual([
      { allGroups: false, customerGroupId: 2, qty: '5.0000', value: '0.000000', percentageValue: '10.00' },
      { allGroups: true, customerGroupId: 0, qty: '10.0000', value: '20.000000', percentageValue: null },
    ]);
    // The tier answer names groups by code and leaves out a tier whose group is unknown, as the legacy's join does.
    expect((await store.tierPrices(['EARLY'])).map((row) => row.customerGroupCode)).toEqual(['Wholesale']);
    const truncated = await apply(change('catalog_product_entity_tier_price', 't', null));
    expect(truncated.invalidation.all).toBe(true);
    expect((await store.factsOf('EARLY'))?.facts.tiers).toEqual([]);
  });

  it('when a product is deleted, then its sku is unknown and its cached answers are dropped', async () => {
    const deleted = await apply(change('catalog_product_entity', 'd', null, { before: { entity_id: 10, sku: 'EARLY' } }));
    expect(deleted.invalidation.skus).toEqual(new Set(['EARLY']));
    expect(await store.factsOf('EARLY')).toBeNull();
  });

  it('refuses a row of the wrong shape with PRICING_ROW_INVALID and writes nothing', async () => {
    await expect(apply(change('catalog_product_entity_decimal', 'c', decimal(9, 11, 177, 0, 'NaN')))).rejects.toMatchObject({ code: 'PRICING_ROW_INVALID' });
    await expect(apply(change('catalog_product_entity_tier_price', 'c', { value_id: 5 }))).rejects.toMatchObject({ code: 'PRICING_ROW_INVALID' });
    const { rows } = await pool.query('SELECT 1 FROM attribute_value_decimal WHERE value_id = 9');
    expect(rows).toHaveLength(0);
  });

  it('when a snapshot batch is written in bulk, then the store holds what one change at a time would give, and a stale row in it is skipped', async () => {
    const snapshot = (table: string, row: Row) => {
      const received = change(table, 'c', row, { at: 0x900000 });
      return { ...received, event: { ...received.event, op: 'r' as const, source: { ...received.event.source, snapshot: 'incremental' as const } } };
    };
    // A live change to value 71, newer than the snapshot's watermark, already applied.
    await apply(change('catalog_product_entity_decimal', 'u', decimal(71, 70, 177, 0, '99.000000'), { at: 0xA00000 }));
    const batch = [
      snapshot('catalog_product_entity', { entity_id: 70, sku: 'BULK' }),
      snapshot('catalog_product_entity_decimal', decimal(71, 70, 177, 0, '10.000000')), // older than the live change: skipped
      snapshot('catalog_product_entity_decimal', decimal(72, 70, 300, 0, '8.000000')),
      snapshot('catalog_product_entity_decimal', decimal(73, 70, 177, 1, '12.000000')),
      snapshot('catalog_product_entity_datetime', { value_id: 74, entity_id: 70, attribute_id: 301, store_id: 0, value: micros('2026-03-01T00:00:00Z') }),
      snapshot('catalog_product_entity_tier_price', { value_id: 75, entity_id: 70, all_groups: 1, customer_group_id: 0, qty: '3.0000', value: '7.000000', percentage_value: null, website_id: 0 }),
    ].map((received, index) => ({ ...received, position: { ...received.position, index } }));
    const client = await pool.connect();
    let invalidation: Invalidation;
    try {
      await client.query('BEGIN');
      const fresh = await positions.claimMany(client, batch);
      expect(fresh).toEqual([true, false, true, true, true, true]);
      const pending = new PendingProjection();
      await writeChanges(client, batch.filter((_, i) => fresh[i]), pending);
      invalidation = await pending.finish(client);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(invalidation.skus).toEqual(new Set(['BULK']));
    // factsOf reads store view 1, whose own price row hides the admin one.
    expect((await store.factsOf('BULK'))?.facts).toMatchObject({
      price: '12.000000',
      specialPrice: '8.000000',
      specialFrom: '2026-03-01 00:00:00',
      tiers: [{ allGroups: true, customerGroupId: 0, qty: '3.0000', value: '7.000000', percentageValue: null }],
    });
    expect(await store.basePrices(['BULK'])).toEqual([
      { sku: 'BULK', storeId: 0, price: '99.000000' },
      { sku: 'BULK', storeId: 1, price: '12.000000' },
    ]);
  });

  it('formats a timestamp from microseconds as the legacy prints it, fraction kept for to_char to drop', () => {
    expect(timestampText(micros('2026-03-01T13:14:15.123Z') + 456)).toBe('2026-03-01 13:14:15.123456');
    expect(timestampText(-1)).toBe('1969-12-31 23:59:59.999999');
  });
});
