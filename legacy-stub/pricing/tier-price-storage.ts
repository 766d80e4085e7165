import type pg from 'pg';
import { microsToNumber, toMicros } from './money.ts';
import type { Queryable } from './price-facts-repository.ts';
import { loadPriceScope, type PriceScope } from './price-scope.ts';
import { PriceUpdateResults, type PriceUpdateResult } from './price-update-result.ts';
import { productIdsBySku, touchProducts } from './product-id-locator.ts';
import { inTransaction } from '../../platform/transaction.ts';

/** How Magento's bulk price API names "every customer group" (TierPriceValidator::$allGroupsValue, any case). */
export const ALL_GROUPS_CODE = 'ALL GROUPS';

export type TierPriceType = 'fixed' | 'discount';

/** Magento\Catalog\Api\Data\TierPriceInterface as the REST API shows it. */
export interface TierPrice {
  price: number;
  price_type: TierPriceType;
  website_id: number;
  sku: string;
  customer_group: string;
  quantity: number;
}

export interface TierPriceInput {
  price: string;
  price_type: string;
  website_id: number;
  sku: string;
  customer_group: string;
  quantity: string;
}

/**
 * Every tier price of the given products. A percentage tier is a `discount` whose price is the
 * percentage; a tier for all groups names ALL GROUPS. Unknown skus are left out without an error,
 * as TierPriceStorage::get does (TierPriceValidator::validateSkus filters them).
 */
export async function getTierPrices(db: Queryable, skus: readonly string[]): Promise<TierPrice[]> {
  if (skus.length === 0) return [];
  const { rows } = await db.query<{
    sku: string;
    all_groups: number;
    customer_group_code: string;
    qty: string;
    value: string;
    percentage_value: string | null;
    website_id: number;
  }>(
    `SELECT p.sku, tp.all_groups, g.customer_group_code, tp.qty::text AS qty, tp.value::text AS value,
            tp.percentage_value::text AS percentage_value, tp.website_id
       FROM catalog_product_entity p
       JOIN catalog_product_entity_tier_price tp ON tp.entity_id = p.entity_id
       JOIN customer_group g ON g.customer_group_id = tp.customer_group_id
      WHERE p.sku = ANY($1::text[])
      ORDER BY p.entity_id, tp.website_id, tp.all_groups DESC, tp.customer_group_id, tp.qty`,
    [[...skus]],
  );
  return rows.map((row) => ({
    price: microsToNumber(toMicros(row.percentage_value ?? row.value)),
    price_type: row.percentage_value === null ? 'fixed' : 'discount',
    website_id: row.website_id,
    sku: row.sku,
    customer_group: row.all_groups === 1 ? ALL_GROUPS_CODE : row.customer_group_code,
    quantity: microsToNumber(toMicros(row.qty)),
  }));
}

/**
 * Adds tier prices, or changes the price of an existing tier with the same product, website,
 * group and quantity (TierPriceStorage::update). One transaction; invalid rows are reported with
 * Magento's messages and skipped.
 */
export async function updateTierPrices(pool: pg.Pool, prices: readonly TierPriceInput[], now: Date): Promise<PriceUpdateResult[]> {
  return writeTierPrices(pool, prices, now, 'update');
}

/** Replaces every tier price of the products named in `prices` with exactly these (TierPriceStorage::replace). */
export async function replaceTierPrices(pool: pg.Pool, prices: readonly TierPriceInput[], now: Date): Promise<PriceUpdateResult[]> {
  return writeTierPrices(pool, prices, now, 'replace');
}

/** Removes the tier prices that match product, website, group and quantity (TierPriceStorage::delete). */
export async function deleteTierPrices(pool: pg.Pool, prices: readonly TierPriceInput[], now: Date): Promise<PriceUpdateResult[]> {
  return writeTierPrices(pool, prices, now, 'delete');
}

interface TierRow {
  entityId: number;
  allGroups: 0 | 1;
  customerGroupId: number;
  qty: string;
  value: string;
  percentageValue: string | null;
  websiteId: number;
}

async function writeTierPrices(
  pool: pg.Pool,
  prices: readonly TierPriceInput[],
  now: Date,
  mode: 'update' | 'replace' | 'delete',
): Promise<PriceUpdateResult[]> {
  return inTransaction(pool, async (client) => {
    const ids = await productIdsBySku(client, prices.map((price) => price.sku));
    const scope = await loadPriceScope(client);
    const results = new PriceUpdateResults();
    const valid: TierRow[] = [];
    const seen = new Set<string>();
    for (const [row, price] of prices.entries()) {
      const tier = validateTier(row, price, ids, scope, results);
      if (!tier) continue;
      const key = `${tier.entityId}|${tier.websiteId}|${tier.allGroups}|${tier.customerGroupId}|${toMicros(tier.qty)}`;
      if (seen.has(key)) {
        results.add(
          row,
          `We found a duplicate website, tier price, customer group and quantity: Customer Group = %customerGroup, Website ID = %websiteId, Quantity = %qty. ${ROW_ID}`,
          rowId(price),
        );
        continue;
      }
      seen.add(key);
      valid.push(tier);
    }
    if (mode === 'replace') {
      const replaced = [...new Set(valid.map((tier) => tier.entityId))];
      await client.query('DELETE FROM catalog_product_entity_tier_price WHERE entity_id = ANY($1::int[])', [replaced]);
    }
    for (const tier of valid) {
      if (mode === 'delete') {
        await client.query(
          `DELETE FROM catalog_product_entity_tier_price
            WHERE entity_id = $1 AND all_groups = $2 AND customer_group_id = $3 AND qty = $4 AND website_id = $5`,
          [tier.entityId, tier.allGroups, tier.customerGroupId, tier.qty, tier.websiteId],
        );
      } else {
        await client.query(
          `INSERT INTO catalog_product_entity_tier_price (entity_id, all_groups, customer_group_id, qty, value, percentage_value, website_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (entity_id, all_groups, customer_group_id, qty, website_id)
           DO UPDATE SET value = EXCLUDED.value, percentage_value = EXCLUDED.percentage_value`,
          [tier.entityId, tier.allGroups, tier.customerGroupId, tier.qty, tier.value, tier.percentageValue, tier.websiteId],
        );
      }
    }
    await touchProducts(client, valid.map((tier) => tier.entityId), now);
    return results.items;
  });
}

const ROW_ID = 'Row ID: SKU = %SKU, Website ID: %websiteId, Customer Group: %customerGroup, Quantity: %qty.';

function rowId(price: TierPriceInput) {
  return { SKU: price.sku, websiteId: price.website_id, customerGroup: price.customer_group, qty: price.quantity };
}

/** Magento's checks, in its order (TierPriceValidator::retrieveValidationResult); null when the row has a problem. */
function validateTier(row: number, price: TierPriceInput, ids: Map<string, number>, scope: PriceScope, results: PriceUpdateResults): TierRow | null {
  const entityId = ids.get(price.sku);
  if (!price.sku || entityId === undefined) results.add(row, `Invalid attribute SKU = %SKU. ${ROW_ID}`, rowId(price));
  const amount = toMicros(price.price);
  if (amount < 0n || (price.price_type === 'discount' && amount > toMicros('100'))) {
    results.add(row, `Invalid attribute Price = %price. ${ROW_ID}`, { price: price.price, ...rowId(price) });
  }
  if (price.price_type !== 'fixed' && price.price_type !== 'discount') {
    results.add(row, `Invalid attribute Price Type = %priceType. ${ROW_ID}`, { priceType: price.price_type, ...rowId(price) });
  }
  // Simple products cannot be bought in fractions below one (Magento: qty < 1 && !canUseQtyDecimals).
  if (toMicros(price.quantity) < toMicros('1')) results.add(row, `Invalid attribute Quantity = %qty. ${ROW_ID}`, rowId(price));
  if (!scope.websiteIds.has(price.website_id)) results.add(row, `Invalid attribute Website ID = %websiteId. ${ROW_ID}`, rowId(price));
  const allGroups = price.customer_group.toLowerCase() === ALL_GROUPS_CODE.toLowerCase();
  const groupId = allGroups ? 0 : scope.groupIdsByCode.get(price.customer_group.toLowerCase());
  if (groupId === undefined) results.add(row, `No such entity with Customer Group = %customerGroup. ${ROW_ID}`, rowId(price));
  if (results.failed(row) || entityId === undefined || groupId === undefined) return null;
  const discount = price.price_type === 'discount';
  return {
    entityId,
    allGroups: allGroups ? 1 : 0,
    customerGroupId: groupId,
    qty: price.quantity,
    value: discount ? '0' : price.price,
    percentageValue: discount ? price.price : null,
    websiteId: price.website_id,
  };
}
