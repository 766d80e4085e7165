import type pg from 'pg';
import type { ProductPriceFacts, TierFact } from '../domain/price-rule.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';

/** The storefront's store view and website, whose values win over the admin (0) ones, as in the legacy. */
export interface PriceScope {
  storeId: number;
  websiteId: number;
}

export const DEFAULT_PRICE_SCOPE: PriceScope = Object.freeze({ storeId: 1, websiteId: 1 });

export interface ProductFacts {
  entityId: number;
  sku: string;
  facts: ProductPriceFacts;
}

export interface BasePriceRow {
  sku: string;
  storeId: number;
  price: string;
}

export interface SpecialPriceRow {
  sku: string;
  storeId: number;
  price: string;
  priceFrom: string | null;
  priceTo: string | null;
}

export interface TierPriceRow {
  sku: string;
  allGroups: boolean;
  customerGroupCode: string;
  qty: string;
  value: string;
  percentageValue: string | null;
  websiteId: number;
}

interface StoreRow {
  store_id: number;
  has_price: boolean;
  price: string | null;
  has_special_price: boolean;
  special_price: string | null;
  has_special_from: boolean;
  special_from: string | null;
  has_special_to: boolean;
  special_to: string | null;
}

interface TierJson {
  all_groups: number;
  customer_group_id: number;
  qty: string;
  value: string;
  percentage_value: string | null;
}

/** Reads of the pricing store; every method is one round trip. */
export class PriceStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly scope: PriceScope = DEFAULT_PRICE_SCOPE,
  ) {}

  /** What the price rule needs about one product, or null for an unknown sku. */
  async factsOf(sku: string): Promise<ProductFacts | null> {
    const { rows } = await this.pool.query<{ entity_id: number; sku: string; stores: StoreRow[] | null; tiers: TierJson[] | null }>({
      name: 'pricing-facts-of',
      text: `SELECT p.entity_id, p.sku,
         (SELECT json_agg(json_build_object(
            'store_id', s.store_id, 'has_price', s.has_price, 'price', s.price::text,
            'has_special_price', s.has_special_price, 'special_price', s.special_price::text,
            'has_special_from', s.has_special_from, 'special_from', s.special_from,
            'has_special_to', s.has_special_to, 'special_to', s.special_to) ORDER BY s.store_id DESC)
            FROM store_price s WHERE s.entity_id = p.entity_id AND s.store_id IN (0, $2)) AS stores,
         (SELECT json_agg(json_build_object(
            'all_groups', t.all_groups, 'customer_group_id', t.customer_group_id, 'qty', t.qty::text,
            'value', t.value::text, 'percentage_value', t.percentage_value::text) ORDER BY t.value_id)
            FROM tier_price t WHERE t.entity_id = p.entity_id AND t.website_id IN (0, $3)) AS tiers
        FROM product p WHERE p.sku = $1 ORDER BY p.entity_id LIMIT 1`,
      values: [sku, this.scope.storeId, this.scope.websiteId],
    });
    const row = rows[0];
    if (!row) return null;
    // Rows come store view first: each attribute takes the first row that has it (a NULL included).
    const stores = row.stores ?? [];
    const price = stores.find((store) => store.has_price)?.price ?? null;
    return {
      entityId: row.entity_id,
      sku: row.sku,
      facts: {
        price: price ?? '0',
        specialPrice: stores.find((store) => store.has_special_price)?.special_price ?? null,
        specialFrom: stores.find((store) => store.has_special_from)?.special_from ?? null,
        specialTo: stores.find((store) => store.has_special_to)?.special_to ?? null,
        tiers: (row.tiers ?? []).map(
          (tier): TierFact => ({
            allGroups: tier.all_groups === 1,
            customerGroupId: tier.customer_group_id,
            qty: tier.qty,
            value: tier.value,
            percentageValue: tier.percentage_value,
          }),
        ),
      },
    };
  }

  /** The base price of every store view of these products (unknown skus left out), by product then store. */
  async basePrices(skus: readonly string[]): Promise<BasePriceRow[]> {
    if (skus.length === 0) return [];
    const { rows } = await this.pool.query<{ sku: string; store_id: number; price: string }>(
      `SELECT p.sku, s.store_id, s.price::text AS price
         FROM product p JOIN store_price s ON s.entity_id = p.entity_id
        WHERE p.sku = ANY($1::text[]) AND s.price IS NOT NULL
        ORDER BY p.entity_id, s.store_id`,
      [[...skus]],
    );
    return rows.map((row) => ({ sku: row.sku, storeId: row.store_id, price: row.price }));
  }

  /** The special price of every store view that has one, with that store view's window. */
  async specialPrices(skus: readonly string[]): Promise<SpecialPriceRow[]> {
    if (skus.length === 0) return [];
    const { rows } = await this.pool.query<{ sku: string; store_id: number; price: string; special_from: string | null; special_to: string | null }>(
      `SELECT p.sku, s.store_id, s.special_price::text AS price, s.special_from, s.special_to
         FROM product p JOIN store_price s ON s.entity_id = p.entity_id
        WHERE p.sku = ANY($1::text[]) AND s.special_price IS NOT NULL
        ORDER BY p.entity_id, s.store_id`,
      [[...skus]],
    );
    return rows.map((row) => ({ sku: row.sku, storeId: row.store_id, price: row.price, priceFrom: row.special_from, priceTo: row.special_to }));
  }

  /** Every tier price of these products, in the legacy's order. */
  async tierPrices(skus: readonly string[]): Promise<TierPriceRow[]> {
    if (skus.length === 0) return [];
    const { rows } = await this.pool.query<{
      sku: string;
      all_groups: number;
      customer_group_code: string;
      qty: string;
      value: string;
      percentage_value: string | null;
      website_id: number;
    }>(
      `SELECT p.sku, t.all_groups, g.customer_group_code, t.qty::text AS qty, t.value::text AS value,
              t.percentage_value::text AS percentage_value, t.website_id
         FROM product p
         JOIN tier_price t ON t.entity_id = p.entity_id
         JOIN customer_group g ON g.customer_group_id = t.customer_group_id
        WHERE p.sku = ANY($1::text[])
        ORDER BY p.entity_id, t.website_id, t.all_groups DESC, t.customer_group_id, t.qty`,
      [[...skus]],
    );
    return rows.map((row) => ({
      sku: row.sku,
      allGroups: row.all_groups === 1,
      customerGroupCode: row.customer_group_code,
      qty: row.qty,
      value: row.value,
      percentageValue: row.percentage_value,
      websiteId: row.website_id,
    }));
  }

  /** The newest commit LSN applied to any row: how far the store has caught up (survives restarts). */
  async lastAppliedLsn(): Promise<Lsn | null> {
    const { rows } = await this.pool.query<{ lsn: string | null }>('SELECT max(commit_lsn)::text AS lsn FROM cdc_applied');
    return rows[0]?.lsn ? Lsn.parse(rows[0].lsn) : null;
  }
}
