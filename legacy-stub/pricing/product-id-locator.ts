import type { Queryable } from './price-facts-repository.ts';

/**
 * sku → entity_id for the skus that exist (Magento\Catalog\Model\ProductIdLocator). Skus match
 * exactly: PostgreSQL compares case-sensitively where Magento's MySQL collation would not, and the
 * unique index on sku is case-sensitive too, so an exact match is the only unambiguous one.
 */
export async function productIdsBySku(db: Queryable, skus: readonly string[]): Promise<Map<string, number>> {
  if (skus.length === 0) return new Map();
  const { rows } = await db.query<{ sku: string; entity_id: number }>(
    'SELECT sku, entity_id FROM catalog_product_entity WHERE sku = ANY($1::text[])',
    [[...new Set(skus)]],
  );
  return new Map(rows.map((row) => [row.sku, row.entity_id]));
}

/** Marks products as changed, as Magento's PricePersistence::updateLastUpdatedAt does after a price write. */
export async function touchProducts(db: Queryable, entityIds: Iterable<number>, now: Date): Promise<void> {
  const ids = [...new Set(entityIds)];
  if (ids.length === 0) return;
  await db.query("UPDATE catalog_product_entity SET updated_at = ($2::timestamptz AT TIME ZONE 'UTC') WHERE entity_id = ANY($1::int[])", [
    ids,
    now.toISOString(),
  ]);
}
