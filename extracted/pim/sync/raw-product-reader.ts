import type pg from 'pg';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import { createCatalogDictionary, type AttributeInfo, type BackendType, type CatalogDictionary } from '../domain/catalog-dictionary.ts';
import type { RawProduct } from '../domain/document-builder.ts';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Loads the dictionary (product attributes and admin option labels) from the raw rows. */
export async function loadDictionary(db: Queryable): Promise<CatalogDictionary> {
  const attributes = await db.query<{ attribute_id: number; attribute_code: string; backend_type: BackendType; frontend_input: string | null }>(
    'SELECT attribute_id, attribute_code, backend_type, frontend_input FROM pim_raw_attribute WHERE entity_type_id = 4 ORDER BY attribute_id',
  );
  const labels = await db.query<{ option_id: number; value: string }>(
    'SELECT option_id, value FROM pim_raw_option_value WHERE store_id = 0 AND value IS NOT NULL',
  );
  return createCatalogDictionary(
    attributes.rows.map((row): AttributeInfo => ({ id: row.attribute_id, code: row.attribute_code, backendType: row.backend_type, frontendInput: row.frontend_input })),
    new Map(labels.rows.map((row) => [row.option_id, row.value])),
  );
}

/**
 * The raw rows of the given products, a batch at once: six queries whatever the batch size.
 * Products whose entity row is gone are answered in `removed` with the version of their delete.
 */
export async function readRawProducts(db: Queryable, ids: readonly number[]): Promise<{ products: RawProduct[]; removed: Array<{ entityId: number; version: bigint }> }> {
  if (ids.length === 0) return { products: [], removed: [] };
  const idArray = [ids];
  const [states, entities, values, tiers, links, stock] = await Promise.all([
    db.query<{ entity_id: number; lsn: string }>('SELECT entity_id, lsn::text AS lsn FROM pim_product_state WHERE entity_id = ANY($1::int[])', idArray),
    db.query<RawProduct['entity']>(
      `SELECT entity_id, sku, type_id, attribute_set_id, has_options, required_options, created_at, updated_at
         FROM pim_raw_entity WHERE entity_id = ANY($1::int[])`,
      idArray,
    ),
    db.query<{ entity_id: number; attribute_id: number; store_id: number; value: string | null }>(
      'SELECT entity_id, attribute_id, store_id, value FROM pim_raw_value WHERE entity_id = ANY($1::int[])',
      idArray,
    ),
    db.query<RawProduct['tierPrices'][number] & { entity_id: number }>(
      `SELECT entity_id, all_groups, customer_group_id, qty, value, percentage_value, website_id
         FROM pim_raw_tier_price WHERE entity_id = ANY($1::int[])`,
      idArray,
    ),
    db.query<{ product_id: number; category_id: number; position: number; name: string | null }>(
      `SELECT l.product_id, l.category_id, l.position, c.name
         FROM pim_raw_category_product l LEFT JOIN pim_raw_category c ON c.entity_id = l.category_id
        WHERE l.product_id = ANY($1::int[])`,
      idArray,
    ),
    db.query<NonNullable<RawProduct['stockItem']>>(
      `SELECT item_id, product_id, stock_id, qty, min_qty, min_sale_qty, max_sale_qty, is_in_stock, manage_stock, low_stock_date
         FROM pim_raw_stock_item WHERE product_id = ANY($1::int[])`,
      idArray,
    ),
  ]);
  const versionOf = new Map(states.rows.map((row) => [row.entity_id, Lsn.parse(row.lsn).toBigInt()]));
  const valuesOf = groupBy(values.rows, (row) => row.entity_id);
  const tiersOf = groupBy(tiers.rows, (row) => row.entity_id);
  const linksOf = groupBy(links.rows, (row) => row.product_id);
  const stockOf = new Map(stock.rows.map((row) => [row.product_id, row]));
  const present = new Set<number>();
  const products = entities.rows.map((entity): RawProduct => {
    present.add(entity.entity_id);
    const productLinks = linksOf.get(entity.entity_id) ?? [];
    return {
      entity,
      values: valuesOf.get(entity.entity_id) ?? [],
      tierPrices: tiersOf.get(entity.entity_id) ?? [],
      categoryLinks: productLinks,
      categoryNames: new Map(productLinks.filter((link) => link.name !== null).map((link) => [link.category_id, link.name!])),
      stockItem: stockOf.get(entity.entity_id) ?? null,
      version: versionOf.get(entity.entity_id) ?? 0n,
    };
  });
  const removed = ids.filter((id) => !present.has(id)).map((id) => ({ entityId: id, version: versionOf.get(id) ?? 0n }));
  return { products, removed };
}

function groupBy<T, K>(rows: readonly T[], key: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}
