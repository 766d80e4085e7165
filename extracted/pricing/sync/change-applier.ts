import type pg from 'pg';
import { z } from 'zod';
import type { ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import type { Row } from '../../../cdc/events/change-event.ts';
import { isDecimalText } from '../domain/decimal-amount.ts';
import { PricingErrors } from '../errors.ts';
import { FOLLOWED_TABLES, PRICE_ATTRIBUTE_CODES, type FollowedTable } from './followed-tables.ts';
import { reprojectStorePrices, reprojectAll, type StoreKey } from '../store/store-price-projection.ts';

/** Which cached answers a change made stale: some skus, or everything. */
export interface Invalidation {
  skus: Set<string>;
  all: boolean;
}

export function emptyInvalidation(): Invalidation {
  return { skus: new Set(), all: false };
}

/**
 * What applied changes left to do before their transaction commits: store_price rows to rebuild
 * and products whose cached answers are stale. Collected over one change, or over a whole batch
 * so that a product touched by many rows is rebuilt once.
 */
export class PendingProjection {
  readonly storeKeys: StoreKey[] = [];
  readonly entityIds = new Set<number>();
  readonly invalidation = emptyInvalidation();

  touch(keys: readonly StoreKey[]): void {
    for (const key of keys) {
      this.storeKeys.push(key);
      this.entityIds.add(key.entity_id);
    }
  }

  /** Rebuilds the read model and resolves the stale skus; call once, before COMMIT. */
  async finish(client: pg.ClientBase): Promise<Invalidation> {
    await reprojectStorePrices(client, this.storeKeys);
    await skusOf(client, [...this.entityIds], this.invalidation);
    return this.invalidation;
  }
}

const id = z.number().int();
const decimalText = z.string().refine(isDecimalText, 'a decimal string');

const productRow = z.object({ entity_id: id, sku: z.string() });
const decimalRow = z.object({ value_id: id, entity_id: id, attribute_id: id, store_id: id, value: decimalText.nullable() });
// timestamp columns arrive as microseconds since the epoch (cdc/events/value-mapping.ts); a value
// PostgreSQL prints as text the mapping cannot read ('infinity') arrives as that text.
const datetimeRow = z.object({ value_id: id, entity_id: id, attribute_id: id, store_id: id, value: z.union([z.number().int(), z.string()]).nullable() });
const tierRow = z.object({
  value_id: id,
  entity_id: id,
  all_groups: id,
  customer_group_id: id,
  qty: decimalText,
  value: decimalText,
  percentage_value: decimalText.nullable(),
  website_id: id,
});
const attributeRow = z.object({ attribute_id: id, entity_type_id: id, attribute_code: z.string(), backend_type: z.string().nullable() });
const groupRow = z.object({ customer_group_id: id, customer_group_code: z.string() });

/**
 * Applies one change to the pricing store, inside the caller's transaction (the consumer kit's
 * AppliedPositions.applyOnce has already claimed it as newer than what the row holds), and says
 * which cached answers it made stale.
 */
export async function applyChange(client: pg.ClientBase, change: ReceivedChange): Promise<Invalidation> {
  const pending = new PendingProjection();
  await writeChange(client, change, pending);
  return pending.finish(client);
}

/** Writes one change's rows and notes what is left to rebuild in `pending` (see PendingProjection). */
export async function writeChange(client: pg.ClientBase, change: ReceivedChange, pending: PendingProjection): Promise<void> {
  const table = followedTable(change);
  const invalidation = pending.invalidation;
  if (change.event.op === 't') {
    await truncate(client, table);
    invalidation.all = true;
    return;
  }
  switch (table) {
    case 'catalog_product_entity':
      await applyProduct(client, change, invalidation);
      break;
    case 'catalog_product_entity_decimal':
    case 'catalog_product_entity_datetime':
      await applyAttributeValue(client, change, table, pending);
      break;
    case 'catalog_product_entity_tier_price':
      await applyTierPrice(client, change, pending);
      break;
    case 'eav_attribute':
      await applyAttribute(client, change, pending);
      break;
    case 'customer_group':
      await applyCustomerGroup(client, change);
      break;
  }
}

/**
 * Writes many fresh changes (already claimed) in few statements: inserts and updates of products,
 * price values and tier prices — what a snapshot batch is made of — go in one `INSERT … SELECT
 * unnest(…)` per table; anything else (deletes, truncates, key moves, partial rows, the
 * dictionary and groups) one by one through `writeChange`, after them. The claim kept only the
 * newest change of each row, so the order between rows does not matter.
 */
export async function writeChanges(client: pg.ClientBase, changes: readonly ReceivedChange[], pending: PendingProjection): Promise<void> {
  const products: Array<z.infer<typeof productRow>> = [];
  const decimals: Array<z.infer<typeof decimalRow>> = [];
  const datetimes: Array<z.infer<typeof datetimeRow>> = [];
  const tiers: Array<z.infer<typeof tierRow>> = [];
  const oneByOne: ReceivedChange[] = [];
  for (const change of changes) {
    const table = followedTable(change);
    if (!isPlainUpsert(change, table)) {
      oneByOne.push(change);
      continue;
    }
    switch (table) {
      case 'catalog_product_entity':
        products.push(afterImage(change, productRow));
        break;
      case 'catalog_product_entity_decimal':
        decimals.push(afterImage(change, decimalRow));
        break;
      case 'catalog_product_entity_datetime':
        datetimes.push(afterImage(change, datetimeRow));
        break;
      case 'catalog_product_entity_tier_price':
        tiers.push(afterImage(change, tierRow));
        break;
      default:
        oneByOne.push(change);
    }
  }
  if (products.length > 0) {
    const ids = products.map((row) => row.entity_id);
    await skusOf(client, ids, pending.invalidation);
    await client.query(
      `INSERT INTO product (entity_id, sku) SELECT * FROM unnest($1::int[], $2::text[])
       ON CONFLICT (entity_id) DO UPDATE SET sku = EXCLUDED.sku WHERE product.sku IS DISTINCT FROM EXCLUDED.sku`,
      [ids, products.map((row) => row.sku)],
    );
    for (const row of products) pending.invalidation.skus.add(row.sku);
  }
  if (decimals.length > 0) await upsertValues(client, 'attribute_value_decimal', 'numeric', decimals, pending);
  if (datetimes.length > 0) {
    const rows = datetimes.map((row) => ({ ...row, value: row.value === null ? null : typeof row.value === 'number' ? timestampText(row.value) : row.value }));
    await upsertValues(client, 'attribute_value_datetime', 'timestamp', rows, pending);
  }
  if (tiers.length > 0) {
    const column = <K extends keyof (typeof tiers)[number]>(key: K) => tiers.map((row) => row[key]);
    const { rows } = await client.query<{ entity_id: number }>(
      `WITH old AS (SELECT entity_id FROM tier_price WHERE value_id = ANY($1::int[])),
       written AS (
         INSERT INTO tier_price AS t (value_id, entity_id, all_groups, customer_group_id, qty, value, percentage_value, website_id)
         SELECT * FROM unnest($1::int[], $2::int[], $3::smallint[], $4::int[], $5::numeric[], $6::numeric[], $7::numeric[], $8::int[])
         ON CONFLICT (value_id) DO UPDATE SET entity_id = EXCLUDED.entity_id, all_groups = EXCLUDED.all_groups,
           customer_group_id = EXCLUDED.customer_group_id, qty = EXCLUDED.qty, value = EXCLUDED.value,
           percentage_value = EXCLUDED.percentage_value, website_id = EXCLUDED.website_id
         RETURNING t.entity_id)
       SELECT entity_id FROM written UNION SELECT entity_id FROM old`,
      [
        column('value_id'),
        column('entity_id'),
        column('all_groups'),
        column('customer_group_id'),
        column('qty'),
        column('value'),
        column('percentage_value'),
        column('website_id'),
      ],
    );
    for (const row of rows) pending.entityIds.add(row.entity_id);
  }
  for (const change of oneByOne) await writeChange(client, change, pending);
}

/** An insert, update or snapshot read that carries the whole row and keeps its key. */
function isPlainUpsert(change: ReceivedChange, table: FollowedTable): boolean {
  const { event } = change;
  if (event.op !== 'r' && event.op !== 'c' && event.op !== 'u') return false;
  if (!event.after || (event.unchanged_columns?.length ?? 0) > 0) return false;
  if (!event.before) return true;
  const keyColumn = table === 'catalog_product_entity' ? 'entity_id' : 'value_id';
  return event.before[keyColumn] === undefined || event.before[keyColumn] === event.after[keyColumn];
}

async function upsertValues(
  client: pg.ClientBase,
  target: 'attribute_value_decimal' | 'attribute_value_datetime',
  type: 'numeric' | 'timestamp',
  rows: Array<{ value_id: number; entity_id: number; attribute_id: number; store_id: number; value: string | null }>,
  pending: PendingProjection,
): Promise<void> {
  const ids = rows.map((row) => row.value_id);
  // The old position too: an update may move a value to another product or store view.
  const { rows: touched } = await client.query<StoreKey>(
    `WITH old AS (SELECT entity_id, store_id FROM ${target} WHERE value_id = ANY($1::int[])),
     written AS (
       INSERT INTO ${target} AS v (value_id, entity_id, attribute_id, store_id, value)
       SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::${type}[])
       ON CONFLICT (value_id) DO UPDATE SET entity_id = EXCLUDED.entity_id, attribute_id = EXCLUDED.attribute_id,
         store_id = EXCLUDED.store_id, value = EXCLUDED.value
       RETURNING v.entity_id, v.store_id)
     SELECT entity_id, store_id FROM written UNION SELECT entity_id, store_id FROM old`,
    [ids, rows.map((row) => row.entity_id), rows.map((row) => row.attribute_id), rows.map((row) => row.store_id), rows.map((row) => row.value)],
  );
  pending.touch(touched);
}

function followedTable(change: ReceivedChange): FollowedTable {
  const name = change.event.source.table;
  if (change.event.source.schema !== 'public' || !(FOLLOWED_TABLES as readonly string[]).includes(name)) {
    throw PricingErrors.tableNotFollowed(change.table);
  }
  return name as FollowedTable;
}

/** The row after the change (insert, update, snapshot read); columns an update left out come from `before`. */
function afterImage<T>(change: ReceivedChange, schema: z.ZodType<T>): T {
  const after = change.event.after;
  if (!after) throw PricingErrors.rowInvalid(change.table, `op ${change.event.op} without an after image`);
  const row: Row = change.event.unchanged_columns?.length ? { ...(change.event.before ?? {}), ...after } : after;
  return parseRow(change, schema, row);
}

/** The row before an update or delete, when the source sent one (REPLICA IDENTITY FULL does). */
function beforeImage<T>(change: ReceivedChange, schema: z.ZodType<T>): T | null {
  const before = change.event.before;
  if (!before) return null;
  const parsed = schema.safeParse(before);
  return parsed.success ? parsed.data : null;
}

function parseRow<T>(change: ReceivedChange, schema: z.ZodType<T>, row: Row): T {
  const parsed = schema.safeParse(row);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw PricingErrors.rowInvalid(change.table, `${issue?.path.join('.') || 'row'}: ${issue?.message ?? 'invalid'}`, parsed.error);
}

/** The primary key value of a deleted row, from the key header or the before image. */
function deletedKey(change: ReceivedChange, column: string): number {
  const value = change.key?.[column] ?? change.event.before?.[column];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw PricingErrors.rowInvalid(change.table, `no ${column} to delete by`);
  return value;
}

async function skusOf(client: pg.ClientBase, entityIds: number[], into: Invalidation): Promise<void> {
  if (entityIds.length === 0) return;
  const { rows } = await client.query<{ sku: string }>('SELECT sku FROM product WHERE entity_id = ANY($1::int[])', [entityIds]);
  for (const row of rows) into.skus.add(row.sku);
}

async function applyProduct(client: pg.ClientBase, change: ReceivedChange, invalidation: Invalidation): Promise<void> {
  if (change.event.op === 'd') {
    const entityId = deletedKey(change, 'entity_id');
    const { rows } = await client.query<{ sku: string }>('DELETE FROM product WHERE entity_id = $1 RETURNING sku', [entityId]);
    for (const row of rows) invalidation.skus.add(row.sku);
    return;
  }
  const row = afterImage(change, productRow);
  const before = beforeImage(change, productRow);
  if (before && before.entity_id !== row.entity_id) await client.query('DELETE FROM product WHERE entity_id = $1', [before.entity_id]);
  await skusOf(client, [row.entity_id, ...(before ? [before.entity_id] : [])], invalidation);
  await client.query(
    'INSERT INTO product (entity_id, sku) VALUES ($1, $2) ON CONFLICT (entity_id) DO UPDATE SET sku = EXCLUDED.sku WHERE product.sku IS DISTINCT FROM EXCLUDED.sku',
    [row.entity_id, row.sku],
  );
  // A new sku may have been answered "not found" from the cache.
  invalidation.skus.add(row.sku);
}

async function applyAttributeValue(
  client: pg.ClientBase,
  change: ReceivedChange,
  table: 'catalog_product_entity_decimal' | 'catalog_product_entity_datetime',
  pending: PendingProjection,
): Promise<void> {
  const target = table === 'catalog_product_entity_decimal' ? 'attribute_value_decimal' : 'attribute_value_datetime';
  const touched: StoreKey[] = [];
  const removeByValueId = async (valueId: number) => {
    const { rows } = await client.query<StoreKey>(`DELETE FROM ${target} WHERE value_id = $1 RETURNING entity_id, store_id`, [valueId]);
    touched.push(...rows);
  };
  if (change.event.op === 'd') {
    await removeByValueId(deletedKey(change, 'value_id'));
  } else {
    const row = table === 'catalog_product_entity_decimal' ? afterImage(change, decimalRow) : afterImage(change, datetimeRow);
    const before = beforeImage(change, z.object({ value_id: id }));
    if (before && before.value_id !== row.value_id) await removeByValueId(before.value_id);
    const value = row.value === null ? null : typeof row.value === 'number' ? timestampText(row.value) : row.value;
    // RETURNING the old position too: an update may move a value to another product or store view.
    const { rows } = await client.query<StoreKey & { old_entity_id: number | null; old_store_id: number | null }>(
      `WITH old AS (SELECT entity_id, store_id FROM ${target} WHERE value_id = $1)
       INSERT INTO ${target} AS v (value_id, entity_id, attribute_id, store_id, value) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (value_id) DO UPDATE SET entity_id = EXCLUDED.entity_id, attribute_id = EXCLUDED.attribute_id,
         store_id = EXCLUDED.store_id, value = EXCLUDED.value
       RETURNING v.entity_id, v.store_id, (SELECT entity_id FROM old) AS old_entity_id, (SELECT store_id FROM old) AS old_store_id`,
      [row.value_id, row.entity_id, row.attribute_id, row.store_id, value],
    );
    for (const written of rows) {
      touched.push({ entity_id: written.entity_id, store_id: written.store_id });
      if (written.old_entity_id !== null && written.old_store_id !== null) touched.push({ entity_id: written.old_entity_id, store_id: written.old_store_id });
    }
  }
  pending.touch(touched);
}

async function applyTierPrice(client: pg.ClientBase, change: ReceivedChange, pending: PendingProjection): Promise<void> {
  const entityIds: number[] = [];
  if (change.event.op === 'd') {
    const { rows } = await client.query<{ entity_id: number }>('DELETE FROM tier_price WHERE value_id = $1 RETURNING entity_id', [deletedKey(change, 'value_id')]);
    entityIds.push(...rows.map((row) => row.entity_id));
  } else {
    const row = afterImage(change, tierRow);
    const before = beforeImage(change, z.object({ value_id: id }));
    if (before && before.value_id !== row.value_id) {
      const { rows } = await client.query<{ entity_id: number }>('DELETE FROM tier_price WHERE value_id = $1 RETURNING entity_id', [before.value_id]);
      entityIds.push(...rows.map((old) => old.entity_id));
    }
    const { rows } = await client.query<{ old_entity_id: number | null }>(
      `WITH old AS (SELECT entity_id FROM tier_price WHERE value_id = $1)
       INSERT INTO tier_price AS t (value_id, entity_id, all_groups, customer_group_id, qty, value, percentage_value, website_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (value_id) DO UPDATE SET entity_id = EXCLUDED.entity_id, all_groups = EXCLUDED.all_groups,
         customer_group_id = EXCLUDED.customer_group_id, qty = EXCLUDED.qty, value = EXCLUDED.value,
         percentage_value = EXCLUDED.percentage_value, website_id = EXCLUDED.website_id
       RETURNING (SELECT entity_id FROM old) AS old_entity_id`,
      [row.value_id, row.entity_id, row.all_groups, row.customer_group_id, row.qty, row.value, row.percentage_value, row.website_id],
    );
    entityIds.push(row.entity_id);
    for (const written of rows) if (written.old_entity_id !== null) entityIds.push(written.old_entity_id);
  }
  for (const entityId of entityIds) pending.entityIds.add(entityId);
}

async function applyAttribute(client: pg.ClientBase, change: ReceivedChange, pending: PendingProjection): Promise<void> {
  const attributeId = change.event.op === 'd' ? deletedKey(change, 'attribute_id') : afterImage(change, attributeRow).attribute_id;
  const ids = new Set([attributeId]);
  const before = beforeImage(change, z.object({ attribute_id: id }));
  if (before) ids.add(before.attribute_id);
  const { rows: old } = await client.query<{ attribute_code: string }>('SELECT attribute_code FROM price_attribute WHERE attribute_id = ANY($1::int[])', [[...ids]]);
  const codes = old.map((row) => row.attribute_code);
  if (change.event.op === 'd') {
    await client.query('DELETE FROM price_attribute WHERE attribute_id = $1', [attributeId]);
  } else {
    const row = afterImage(change, attributeRow);
    if (before && before.attribute_id !== row.attribute_id) await client.query('DELETE FROM price_attribute WHERE attribute_id = $1', [before.attribute_id]);
    await client.query(
      `INSERT INTO price_attribute (attribute_id, entity_type_id, attribute_code, backend_type) VALUES ($1, $2, $3, $4)
       ON CONFLICT (attribute_id) DO UPDATE SET entity_type_id = EXCLUDED.entity_type_id, attribute_code = EXCLUDED.attribute_code,
         backend_type = EXCLUDED.backend_type`,
      [row.attribute_id, row.entity_type_id, row.attribute_code, row.backend_type],
    );
    codes.push(row.attribute_code);
  }
  // Only a price attribute (before or after) changes what the read model shows; the values that
  // arrived before their dictionary row are resolved now.
  if (!codes.some((code) => (PRICE_ATTRIBUTE_CODES as readonly string[]).includes(code))) return;
  const { rows: keys } = await client.query<StoreKey>(
    `SELECT entity_id, store_id FROM attribute_value_decimal WHERE attribute_id = ANY($1::int[])
     UNION SELECT entity_id, store_id FROM attribute_value_datetime WHERE attribute_id = ANY($1::int[])`,
    [[...ids]],
  );
  pending.touch(keys);
  pending.invalidation.all = true;
}

async function applyCustomerGroup(client: pg.ClientBase, change: ReceivedChange): Promise<void> {
  if (change.event.op === 'd') {
    await client.query('DELETE FROM customer_group WHERE customer_group_id = $1', [deletedKey(change, 'customer_group_id')]);
    return;
  }
  const row = afterImage(change, groupRow);
  const before = beforeImage(change, z.object({ customer_group_id: id }));
  if (before && before.customer_group_id !== row.customer_group_id) {
    await client.query('DELETE FROM customer_group WHERE customer_group_id = $1', [before.customer_group_id]);
  }
  await client.query(
    `INSERT INTO customer_group (customer_group_id, customer_group_code) VALUES ($1, $2)
     ON CONFLICT (customer_group_id) DO UPDATE SET customer_group_code = EXCLUDED.customer_group_code`,
    [row.customer_group_id, row.customer_group_code],
  );
}

async function truncate(client: pg.ClientBase, table: FollowedTable): Promise<void> {
  switch (table) {
    case 'catalog_product_entity':
      // The legacy's TRUNCATE ... CASCADE arrives as one truncate per table; this one is the products.
      await client.query('DELETE FROM product');
      return;
    case 'catalog_product_entity_decimal':
      await client.query('DELETE FROM attribute_value_decimal');
      await reprojectAll(client);
      return;
    case 'catalog_product_entity_datetime':
      await client.query('DELETE FROM attribute_value_datetime');
      await reprojectAll(client);
      return;
    case 'catalog_product_entity_tier_price':
      await client.query('DELETE FROM tier_price');
      return;
    case 'eav_attribute':
      await client.query('DELETE FROM price_attribute');
      await reprojectAll(client);
      return;
    case 'customer_group':
      await client.query('DELETE FROM customer_group');
      return;
  }
}

/** Microseconds since the epoch (a `timestamp` read as UTC) → `YYYY-MM-DD hh:mm:ss.ffffff`. */
export function timestampText(micros: number): string {
  const total = BigInt(micros);
  let seconds = total / 1_000_000n;
  let fraction = total % 1_000_000n;
  if (fraction < 0n) {
    fraction += 1_000_000n;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString();
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  if (!match) throw new RangeError(`timestamp outside years 0000–9999: ${micros}`);
  return `${match[1]}-${match[2]}-${match[3]} ${match[4]}.${fraction.toString().padStart(6, '0')}`;
}
