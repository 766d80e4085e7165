import type pg from 'pg';
import type { ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import type { JsonValue } from '../../../cdc/events/value-mapping.ts';
import { PimErrors } from '../errors.ts';

/**
 * The raw EAV rows the PIM keeps (schema/001-raw-catalog.sql), and how one change of a captured
 * legacy table lands in them. Values are converted once, here, from the bridge's JSON mapping
 * (cdc/events/value-mapping.ts: numerics as decimal strings, timestamps as epoch microseconds)
 * to the legacy's own text forms ('45.000000', '2024-05-01 00:00:00').
 */
type Converter = 'int' | 'text' | 'timestamp';

interface RawTableSpec {
  target: string;
  /** Source column → converter; target columns have the same names. */
  columns: Record<string, Converter>;
  /** Source primary key columns. */
  key: string[];
  /** Extra constant columns (the backend of a value table), part of the target key. */
  constants?: Record<string, string>;
  /** Which products a change of this row affects. */
  affects: (row: Record<string, JsonValue>) => Affected;
}

export type Affected = { products: number[] } | { allProducts: true } | { category: number } | { none: true };

const valueTable = (backend: string): RawTableSpec => ({
  target: 'pim_raw_value',
  columns: { value_id: 'int', entity_id: 'int', attribute_id: 'int', store_id: 'int', value: backend === 'datetime' ? 'timestamp' : 'text' },
  key: ['value_id'],
  constants: { backend },
  affects: (row) => ({ products: [Number(row.entity_id)] }),
});

export const RAW_TABLES: Readonly<Record<string, RawTableSpec>> = {
  'public.catalog_product_entity': {
    target: 'pim_raw_entity',
    columns: {
      entity_id: 'int',
      sku: 'text',
      type_id: 'text',
      attribute_set_id: 'int',
      has_options: 'int',
      required_options: 'int',
      created_at: 'timestamp',
      updated_at: 'timestamp',
    },
    key: ['entity_id'],
    affects: (row) => ({ products: [Number(row.entity_id)] }),
  },
  'public.catalog_product_entity_varchar': valueTable('varchar'),
  'public.catalog_product_entity_int': valueTable('int'),
  'public.catalog_product_entity_decimal': valueTable('decimal'),
  'public.catalog_product_entity_text': valueTable('text'),
  'public.catalog_product_entity_datetime': valueTable('datetime'),
  'public.catalog_product_entity_tier_price': {
    target: 'pim_raw_tier_price',
    columns: {
      value_id: 'int',
      entity_id: 'int',
      all_groups: 'int',
      customer_group_id: 'int',
      qty: 'text',
      value: 'text',
      percentage_value: 'text',
      website_id: 'int',
    },
    key: ['value_id'],
    affects: (row) => ({ products: [Number(row.entity_id)] }),
  },
  'public.catalog_category_product': {
    target: 'pim_raw_category_product',
    columns: { entity_id: 'int', category_id: 'int', product_id: 'int', position: 'int' },
    key: ['entity_id'],
    affects: (row) => ({ products: [Number(row.product_id)] }),
  },
  'public.cataloginventory_stock_item': {
    target: 'pim_raw_stock_item',
    columns: {
      item_id: 'int',
      product_id: 'int',
      stock_id: 'int',
      qty: 'text',
      min_qty: 'text',
      min_sale_qty: 'text',
      max_sale_qty: 'text',
      is_in_stock: 'int',
      manage_stock: 'int',
      low_stock_date: 'timestamp',
    },
    key: ['item_id'],
    affects: (row) => ({ products: [Number(row.product_id)] }),
  },
  'public.eav_attribute': {
    target: 'pim_raw_attribute',
    columns: { attribute_id: 'int', entity_type_id: 'int', attribute_code: 'text', backend_type: 'text', frontend_input: 'text', frontend_label: 'text' },
    key: ['attribute_id'],
    affects: () => ({ allProducts: true }),
  },
  'public.eav_attribute_option': {
    target: 'pim_raw_option',
    columns: { option_id: 'int', attribute_id: 'int', sort_order: 'int' },
    key: ['option_id'],
    affects: () => ({ allProducts: true }),
  },
  'public.eav_attribute_option_value': {
    target: 'pim_raw_option_value',
    columns: { value_id: 'int', option_id: 'int', store_id: 'int', value: 'text' },
    key: ['value_id'],
    affects: () => ({ allProducts: true }),
  },
  'public.catalog_category_entity': {
    target: 'pim_raw_category',
    columns: { entity_id: 'int', parent_id: 'int', name: 'text', path: 'text', is_active: 'int' },
    key: ['entity_id'],
    affects: (row) => ({ category: Number(row.entity_id) }),
  },
};

/** The legacy tables the PIM follows: the queue `pim.cdc` is bound to exactly these. */
export const FOLLOWED_TABLES: readonly string[] = Object.keys(RAW_TABLES).map((name) => name.replace(/^public\./, ''));

/** True when a change of this table can change attribute codes or option labels. */
export function changesDictionary(table: string): boolean {
  return table === 'public.eav_attribute' || table === 'public.eav_attribute_option' || table === 'public.eav_attribute_option_value';
}

/**
 * Writes one change into the raw tables (inside the caller's transaction) and says which
 * products it affects. Columns listed in `unchanged_columns` keep their stored value.
 */
export async function applyRawChange(client: pg.ClientBase, change: ReceivedChange): Promise<Affected[]> {
  const spec = RAW_TABLES[change.table];
  if (!spec) return [];
  const { event } = change;
  if (event.op === 't') {
    const where = spec.constants ? ` WHERE backend = ${quote(spec.constants.backend!)}` : '';
    await client.query(`DELETE FROM ${spec.target}${where}`);
    return [{ allProducts: true }];
  }
  const affected: Affected[] = [];
  if (event.before) affected.push(spec.affects(event.before));
  if (event.op === 'd') {
    const row = event.before ?? change.key;
    if (!row) throw PimErrors.rowInvalid(change.table, 'a delete without a key or before image');
    await deleteRow(client, spec, row, change.table);
    return affected;
  }
  const after = event.after;
  if (!after) throw PimErrors.rowInvalid(change.table, `op ${event.op} without an after image`);
  // A key change (rare: an UPDATE of a primary key) moves the row.
  if (event.before && spec.key.some((column) => event.before![column] !== after[column])) {
    await deleteRow(client, spec, event.before, change.table);
  }
  const unchanged = new Set(event.unchanged_columns ?? []);
  const columns = Object.keys(spec.columns).filter((column) => !unchanged.has(column) && column in after);
  const values = columns.map((column) => convert(after[column] ?? null, spec.columns[column]!, change.table, column));
  const constantColumns = Object.keys(spec.constants ?? {});
  const allColumns = [...constantColumns, ...columns];
  const params = [...constantColumns.map((column) => spec.constants![column]!), ...values];
  const conflict = [...constantColumns, ...spec.key].join(', ');
  const updates = columns.filter((column) => !spec.key.includes(column)).map((column) => `${column} = EXCLUDED.${column}`);
  await client.query(
    `INSERT INTO ${spec.target} (${allColumns.join(', ')}) VALUES (${allColumns.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT (${conflict}) DO ${updates.length > 0 ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
    params,
  );
  affected.push(spec.affects(after));
  return affected;
}

/**
 * `applyRawChange` for many changes at once (inside the caller's transaction): whole-row inserts,
 * updates and snapshot reads that keep their key — what a snapshot batch is made of — go in one
 * `INSERT … SELECT unnest(…)` per raw table; anything else one by one, after them. The caller's
 * claim kept only the newest change of each row, so the order between rows does not matter.
 */
export async function applyRawChanges(client: pg.ClientBase, changes: readonly ReceivedChange[]): Promise<Array<{ change: ReceivedChange; affected: Affected }>> {
  const affected: Array<{ change: ReceivedChange; affected: Affected }> = [];
  const groups = new Map<string, { spec: RawTableSpec; table: string; rows: Array<Record<string, JsonValue>> }>();
  const oneByOne: ReceivedChange[] = [];
  for (const change of changes) {
    const spec = RAW_TABLES[change.table];
    if (!spec) continue;
    const { event } = change;
    const after = event.after;
    const plain =
      (event.op === 'r' || event.op === 'c' || event.op === 'u') &&
      after !== null &&
      !(event.unchanged_columns?.length) &&
      Object.keys(spec.columns).every((column) => column in after) &&
      (!event.before || spec.key.every((column) => event.before![column] === undefined || event.before![column] === after[column]));
    if (!plain) {
      oneByOne.push(change);
      continue;
    }
    let group = groups.get(change.table);
    if (!group) groups.set(change.table, (group = { spec, table: change.table, rows: [] }));
    group.rows.push(after);
    if (event.before) affected.push({ change, affected: spec.affects(event.before) });
    affected.push({ change, affected: spec.affects(after) });
  }
  for (const { spec, table, rows } of groups.values()) {
    const columns = Object.keys(spec.columns);
    const constantColumns = Object.keys(spec.constants ?? {});
    const arrays = columns.map((column) => rows.map((row) => convert(row[column] ?? null, spec.columns[column]!, table, column)));
    const casts = columns.map((column, i) => `$${i + 1}::${spec.columns[column] === 'int' ? 'int' : 'text'}[]`);
    const constants = constantColumns.map((column) => quote(spec.constants![column]!));
    const conflict = [...constantColumns, ...spec.key].join(', ');
    const updates = columns.filter((column) => !spec.key.includes(column)).map((column) => `${column} = EXCLUDED.${column}`);
    await client.query(
      `INSERT INTO ${spec.target} (${[...constantColumns, ...columns].join(', ')})
       SELECT ${[...constants, ...columns.map((column) => `u.${column}`)].join(', ')} FROM unnest(${casts.join(', ')}) AS u(${columns.join(', ')})
       ON CONFLICT (${conflict}) DO ${updates.length > 0 ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
      arrays,
    );
  }
  for (const change of oneByOne) for (const one of await applyRawChange(client, change)) affected.push({ change, affected: one });
  return affected;
}

async function deleteRow(client: pg.ClientBase, spec: RawTableSpec, row: Record<string, JsonValue>, table: string): Promise<void> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of Object.entries(spec.constants ?? {})) {
    params.push(value);
    conditions.push(`${column} = $${params.length}`);
  }
  for (const column of spec.key) {
    params.push(convert(row[column] ?? null, spec.columns[column]!, table, column));
    conditions.push(`${column} = $${params.length}`);
  }
  await client.query(`DELETE FROM ${spec.target} WHERE ${conditions.join(' AND ')}`, params);
}

function convert(value: JsonValue, converter: Converter, table: string, column: string): number | string | null {
  if (value === null) return null;
  switch (converter) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw PimErrors.rowInvalid(table, `${column} is not an integer: ${JSON.stringify(value)}`);
      return value;
    case 'text':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw PimErrors.rowInvalid(table, `${column} is not a scalar: ${JSON.stringify(value)}`);
    case 'timestamp':
      if (typeof value !== 'number') throw PimErrors.rowInvalid(table, `${column} is not epoch microseconds: ${JSON.stringify(value)}`);
      return formatMicros(value);
  }
}

/** Epoch microseconds (Debezium MicroTimestamp) → 'YYYY-MM-DD hh:mm:ss', truncated as the legacy's to_char. */
export function formatMicros(micros: number): string {
  const millis = Math.floor(micros / 1000);
  return new Date(millis).toISOString().slice(0, 19).replace('T', ' ');
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
