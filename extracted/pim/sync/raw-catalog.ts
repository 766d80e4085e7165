import type pg from 'pg';
import { rowKeyOf } from '../../../cdc/consumer/applied-positions.ts';
import { comparePositions, type ChangePosition, type ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
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

/**
 * A raw row is replaced (or deleted) only by a change newer than the one that wrote it
 * (schema/011): NULL is a row written before positions were kept, whose position is in cdc_applied.
 */
const OLDER_THAN_EXCLUDED = 'raw.cdc_lsn IS NULL OR (raw.cdc_lsn, raw.cdc_position) < (EXCLUDED.cdc_lsn, EXCLUDED.cdc_position)';
const OLDER_THAN_PARAMS = (first: number): string => `(cdc_lsn IS NULL OR (cdc_lsn, cdc_position) < ($${first}::pg_lsn, $${first + 1}::int))`;

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
  const position = [change.position.commitLsn.toString(), change.position.index];
  if (event.op === 't') {
    // Rows written after the truncate (a newer position) stay.
    const where = spec.constants ? `backend = ${quote(spec.constants.backend!)} AND ` : '';
    await client.query(`DELETE FROM ${spec.target} WHERE ${where}${OLDER_THAN_PARAMS(1)}`, position);
    return [{ allProducts: true }];
  }
  const affected: Affected[] = [];
  if (event.before) affected.push(spec.affects(event.before));
  if (event.op === 'd') {
    const row = event.before ?? change.key;
    if (!row) throw PimErrors.rowInvalid(change.table, 'a delete without a key or before image');
    await deleteRow(client, spec, row, change.table, change.position);
    return affected;
  }
  const after = event.after;
  if (!after) throw PimErrors.rowInvalid(change.table, `op ${event.op} without an after image`);
  // A key change (rare: an UPDATE of a primary key) moves the row.
  if (event.before && spec.key.some((column) => event.before![column] !== after[column])) {
    await deleteRow(client, spec, event.before, change.table, change.position);
  }
  const unchanged = new Set(event.unchanged_columns ?? []);
  const columns = Object.keys(spec.columns).filter((column) => !unchanged.has(column) && column in after);
  const values = columns.map((column) => convert(after[column] ?? null, spec.columns[column]!, change.table, column));
  const constantColumns = Object.keys(spec.constants ?? {});
  const allColumns = [...constantColumns, ...columns, 'cdc_lsn', 'cdc_position'];
  const params = [...constantColumns.map((column) => spec.constants![column]!), ...values, ...position];
  const conflict = [...constantColumns, ...spec.key].join(', ');
  const updates = [...columns.filter((column) => !spec.key.includes(column)), 'cdc_lsn', 'cdc_position'].map((column) => `${column} = EXCLUDED.${column}`);
  await client.query(
    `INSERT INTO ${spec.target} AS raw (${allColumns.join(', ')})
     VALUES (${allColumns.map((column, i) => `$${i + 1}${column === 'cdc_lsn' ? '::pg_lsn' : ''}`).join(', ')})
     ON CONFLICT (${conflict}) DO UPDATE SET ${updates.join(', ')} WHERE ${OLDER_THAN_EXCLUDED}`,
    params,
  );
  affected.push(spec.affects(after));
  return affected;
}

/**
 * Whether a change is a whole-row write that keeps its key — what a snapshot batch is made of —
 * which `applyRawChanges` writes with one `INSERT … SELECT unnest(…)` per raw table.
 */
export function isWholeRowWrite(change: ReceivedChange): boolean {
  const spec = RAW_TABLES[change.table];
  if (!spec) return false;
  const { event } = change;
  const after = event.after;
  return (
    (event.op === 'r' || event.op === 'c' || event.op === 'u') &&
    after !== null &&
    !(event.unchanged_columns?.length) &&
    Object.keys(spec.columns).every((column) => column in after) &&
    (!event.before || spec.key.every((column) => event.before![column] === undefined || event.before![column] === after[column]))
  );
}

/**
 * `applyRawChange` for many changes at once (inside the caller's transaction): whole-row writes
 * go in one `INSERT … SELECT unnest(…)` per raw table; anything else one by one, after them. The
 * caller's claim kept only the newest change of each row, so the order between rows does not
 * matter. Returns the products each change affects, and how many rows were written (a row
 * holding a newer position is left as it is).
 *
 * `unclaimed`: the changes were NOT claimed in cdc_applied (a seeding's snapshot rows,
 * `applySnapshotRows`): each row is then also refused when cdc_applied holds a newer change of it
 * (a delete, whose row is gone) — the rest of the guard is the raw row's own position.
 */
export async function applyRawChanges(
  client: pg.ClientBase,
  changes: readonly ReceivedChange[],
  options: { unclaimed?: { appliedTable: string; keyedTables: ReadonlySet<string> } } = {},
): Promise<{ affected: Array<{ change: ReceivedChange; affected: Affected }>; written: number }> {
  const affected: Array<{ change: ReceivedChange; affected: Affected }> = [];
  const groups = new Map<string, { spec: RawTableSpec; table: string; changes: ReceivedChange[] }>();
  const oneByOne: ReceivedChange[] = [];
  let written = 0;
  for (const change of changes) {
    const spec = RAW_TABLES[change.table];
    if (!spec) continue;
    if (!isWholeRowWrite(change)) {
      if (options.unclaimed) throw new TypeError('applyRawChanges: only whole-row writes can be applied unclaimed');
      oneByOne.push(change);
      continue;
    }
    let group = groups.get(change.table);
    if (!group) groups.set(change.table, (group = { spec, table: change.table, changes: [] }));
    group.changes.push(change);
    if (change.event.before) affected.push({ change, affected: spec.affects(change.event.before) });
    affected.push({ change, affected: spec.affects(change.event.after!) });
  }
  for (const { spec, table, changes: group } of groups.values()) {
    const columns = Object.keys(spec.columns);
    const constantColumns = Object.keys(spec.constants ?? {});
    // Each column goes as one array literal in a text parameter, not a JS array: node-postgres
    // would quote and escape every element with two regular expressions (a seeding sends 1.8 M
    // rows through here; ~2 s of the PIM's CPU on its critical path, where it alternates with its
    // PostgreSQL backend).
    const params: string[] = columns.map((column) => arrayLiteral(group, (change) => convert(change.event.after![column] ?? null, spec.columns[column]!, table, column)));
    const casts = columns.map((column, i) => `$${i + 1}::${spec.columns[column] === 'int' ? 'int' : 'text'}[]`);
    // A batch's rows share one Lsn object (the chunk's high watermark): formatted once.
    let lastLsn: Lsn | undefined;
    let lastText = '';
    params.push(
      arrayLiteral(group, (change) => (change.position.commitLsn === lastLsn ? lastText : (lastText = (lastLsn = change.position.commitLsn).toString()))),
      arrayLiteral(group, (change) => change.position.index),
    );
    casts.push(`$${columns.length + 1}::pg_lsn[]`, `$${columns.length + 2}::int[]`);
    const names = [...columns, 'cdc_lsn', 'cdc_position'];
    let unclaimed = '';
    // Only a table cdc_applied holds row entries of needs the probe (during a seeding, the tables live changes touched).
    if (options.unclaimed?.keyedTables.has(table)) {
      params.push(arrayLiteral(group, rowKeyOf), table);
      casts.push(`$${columns.length + 3}::text[]`);
      names.push('row_key');
      unclaimed = `WHERE NOT EXISTS (SELECT 1 FROM ${options.unclaimed.appliedTable} a
                     WHERE a.source_table = $${columns.length + 4} AND a.row_key = u.row_key AND (a.commit_lsn, a.position) >= (u.cdc_lsn, u.cdc_position))`;
    }
    const constants = constantColumns.map((column) => quote(spec.constants![column]!));
    const conflict = [...constantColumns, ...spec.key].join(', ');
    const updates = [...columns.filter((column) => !spec.key.includes(column)), 'cdc_lsn', 'cdc_position'].map((column) => `${column} = EXCLUDED.${column}`);
    const result = await client.query(
      `INSERT INTO ${spec.target} AS raw (${[...constantColumns, ...columns, 'cdc_lsn', 'cdc_position'].join(', ')})
       SELECT ${[...constants, ...columns.map((column) => `u.${column}`), 'u.cdc_lsn', 'u.cdc_position'].join(', ')}
         FROM unnest(${casts.join(', ')}) AS u(${names.join(', ')}) ${unclaimed}
       ON CONFLICT (${conflict}) DO UPDATE SET ${updates.join(', ')} WHERE ${OLDER_THAN_EXCLUDED}`,
      params,
    );
    written += result.rowCount ?? 0;
  }
  for (const change of oneByOne) {
    for (const one of await applyRawChange(client, change)) affected.push({ change, affected: one });
    written += 1;
  }
  return { affected, written };
}

/**
 * A seeding's snapshot rows (`op: "r"`, whole rows), applied WITHOUT a claim each in cdc_applied
 * (inside the caller's transaction): a row is written unless the raw row holds a newer position
 * (a live change applied before it), cdc_applied holds a newer change of it (a delete) or a newer
 * truncate of its table. Its own position stays in the raw row, where every later write and
 * delete checks it — the same guarantee as the claim (an older change never replaces a newer
 * one; a duplicate is a no-op), without a 1.8 M-entry table written row by row. Only the newest
 * of several changes of one row in `changes` is applied (a batch delivered twice).
 */
export async function applySnapshotRows(
  client: pg.ClientBase,
  changes: readonly ReceivedChange[],
  appliedTable: string,
): Promise<{ affected: Array<{ change: ReceivedChange; affected: Affected }>; written: number }> {
  // A batch delivered twice: its rows once (the message id names the row's change). Two different
  // changes of one row in one call (two snapshots' rows) make the INSERT fail, and the consumer
  // kit then hands each message over alone.
  const seen = new Set<string>();
  const unique = changes.filter((change) => !seen.has(change.messageId) && seen.add(change.messageId));
  const tables = [...new Set(unique.map((change) => change.table))];
  const { rows: marks } = await client.query<{ source_table: string; commit_lsn: string | null; position: number | null; keyed: boolean }>(
    `SELECT t.name AS source_table, m.commit_lsn::text AS commit_lsn, m.position,
            EXISTS (SELECT 1 FROM ${appliedTable} a WHERE a.source_table = t.name AND a.row_key > '') AS keyed
       FROM unnest($1::text[]) AS t(name) LEFT JOIN ${appliedTable} m ON m.source_table = t.name AND m.row_key = ''`,
    [tables],
  );
  const truncatedAt = new Map<string, ChangePosition>();
  for (const mark of marks) if (mark.commit_lsn !== null) truncatedAt.set(mark.source_table, { commitLsn: Lsn.parse(mark.commit_lsn), index: mark.position ?? 0 });
  const keyedTables = new Set(marks.filter((mark) => mark.keyed).map((mark) => mark.source_table));
  const fresh = unique.filter((change) => {
    const mark = truncatedAt.get(change.table);
    return mark === undefined || comparePositions(change.position, mark) > 0;
  });
  return applyRawChanges(client, fresh, { unclaimed: { appliedTable, keyedTables } });
}

async function deleteRow(client: pg.ClientBase, spec: RawTableSpec, row: Record<string, JsonValue>, table: string, position: ChangePosition): Promise<void> {
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
  // A row written by a newer change (a snapshot row read after this delete's transaction) stays.
  params.push(position.commitLsn.toString(), position.index);
  conditions.push(OLDER_THAN_PARAMS(params.length - 1));
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

/**
 * PostgreSQL's text form of a one-dimensional array of `rows.map(value)`: NULL bare, numbers bare,
 * strings in double quotes, a backslash before each double quote and backslash (array_in's rules).
 */
function arrayLiteral<T>(rows: readonly T[], value: (row: T) => number | string | null): string {
  let text = '{';
  for (let i = 0; i < rows.length; i += 1) {
    if (i > 0) text += ',';
    const element = value(rows[i]!);
    if (element === null) text += 'NULL';
    else if (typeof element === 'number') text += element;
    else text += NEEDS_ESCAPE.test(element) ? `"${element.replace(ESCAPED, '\\$&')}"` : `"${element}"`;
  }
  return `${text}}`;
}
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
