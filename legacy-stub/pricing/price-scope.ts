import type { Queryable } from './price-facts-repository.ts';

/** The store views, websites and customer groups a price row may name, read once per write. */
export interface PriceScope {
  storeIds: ReadonlySet<number>;
  websiteIds: ReadonlySet<number>;
  /** Lower-cased group code → id; Magento matches group codes case-insensitively. */
  groupIdsByCode: ReadonlyMap<string, number>;
  groupCodesById: ReadonlyMap<number, string>;
}

export async function loadPriceScope(db: Queryable): Promise<PriceScope> {
  // One after the other: `db` may be a single client inside a transaction.
  const stores = await db.query<{ id: number }>('SELECT store_id AS id FROM store');
  const websites = await db.query<{ id: number }>('SELECT website_id AS id FROM store_website');
  const groups = await db.query<{ id: number; code: string }>('SELECT customer_group_id AS id, customer_group_code AS code FROM customer_group');
  return {
    storeIds: new Set(stores.rows.map((row) => row.id)),
    websiteIds: new Set(websites.rows.map((row) => row.id)),
    groupIdsByCode: new Map(groups.rows.map((row) => [row.code.toLowerCase(), row.id])),
    groupCodesById: new Map(groups.rows.map((row) => [row.id, row.code])),
  };
}
