import type pg from 'pg';
import { PRICE_ATTRIBUTE_CODES, PRODUCT_ENTITY_TYPE } from '../sync/followed-tables.ts';

/** A product in one store view: the grain of the store_price read model. */
export interface StoreKey {
  entity_id: number;
  store_id: number;
}

/**
 * Rebuilds the store_price rows of the given products and store views from the raw EAV value rows
 * and the attribute dictionary: resolves the four price attributes by code, formats dates as the
 * legacy does (to_char … 'YYYY-MM-DD HH24:MI:SS'), and drops a row that no longer holds anything.
 * Called in the transaction that changed the raw rows or the dictionary, so the read model never
 * disagrees with them.
 */
export async function reprojectStorePrices(client: pg.ClientBase, keys: readonly StoreKey[]): Promise<void> {
  if (keys.length === 0) return;
  await client.query(
    `WITH keys AS (SELECT DISTINCT entity_id, store_id FROM unnest($1::int[], $2::int[]) AS k(entity_id, store_id)),
     ${COMPUTE}`,
    [keys.map((key) => key.entity_id), keys.map((key) => key.store_id), PRODUCT_ENTITY_TYPE, [...PRICE_ATTRIBUTE_CODES]],
  );
}

/** Rebuilds the whole read model (after a truncate of a source table). */
export async function reprojectAll(client: pg.ClientBase): Promise<void> {
  await client.query(
    `WITH keys AS (
       SELECT entity_id, store_id FROM attribute_value_decimal
       UNION SELECT entity_id, store_id FROM attribute_value_datetime
       UNION SELECT entity_id, store_id FROM store_price
       UNION SELECT entity_id, store_id FROM unnest($1::int[], $2::int[]) AS k(entity_id, store_id)),
     ${COMPUTE}`,
    [[], [], PRODUCT_ENTITY_TYPE, [...PRICE_ATTRIBUTE_CODES]],
  );
}

// $3 entity type, $4 the price attribute codes. The newest value row wins should two rows for the
// same product, attribute and store view be present while a delete and an insert cross in flight.
const COMPUTE = `
attr AS (SELECT attribute_id, attribute_code FROM price_attribute WHERE entity_type_id = $3 AND attribute_code = ANY($4::text[])),
dec AS (
  SELECT DISTINCT ON (v.entity_id, v.store_id, a.attribute_code) v.entity_id, v.store_id, a.attribute_code, v.value
    FROM attribute_value_decimal v JOIN attr a USING (attribute_id) JOIN keys USING (entity_id, store_id)
   ORDER BY v.entity_id, v.store_id, a.attribute_code, v.value_id DESC),
dt AS (
  SELECT DISTINCT ON (v.entity_id, v.store_id, a.attribute_code) v.entity_id, v.store_id, a.attribute_code,
         to_char(v.value, 'YYYY-MM-DD HH24:MI:SS') AS value
    FROM attribute_value_datetime v JOIN attr a USING (attribute_id) JOIN keys USING (entity_id, store_id)
   ORDER BY v.entity_id, v.store_id, a.attribute_code, v.value_id DESC),
computed AS (
  SELECT k.entity_id, k.store_id,
         p.entity_id IS NOT NULL AS has_price, p.value AS price,
         s.entity_id IS NOT NULL AS has_special_price, s.value AS special_price,
         f.entity_id IS NOT NULL AS has_special_from, f.value AS special_from,
         t.entity_id IS NOT NULL AS has_special_to, t.value AS special_to
    FROM keys k
    LEFT JOIN dec p ON p.entity_id = k.entity_id AND p.store_id = k.store_id AND p.attribute_code = 'price'
    LEFT JOIN dec s ON s.entity_id = k.entity_id AND s.store_id = k.store_id AND s.attribute_code = 'special_price'
    LEFT JOIN dt f ON f.entity_id = k.entity_id AND f.store_id = k.store_id AND f.attribute_code = 'special_from_date'
    LEFT JOIN dt t ON t.entity_id = k.entity_id AND t.store_id = k.store_id AND t.attribute_code = 'special_to_date'),
removed AS (
  DELETE FROM store_price sp USING computed c
   WHERE sp.entity_id = c.entity_id AND sp.store_id = c.store_id
     AND NOT (c.has_price OR c.has_special_price OR c.has_special_from OR c.has_special_to)
  RETURNING 1)
INSERT INTO store_price (entity_id, store_id, has_price, price, has_special_price, special_price, has_special_from, special_from, has_special_to, special_to)
SELECT entity_id, store_id, has_price, price, has_special_price, special_price, has_special_from, special_from, has_special_to, special_to
  FROM computed WHERE has_price OR has_special_price OR has_special_from OR has_special_to
ON CONFLICT (entity_id, store_id) DO UPDATE SET
  has_price = EXCLUDED.has_price, price = EXCLUDED.price,
  has_special_price = EXCLUDED.has_special_price, special_price = EXCLUDED.special_price,
  has_special_from = EXCLUDED.has_special_from, special_from = EXCLUDED.special_from,
  has_special_to = EXCLUDED.has_special_to, special_to = EXCLUDED.special_to`;
