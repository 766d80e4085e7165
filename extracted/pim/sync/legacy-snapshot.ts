import pg from 'pg';
import type { Logger } from '../../../platform/logger.ts';

/**
 * Fills the PIM's raw rows straight from the legacy tables, in one REPEATABLE READ snapshot,
 * and marks every product dirty at the snapshot's LSN; `CatalogProjector.flushDirty()` then
 * builds the documents. For the benchmark (100,000 products through the bridge one message at a
 * time would measure the bridge, not the PIM) and for seeding a PIM whose stream has expired.
 *
 * It does not record per-row CDC positions: follow the queue afterwards only from changes newer
 * than the snapshot (the LSN it answers), or replay the stream, whose older changes the documents'
 * versions then refuse.
 */
const COPIES: ReadonlyArray<{ target: string; columns: string; select: string; key: string }> = [
  {
    target: 'pim_raw_attribute',
    columns: 'attribute_id, entity_type_id, attribute_code, backend_type, frontend_input, frontend_label',
    select: 'SELECT attribute_id::int, entity_type_id::int, attribute_code, backend_type, frontend_input, frontend_label FROM eav_attribute',
    key: 'attribute_id',
  },
  { target: 'pim_raw_option', columns: 'option_id, attribute_id, sort_order', select: 'SELECT option_id, attribute_id::int, sort_order::int FROM eav_attribute_option', key: 'option_id' },
  {
    target: 'pim_raw_option_value',
    columns: 'value_id, option_id, store_id, value',
    select: 'SELECT value_id, option_id, store_id::int, value FROM eav_attribute_option_value',
    key: 'value_id',
  },
  {
    target: 'pim_raw_category',
    columns: 'entity_id, parent_id, name, path, is_active',
    select: 'SELECT entity_id, parent_id, name, path, is_active::int FROM catalog_category_entity',
    key: 'entity_id',
  },
  {
    target: 'pim_raw_entity',
    columns: 'entity_id, sku, type_id, attribute_set_id, has_options, required_options, created_at, updated_at',
    select: `SELECT entity_id, sku, type_id, attribute_set_id::int, has_options::int, required_options::int,
                    to_char(created_at, 'YYYY-MM-DD HH24:MI:SS'), to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') FROM catalog_product_entity`,
    key: 'entity_id',
  },
  ...(['varchar', 'int', 'decimal', 'text', 'datetime'] as const).map((backend) => ({
    target: 'pim_raw_value',
    columns: 'backend, value_id, entity_id, attribute_id, store_id, value',
    select: `SELECT '${backend}', value_id, entity_id, attribute_id::int, store_id::int, ${
      backend === 'datetime' ? "to_char(value, 'YYYY-MM-DD HH24:MI:SS')" : 'value::text'
    } FROM catalog_product_entity_${backend}`,
    key: 'value_id',
  })),
  {
    target: 'pim_raw_tier_price',
    columns: 'value_id, entity_id, all_groups, customer_group_id, qty, value, percentage_value, website_id',
    select: `SELECT value_id, entity_id, all_groups::int, customer_group_id::int, qty::text, value::text, percentage_value::text, website_id::int
               FROM catalog_product_entity_tier_price`,
    key: 'value_id',
  },
  {
    target: 'pim_raw_category_product',
    columns: 'entity_id, category_id, product_id, position',
    select: 'SELECT entity_id, category_id, product_id, position FROM catalog_category_product',
    key: 'entity_id',
  },
  {
    target: 'pim_raw_stock_item',
    columns: 'item_id, product_id, stock_id, qty, min_qty, min_sale_qty, max_sale_qty, is_in_stock, manage_stock, low_stock_date',
    select: `SELECT item_id, product_id, stock_id::int, qty::text, min_qty::text, min_sale_qty::text, max_sale_qty::text, is_in_stock::int,
                    manage_stock::int, to_char(low_stock_date, 'YYYY-MM-DD HH24:MI:SS') FROM cataloginventory_stock_item`,
    key: 'item_id',
  },
];

const CHUNK = 20_000;

export async function copyLegacySnapshot(options: { legacyUrl: string; pimPool: pg.Pool; logger: Logger }): Promise<{ lsn: string; rows: number }> {
  const log = options.logger.child({ component: 'pim-legacy-snapshot' });
  const legacy = new pg.Client({ connectionString: options.legacyUrl });
  await legacy.connect();
  let rows = 0;
  try {
    await legacy.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows: lsnRows } = await legacy.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const lsn = lsnRows[0]!.lsn;
    for (const copy of COPIES) {
      const columnCount = copy.columns.split(',').length;
      await legacy.query(`DECLARE snapshot_cursor NO SCROLL CURSOR FOR ${copy.select} ORDER BY ${copy.key}`);
      for (;;) {
        const chunk = await legacy.query({ text: `FETCH ${CHUNK} FROM snapshot_cursor`, rowMode: 'array' });
        if (chunk.rows.length === 0) break;
        // Column-wise arrays into one INSERT … SELECT FROM unnest: one round trip per chunk.
        const columns = Array.from({ length: columnCount }, (_, i) => chunk.rows.map((row: unknown[]) => row[i] ?? null));
        await options.pimPool.query(
          `INSERT INTO ${copy.target} (${copy.columns})
           SELECT ${castList(copy.columns)} FROM unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(', ')})
             AS t(${columns.map((_, i) => `f${i}`).join(', ')})
           ON CONFLICT DO NOTHING`,
          columns.map((values) => values.map((value) => (value === null ? null : String(value)))),
        );
        rows += chunk.rows.length;
      }
      await legacy.query('CLOSE snapshot_cursor');
      log.info({ table: copy.target, rows }, 'copied');
    }
    await legacy.query('COMMIT');
    await options.pimPool.query(
      `INSERT INTO pim_product_state (entity_id, lsn, dirty) SELECT entity_id, $1::pg_lsn, true FROM pim_raw_entity
       ON CONFLICT (entity_id) DO UPDATE SET lsn = greatest(pim_product_state.lsn, EXCLUDED.lsn), dirty = true`,
      [lsn],
    );
    return { lsn, rows };
  } finally {
    await legacy.end();
  }
}

/** unnest gives text columns; cast each to its raw-table type (integers stay integers). */
function castList(columns: string): string {
  const textColumns = new Set(['sku', 'type_id', 'created_at', 'updated_at', 'value', 'qty', 'min_qty', 'min_sale_qty', 'max_sale_qty', 'percentage_value', 'low_stock_date', 'attribute_code', 'backend_type', 'frontend_input', 'frontend_label', 'name', 'path', 'backend']);
  return columns
    .split(',')
    .map((column) => column.trim())
    .map((column, i) => (textColumns.has(column) ? `t.f${i}` : `t.f${i}::int`))
    .join(', ');
}
