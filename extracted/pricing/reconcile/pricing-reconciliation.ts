import { runReconciliation, type RunReconciliationOptions, type ServiceReconciliation } from '../../../reconcile/service-reconciliation.ts';
import type { DriftReport } from '../../../reconcile/drift-report.ts';
import { legacyPriceProjection, storePriceProjection } from './price-canonical-form.ts';

/**
 * The pricing service's Reconciliation: its canonical form (price-canonical-form.ts) and the
 * legacy tables a repair re-sends for a drifted product — the product row itself, its decimal and
 * datetime values (the store keeps them raw and rebuilds store_price from them) and its tier
 * prices, with the store's own row keys added so that rows the legacy no longer has are deleted.
 */
export const pricingReconciliation: ServiceReconciliation = {
  service: 'pricing',
  legacy: legacyPriceProjection,
  store: storePriceProjection,
  repairTables: [
    { table: 'catalog_product_entity', keyColumn: 'entity_id', legacyKeys: 'SELECT unnest($1::int[])', storeKeys: null },
    {
      table: 'catalog_product_entity_decimal',
      keyColumn: 'value_id',
      legacyKeys: 'SELECT value_id FROM catalog_product_entity_decimal WHERE entity_id = ANY($1::int[])',
      storeKeys: 'SELECT value_id FROM attribute_value_decimal WHERE entity_id = ANY($1::int[])',
    },
    {
      table: 'catalog_product_entity_datetime',
      keyColumn: 'value_id',
      legacyKeys: 'SELECT value_id FROM catalog_product_entity_datetime WHERE entity_id = ANY($1::int[])',
      storeKeys: 'SELECT value_id FROM attribute_value_datetime WHERE entity_id = ANY($1::int[])',
    },
    {
      table: 'catalog_product_entity_tier_price',
      keyColumn: 'value_id',
      legacyKeys: 'SELECT value_id FROM catalog_product_entity_tier_price WHERE entity_id = ANY($1::int[])',
      storeKeys: 'SELECT value_id FROM tier_price WHERE entity_id = ANY($1::int[])',
    },
  ],
};

/**
 * Compares the pricing store with the legacy (and repairs it with `repair`). `legacy` and `store`
 * are pools (or clients) on the legacy database and the pricing database. The bench calls this.
 */
export function reconcilePricing(options: RunReconciliationOptions): Promise<DriftReport> {
  return runReconciliation(pricingReconciliation, options);
}
