import type pg from 'pg';
import { microsToNumber, toMicros } from './money.ts';
import type { Queryable } from './price-facts-repository.ts';
import { loadPriceScope } from './price-scope.ts';
import { PriceUpdateResults, type PriceUpdateResult } from './price-update-result.ts';
import { productIdsBySku, touchProducts } from './product-id-locator.ts';
import { inTransaction } from '../../platform/transaction.ts';

/** Magento\Catalog\Api\Data\SpecialPriceInterface as the REST API shows it; dates `YYYY-MM-DD hh:mm:ss` or null (open). */
export interface SpecialPrice {
  price: number;
  store_id: number;
  sku: string;
  price_from: string | null;
  price_to: string | null;
}

export interface SpecialPriceInput {
  price: string;
  store_id: number;
  sku: string;
  price_from: string | null;
  price_to: string | null;
}

/**
 * The special prices of the given products, one per store view that has one, with the window of
 * the same store view. Unknown skus are left out without an error, as SpecialPriceStorage::get does.
 */
export async function getSpecialPrices(db: Queryable, skus: readonly string[]): Promise<SpecialPrice[]> {
  if (skus.length === 0) return [];
  const { rows } = await db.query<{ sku: string; store_id: number; value: string; price_from: string | null; price_to: string | null }>(
    `WITH attr AS (SELECT attribute_code, attribute_id FROM eav_attribute WHERE entity_type_id = 4)
     SELECT p.sku, d.store_id, d.value::text AS value,
       (SELECT to_char(t.value, 'YYYY-MM-DD HH24:MI:SS') FROM catalog_product_entity_datetime t
         WHERE t.entity_id = p.entity_id AND t.store_id = d.store_id
           AND t.attribute_id = (SELECT attribute_id FROM attr WHERE attribute_code = 'special_from_date')) AS price_from,
       (SELECT to_char(t.value, 'YYYY-MM-DD HH24:MI:SS') FROM catalog_product_entity_datetime t
         WHERE t.entity_id = p.entity_id AND t.store_id = d.store_id
           AND t.attribute_id = (SELECT attribute_id FROM attr WHERE attribute_code = 'special_to_date')) AS price_to
       FROM catalog_product_entity p
       JOIN catalog_product_entity_decimal d ON d.entity_id = p.entity_id
        AND d.attribute_id = (SELECT attribute_id FROM attr WHERE attribute_code = 'special_price')
      WHERE p.sku = ANY($1::text[]) AND d.value IS NOT NULL
      ORDER BY p.entity_id, d.store_id`,
    [[...skus]],
  );
  return rows.map((row) => ({
    price: microsToNumber(toMicros(row.value)),
    store_id: row.store_id,
    sku: row.sku,
    price_from: row.price_from,
    price_to: row.price_to,
  }));
}

/**
 * Sets special prices and their windows in one transaction (SpecialPriceStorage::update). A missing
 * or null date is an open bound: any date stored for that bound is removed. Invalid rows are
 * reported with Magento's messages and skipped.
 */
export async function updateSpecialPrices(pool: pg.Pool, prices: readonly SpecialPriceInput[], now: Date): Promise<PriceUpdateResult[]> {
  return inTransaction(pool, async (client) => {
    const { ids, results } = await validate(client, prices);
    const touched: number[] = [];
    for (const [row, price] of prices.entries()) {
      if (results.failed(row)) continue;
      const entityId = ids.get(price.sku)!;
      await upsertValue(client, 'catalog_product_entity_decimal', 'special_price', price.store_id, entityId, price.price);
      await upsertValue(client, 'catalog_product_entity_datetime', 'special_from_date', price.store_id, entityId, price.price_from);
      await upsertValue(client, 'catalog_product_entity_datetime', 'special_to_date', price.store_id, entityId, price.price_to);
      touched.push(entityId);
    }
    await touchProducts(client, touched, now);
    return results.items;
  });
}

/** Removes special prices and their windows for the given sku and store view (SpecialPriceStorage::delete). */
export async function deleteSpecialPrices(pool: pg.Pool, prices: readonly SpecialPriceInput[], now: Date): Promise<PriceUpdateResult[]> {
  return inTransaction(pool, async (client) => {
    const { ids, results } = await validate(client, prices);
    const touched: number[] = [];
    for (const [row, price] of prices.entries()) {
      if (results.failed(row)) continue;
      const entityId = ids.get(price.sku)!;
      for (const [table, code] of [
        ['catalog_product_entity_decimal', 'special_price'],
        ['catalog_product_entity_datetime', 'special_from_date'],
        ['catalog_product_entity_datetime', 'special_to_date'],
      ] as const) {
        await upsertValue(client, table, code, price.store_id, entityId, null);
      }
      touched.push(entityId);
    }
    await touchProducts(client, touched, now);
    return results.items;
  });
}

const ROW_ID = 'Row ID: SKU = %SKU, Store ID: %storeId, Price From: %priceFrom, Price To: %priceTo.';

async function validate(client: pg.PoolClient, prices: readonly SpecialPriceInput[]) {
  const ids = await productIdsBySku(client, prices.map((price) => price.sku));
  const scope = await loadPriceScope(client);
  const results = new PriceUpdateResults();
  for (const [row, price] of prices.entries()) {
    const rowId = { SKU: price.sku, storeId: price.store_id, priceFrom: price.price_from, priceTo: price.price_to };
    if (!price.sku || !ids.has(price.sku)) {
      results.add(row, `The product that was requested doesn't exist. Verify the product and try again. ${ROW_ID}`, rowId);
    }
    if (!scope.storeIds.has(price.store_id)) results.add(row, `Requested store is not found. ${ROW_ID}`, rowId);
    if (toMicros(price.price) < 0n) results.add(row, `Invalid attribute Price = %price. ${ROW_ID}`, { price: price.price, ...rowId });
    for (const [label, value] of [['Price From', price.price_from], ['Price To', price.price_to]] as const) {
      // Magento's own message names %priceTo for either bound; kept as Magento words it.
      if (value !== null && !isMagentoDateTime(value)) results.add(row, `Invalid attribute %label = %priceTo. ${ROW_ID}`, { label, ...rowId });
    }
    if (price.price_from !== null && price.price_to !== null && isMagentoDateTime(price.price_from) && isMagentoDateTime(price.price_to) && price.price_to < price.price_from) {
      results.add(row, `Special price to date must be on or after its from date. ${ROW_ID}`, rowId);
    }
  }
  return { ids, results };
}

/** `YYYY-MM-DD hh:mm:ss` naming a real calendar moment (Magento: date('Y-m-d H:i:s', strtotime($d)) === $d). */
export function isMagentoDateTime(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!match) return false;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === s;
}

/** Sets one EAV value for a store view, or removes it when `value` is null. */
async function upsertValue(
  client: pg.PoolClient,
  table: 'catalog_product_entity_decimal' | 'catalog_product_entity_datetime',
  code: string,
  storeId: number,
  entityId: number,
  value: string | null,
): Promise<void> {
  if (value === null) {
    await client.query(
      `DELETE FROM ${table} WHERE entity_id = $1 AND store_id = $2
         AND attribute_id = (SELECT attribute_id FROM eav_attribute WHERE entity_type_id = 4 AND attribute_code = $3)`,
      [entityId, storeId, code],
    );
    return;
  }
  await client.query(
    `INSERT INTO ${table} (attribute_id, store_id, entity_id, value)
     SELECT attribute_id, $2, $3, $4 FROM eav_attribute WHERE entity_type_id = 4 AND attribute_code = $1
     ON CONFLICT (entity_id, attribute_id, store_id) DO UPDATE SET value = EXCLUDED.value`,
    [code, storeId, entityId, value],
  );
}
