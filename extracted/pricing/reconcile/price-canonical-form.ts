import type { KeyCondition, Projection } from '../../../reconcile/projection.ts';
import { appliedPosition, legacyWalPosition } from '../../../reconcile/positions.ts';
import { PRICE_ATTRIBUTE_CODES, PRODUCT_ENTITY_TYPE } from '../sync/followed-tables.ts';

/**
 * The pricing store's canonical form of one product, computed the same way from the legacy
 * tables and from the store (schema in store/migrations/): exactly what the store keeps per
 * product and answers from —
 *
 *   { "sku": …,
 *     "stores": [[store_id, has_price, price, has_special_price, special_price,
 *                 has_special_from, special_from, has_special_to, special_to], …]   by store_id
 *     "tiers":  [[value_id, all_groups, customer_group_id, qty, value, percentage_value, website_id], …] by value_id }
 *
 * Amounts are compared as numbers (trim_scale: '19.500000' and '19.5' are the same price), dates
 * as the legacy prints them ('YYYY-MM-DD hh:mm:ss'). A store view appears when it has at least
 * one of the four price attributes, even a NULL one (the store's has_* flags). The attribute
 * dictionary and customer groups are reference data, not per product, and are not compared.
 */
const codes = PRICE_ATTRIBUTE_CODES.map((code) => `'${code}'`).join(', ');

export const legacyPriceProjection: Projection = {
  name: 'legacy',
  allKeys: 'SELECT entity_id FROM catalog_product_entity',
  select: (keys: KeyCondition) => `
    WITH attr AS (
      SELECT attribute_id, attribute_code FROM eav_attribute WHERE entity_type_id = ${PRODUCT_ENTITY_TYPE} AND attribute_code IN (${codes})),
    vals AS (
      SELECT v.entity_id, v.store_id, a.attribute_code AS code, trim_scale(v.value)::text AS value
        FROM catalog_product_entity_decimal v JOIN attr a ON a.attribute_id = v.attribute_id WHERE ${keys('v.entity_id')}
      UNION ALL
      SELECT v.entity_id, v.store_id, a.attribute_code, to_char(v.value, 'YYYY-MM-DD HH24:MI:SS')
        FROM catalog_product_entity_datetime v JOIN attr a ON a.attribute_id = v.attribute_id WHERE ${keys('v.entity_id')}),
    per_store AS (
      SELECT entity_id, store_id,
             bool_or(code = 'price') AS hp, max(value) FILTER (WHERE code = 'price') AS p,
             bool_or(code = 'special_price') AS hs, max(value) FILTER (WHERE code = 'special_price') AS s,
             bool_or(code = 'special_from_date') AS hf, max(value) FILTER (WHERE code = 'special_from_date') AS f,
             bool_or(code = 'special_to_date') AS ht, max(value) FILTER (WHERE code = 'special_to_date') AS t
        FROM vals GROUP BY entity_id, store_id),
    stores AS (
      SELECT entity_id, jsonb_agg(jsonb_build_array(store_id, hp, p, hs, s, hf, f, ht, t) ORDER BY store_id) AS stores
        FROM per_store GROUP BY entity_id),
    tiers AS (
      SELECT entity_id, jsonb_agg(jsonb_build_array(value_id, all_groups, customer_group_id, trim_scale(qty)::text, trim_scale(value)::text,
                                                    trim_scale(percentage_value)::text, website_id) ORDER BY value_id) AS tiers
        FROM catalog_product_entity_tier_price WHERE ${keys('entity_id')} GROUP BY entity_id)
    SELECT p.entity_id, jsonb_build_object('sku', p.sku, 'stores', coalesce(s.stores, '[]'::jsonb), 'tiers', coalesce(t.tiers, '[]'::jsonb)) AS doc
      FROM catalog_product_entity p LEFT JOIN stores s USING (entity_id) LEFT JOIN tiers t USING (entity_id)
     WHERE ${keys('p.entity_id')}`,
  position: legacyWalPosition,
};

export const storePriceProjection: Projection = {
  name: 'pricing store',
  // A price row or tier left behind for a product the store no longer has is a product too (extra).
  allKeys: 'SELECT entity_id FROM product UNION SELECT entity_id FROM store_price UNION SELECT entity_id FROM tier_price',
  select: (keys: KeyCondition) => `
    WITH ids AS (
      SELECT entity_id FROM product WHERE ${keys('entity_id')}
      UNION SELECT entity_id FROM store_price WHERE ${keys('entity_id')}
      UNION SELECT entity_id FROM tier_price WHERE ${keys('entity_id')}),
    stores AS (
      SELECT entity_id, jsonb_agg(jsonb_build_array(store_id, has_price, trim_scale(price)::text, has_special_price, trim_scale(special_price)::text,
                                                    has_special_from, special_from, has_special_to, special_to) ORDER BY store_id) AS stores
        FROM store_price WHERE ${keys('entity_id')} GROUP BY entity_id),
    tiers AS (
      SELECT entity_id, jsonb_agg(jsonb_build_array(value_id, all_groups, customer_group_id, trim_scale(qty)::text, trim_scale(value)::text,
                                                    trim_scale(percentage_value)::text, website_id) ORDER BY value_id) AS tiers
        FROM tier_price WHERE ${keys('entity_id')} GROUP BY entity_id)
    SELECT i.entity_id, jsonb_build_object('sku', k.sku, 'stores', coalesce(s.stores, '[]'::jsonb), 'tiers', coalesce(t.tiers, '[]'::jsonb)) AS doc
      FROM ids i LEFT JOIN product k USING (entity_id) LEFT JOIN stores s USING (entity_id) LEFT JOIN tiers t USING (entity_id)`,
  position: (db) => appliedPosition(db),
};
