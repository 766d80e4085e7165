/**
 * The legacy tables the pricing store is built from, and the only ones the `pricing.cdc` queue is
 * bound to: product entity (sku ↔ id), the decimal and datetime EAV values (price, special_price
 * and its window), tier prices, the attribute dictionary (ids resolved from events, never
 * hard-coded) and customer groups (the codes the tier price answer names).
 */
export const FOLLOWED_TABLES = [
  'catalog_product_entity',
  'catalog_product_entity_decimal',
  'catalog_product_entity_datetime',
  'catalog_product_entity_tier_price',
  'eav_attribute',
  'customer_group',
] as const;

export type FollowedTable = (typeof FOLLOWED_TABLES)[number];

/** Magento's entity type of products: attribute codes are unique within it. */
export const PRODUCT_ENTITY_TYPE = 4;

/** The attribute codes the price rule reads. */
export const PRICE_ATTRIBUTE_CODES = ['price', 'special_price', 'special_from_date', 'special_to_date'] as const;
