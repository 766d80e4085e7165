import type pg from 'pg';
import { microsToNumber, toMicros } from './money.ts';
import type { Queryable } from './price-facts-repository.ts';
import { loadPriceScope } from './price-scope.ts';
import { PriceUpdateResults, type PriceUpdateResult } from './price-update-result.ts';
import { productIdsBySku, touchProducts } from './product-id-locator.ts';
import { inTransaction } from '../../platform/transaction.ts';

/** Magento\Catalog\Api\Data\BasePriceInterface as the REST API shows it. */
export interface BasePrice {
  price: number;
  store_id: number;
  sku: string;
}

/** A base price to write, already parsed at the HTTP boundary (price as exact decimal text). */
export interface BasePriceInput {
  price: string;
  store_id: number;
  sku: string;
}

/**
 * The `price` attribute of every store view of the given products. Unknown skus are left out of
 * the answer without an error, as Magento's BasePriceStorage::get does (InvalidSkuProcessor::filterSkuList).
 */
export async function getBasePrices(db: Queryable, skus: readonly string[]): Promise<BasePrice[]> {
  if (skus.length === 0) return [];
  const { rows } = await db.query<{ sku: string; store_id: number; value: string }>(
    `SELECT p.sku, d.store_id, d.value::text AS value
       FROM catalog_product_entity p
       JOIN catalog_product_entity_decimal d ON d.entity_id = p.entity_id
       JOIN eav_attribute a ON a.attribute_id = d.attribute_id AND a.entity_type_id = 4 AND a.attribute_code = 'price'
      WHERE p.sku = ANY($1::text[]) AND d.value IS NOT NULL
      ORDER BY p.entity_id, d.store_id`,
    [[...skus]],
  );
  return rows.map((row) => ({ price: microsToNumber(toMicros(row.value)), store_id: row.store_id, sku: row.sku }));
}

/**
 * Writes base prices in one transaction and marks the products updated. Rows with an unknown sku,
 * a negative price or an unknown store are reported with Magento's messages and skipped; the
 * others are written (BasePriceStorage::update).
 */
export async function updateBasePrices(pool: pg.Pool, prices: readonly BasePriceInput[], now: Date): Promise<PriceUpdateResult[]> {
  return inTransaction(pool, async (client) => {
    const ids = await productIdsBySku(client, prices.map((price) => price.sku));
    const scope = await loadPriceScope(client);
    const results = new PriceUpdateResults();
    for (const [row, price] of prices.entries()) {
      if (!price.sku || !ids.has(price.sku)) {
        results.add(row, 'Invalid attribute %fieldName = %fieldValue.', { fieldName: 'SKU', fieldValue: price.sku });
      }
      if (toMicros(price.price) < 0n) {
        results.add(row, 'Invalid attribute %fieldName = %fieldValue.', { fieldName: 'Price', fieldValue: price.price });
      }
      if (!scope.storeIds.has(price.store_id)) {
        results.add(row, 'Requested store is not found. Row ID: SKU = %SKU, Store ID: %storeId.', { SKU: price.sku, storeId: price.store_id });
      }
    }
    const touched: number[] = [];
    for (const [row, price] of prices.entries()) {
      if (results.failed(row)) continue;
      const entityId = ids.get(price.sku)!;
      await client.query(
        `INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, entity_id, value)
         SELECT attribute_id, $1, $2, $3 FROM eav_attribute WHERE entity_type_id = 4 AND attribute_code = 'price'
         ON CONFLICT (entity_id, attribute_id, store_id) DO UPDATE SET value = EXCLUDED.value`,
        [price.store_id, entityId, price.price],
      );
      touched.push(entityId);
    }
    await touchProducts(client, touched, now);
    return results.items;
  });
}
