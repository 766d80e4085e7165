import type pg from 'pg';
import type { PriceFacts, TierPriceFact } from './final-price.ts';

/** Anything that runs a query: the pool, or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** The storefront's store view and website: prices set there win over the admin (global) values. */
export const DEFAULT_STORE_ID = 1;
export const DEFAULT_WEBSITE_ID = 1;

export interface ProductPriceFacts {
  entityId: number;
  sku: string;
  facts: PriceFacts;
}

interface FactsRow {
  entity_id: number;
  sku: string;
  price: string | null;
  special_price: string | null;
  special_from_date: string | null;
  special_to_date: string | null;
  tiers: Array<{ all_groups: number; customer_group_id: number; qty: string; value: string; percentage_value: string | null }>;
}

/**
 * Reads what the price rule needs about products out of the EAV tables, in one round trip.
 * A store-view value overrides the admin value (store 0), as in Magento; tier prices for all
 * websites (0) and for the storefront's website both apply. Dates come back as text in the shop's
 * timezone (UTC) so node-postgres never reinterprets a `timestamp` in the process's local zone.
 * A product without a price attribute costs 0, as Magento shows it.
 */
export async function loadPriceFacts(
  db: Queryable,
  by: { skus: readonly string[] } | { entityIds: readonly number[] },
  scope: { storeId: number; websiteId: number } = { storeId: DEFAULT_STORE_ID, websiteId: DEFAULT_WEBSITE_ID },
): Promise<ProductPriceFacts[]> {
  const filter = 'skus' in by ? 'p.sku = ANY($1::text[])' : 'p.entity_id = ANY($1::int[])';
  const keys = 'skus' in by ? [...by.skus] : [...by.entityIds];
  if (keys.length === 0) return [];
  const { rows } = await db.query<FactsRow>(
    `WITH attr AS (
       SELECT attribute_code, attribute_id FROM eav_attribute
        WHERE entity_type_id = 4 AND attribute_code IN ('price', 'special_price', 'special_from_date', 'special_to_date')
     )
     SELECT p.entity_id, p.sku,
       (SELECT d.value::text FROM catalog_product_entity_decimal d JOIN attr a USING (attribute_id)
         WHERE a.attribute_code = 'price' AND d.entity_id = p.entity_id AND d.store_id IN (0, $2)
         ORDER BY d.store_id DESC LIMIT 1) AS price,
       (SELECT d.value::text FROM catalog_product_entity_decimal d JOIN attr a USING (attribute_id)
         WHERE a.attribute_code = 'special_price' AND d.entity_id = p.entity_id AND d.store_id IN (0, $2)
         ORDER BY d.store_id DESC LIMIT 1) AS special_price,
       (SELECT to_char(t.value, 'YYYY-MM-DD HH24:MI:SS') FROM catalog_product_entity_datetime t JOIN attr a USING (attribute_id)
         WHERE a.attribute_code = 'special_from_date' AND t.entity_id = p.entity_id AND t.store_id IN (0, $2)
         ORDER BY t.store_id DESC LIMIT 1) AS special_from_date,
       (SELECT to_char(t.value, 'YYYY-MM-DD HH24:MI:SS') FROM catalog_product_entity_datetime t JOIN attr a USING (attribute_id)
         WHERE a.attribute_code = 'special_to_date' AND t.entity_id = p.entity_id AND t.store_id IN (0, $2)
         ORDER BY t.store_id DESC LIMIT 1) AS special_to_date,
       COALESCE((SELECT json_agg(json_build_object(
           'all_groups', tp.all_groups, 'customer_group_id', tp.customer_group_id, 'qty', tp.qty::text,
           'value', tp.value::text, 'percentage_value', tp.percentage_value::text) ORDER BY tp.value_id)
         FROM catalog_product_entity_tier_price tp
        WHERE tp.entity_id = p.entity_id AND tp.website_id IN (0, $3)), '[]'::json) AS tiers
     FROM catalog_product_entity p
     WHERE ${filter}
     ORDER BY p.entity_id`,
    [keys, scope.storeId, scope.websiteId],
  );
  return rows.map((row) => ({
    entityId: row.entity_id,
    sku: row.sku,
    facts: {
      price: row.price ?? '0',
      specialPrice: row.special_price,
      specialFromDate: row.special_from_date,
      specialToDate: row.special_to_date,
      tiers: row.tiers.map(
        (tier): TierPriceFact => ({
          allGroups: tier.all_groups === 1,
          customerGroupId: tier.customer_group_id,
          qty: tier.qty,
          value: tier.value,
          percentageValue: tier.percentage_value,
        }),
      ),
    },
  }));
}
