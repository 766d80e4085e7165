/**
 * The default captured tables: the legacy catalog, its prices, categories and stock, and the
 * reference data they point at (attributes, options, customer groups, stores, websites), so that
 * a service can build its store from the stream alone.
 */
export const DEFAULT_CAPTURED_TABLES: readonly string[] = Object.freeze([
  'catalog_product_entity',
  'catalog_product_entity_varchar',
  'catalog_product_entity_int',
  'catalog_product_entity_decimal',
  'catalog_product_entity_text',
  'catalog_product_entity_datetime',
  'catalog_product_entity_tier_price',
  'catalog_category_entity',
  'catalog_category_product',
  'cataloginventory_stock_item',
  'eav_attribute',
  'eav_attribute_option',
  'eav_attribute_option_value',
  'customer_group',
  'store',
  'store_website',
]);

export const DEFAULT_PUBLICATION = 'strangler_pub';
export const DEFAULT_SLOT = 'strangler_cdc';

/** A table as `schema.name`; a bare name is in `public`. */
export interface CaptureTable {
  schema: string;
  name: string;
}

export function parseCaptureTable(text: string): CaptureTable {
  const parts = text.trim().split('.');
  if (parts.length === 1 && parts[0]) return { schema: 'public', name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { schema: parts[0], name: parts[1] };
  throw new RangeError(`not a table name: ${JSON.stringify(text)}`);
}

/** Splits CDC_TABLES ("a, b, public.c") into table names; empty means the default set. */
export function parseTableList(text: string | undefined): string[] {
  if (!text || !text.trim()) return [...DEFAULT_CAPTURED_TABLES];
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}
