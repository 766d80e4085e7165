import { ALL_GROUPS_ID } from '../../../legacy-stub/seed/reference-data.ts';
import {
  decimalNumber,
  interfaceAttributes,
  type MagentoProduct,
  type MagentoStockItem,
  type MagentoTierPrice,
} from '../../../legacy-stub/catalog/magento-product.ts';
import type { CatalogDictionary } from './catalog-dictionary.ts';
import type { ProductDocument } from './product-document.ts';

/** The raw rows of one product, as the PIM keeps them (sync/raw-catalog.ts), values in the legacy's text form. */
export interface RawProduct {
  entity: {
    entity_id: number;
    sku: string;
    type_id: string;
    attribute_set_id: number;
    has_options: number;
    required_options: number;
    created_at: string;
    updated_at: string;
  };
  values: ReadonlyArray<{ attribute_id: number; store_id: number; value: string | null }>;
  tierPrices: ReadonlyArray<{
    all_groups: number;
    customer_group_id: number;
    qty: string;
    value: string;
    percentage_value: string | null;
    website_id: number;
  }>;
  categoryLinks: ReadonlyArray<{ category_id: number; position: number }>;
  categoryNames: ReadonlyMap<number, string>;
  stockItem: {
    item_id: number;
    product_id: number;
    stock_id: number;
    qty: string | null;
    min_qty: string;
    min_sale_qty: string;
    max_sale_qty: string;
    is_in_stock: number;
    manage_stock: number;
    low_stock_date: string | null;
  } | null;
  /** The LSN of the last change folded into these rows. */
  version: bigint;
}

const SEARCHED_ATTRIBUTES = ['name', 'short_description', 'description', 'material', 'meta_title'];

/**
 * Assembles the document. The `product` part follows the legacy's reader rule for rule
 * (legacy-stub/catalog/product-reader.ts): admin-scope values, custom_attributes in attribute id
 * order, category links by category id, tier prices by website, all-groups first, group, qty.
 */
export function buildProductDocument(raw: RawProduct, dictionary: CatalogDictionary): ProductDocument {
  const fields: Record<string, string> = {};
  const texts: Record<string, string> = {};
  const storeValues: Record<string, Record<string, string>> = {};
  for (const row of raw.values) {
    const definition = dictionary.byId.get(row.attribute_id);
    if (!definition || row.value === null) continue;
    if (row.store_id === 0) (definition.backendType === 'text' ? texts : fields)[definition.code] = row.value;
    else (storeValues[String(row.store_id)] ??= {})[definition.code] = row.value;
  }
  const links = [...raw.categoryLinks].sort((a, b) => a.category_id - b.category_id);
  const categoryLinks = links.map((link) => ({ position: link.position, category_id: String(link.category_id) }));

  const custom: MagentoProduct['custom_attributes'] = [];
  for (const definition of dictionary.byCode.values()) {
    if (interfaceAttributes.has(definition.code)) continue;
    const value = fields[definition.code] ?? texts[definition.code];
    if (value !== undefined) custom.push({ attribute_code: definition.code, value });
  }
  if (categoryLinks.length > 0) custom.push({ attribute_code: 'category_ids', value: categoryLinks.map((link) => link.category_id) });
  custom.push({ attribute_code: 'has_options', value: String(raw.entity.has_options) });
  custom.push({ attribute_code: 'required_options', value: String(raw.entity.required_options) });

  const { name, price, status, visibility, weight } = fields;
  // The legacy's order: website, all-groups tiers first, group, then quantity as a number
  // (numeric(12,4): at most 12 significant digits, exact in a double).
  const tiers = [...raw.tierPrices].sort(
    (a, b) =>
      a.website_id - b.website_id ||
      b.all_groups - a.all_groups ||
      a.customer_group_id - b.customer_group_id ||
      Number(a.qty) - Number(b.qty),
  );
  const product: MagentoProduct = {
    id: raw.entity.entity_id,
    sku: raw.entity.sku,
    ...(name === undefined ? {} : { name }),
    attribute_set_id: raw.entity.attribute_set_id,
    ...(price === undefined ? {} : { price: decimalNumber(price) }),
    ...(status === undefined ? {} : { status: Number(status) }),
    ...(visibility === undefined ? {} : { visibility: Number(visibility) }),
    type_id: raw.entity.type_id,
    created_at: raw.entity.created_at,
    updated_at: raw.entity.updated_at,
    ...(weight === undefined ? {} : { weight: decimalNumber(weight) }),
    extension_attributes: {
      website_ids: [1],
      category_links: categoryLinks,
      ...(raw.stockItem ? { stock_item: stockItem(raw.stockItem) } : {}),
    },
    product_links: [],
    options: [],
    media_gallery_entries: [],
    tier_prices: tiers.map((tier) => tierPrice(tier, price)),
    custom_attributes: custom,
  };

  const label = (code: string): string | null => {
    const value = fields[code];
    return value === undefined ? null : (dictionary.optionLabels.get(Number(value)) ?? null);
  };
  const color = label('color');
  const size = label('size');
  const searchText = [raw.entity.sku, ...SEARCHED_ATTRIBUTES.map((code) => fields[code] ?? texts[code]), color, size]
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .join(' \n ');

  return Object.freeze({
    entityId: raw.entity.entity_id,
    sku: raw.entity.sku,
    version: raw.version,
    typeId: raw.entity.type_id,
    attributeSetId: raw.entity.attribute_set_id,
    hasOptions: raw.entity.has_options,
    requiredOptions: raw.entity.required_options,
    createdAt: raw.entity.created_at,
    updatedAt: raw.entity.updated_at,
    fields,
    texts,
    storeValues,
    categoryIds: links.map((link) => link.category_id),
    facets: {
      categories: links.map((link) => ({ id: link.category_id, name: raw.categoryNames.get(link.category_id) ?? String(link.category_id) })),
      color,
      size,
      price: price === undefined ? null : Number(price),
    },
    searchText,
    product,
  });
}

/** As the legacy: a percentage tier's value is worked out from the base price. */
function tierPrice(tier: RawProduct['tierPrices'][number], basePrice: string | undefined): MagentoTierPrice {
  const percentage = tier.percentage_value === null ? undefined : decimalNumber(tier.percentage_value);
  const value =
    percentage === undefined
      ? decimalNumber(tier.value)
      : Math.round(decimalNumber(basePrice ?? '0') * (100 - percentage) * 10_000) / 1_000_000;
  return {
    customer_group_id: tier.all_groups === 1 ? ALL_GROUPS_ID : tier.customer_group_id,
    qty: decimalNumber(tier.qty),
    value,
    extension_attributes: {
      ...(percentage === undefined ? {} : { percentage_value: percentage }),
      website_id: tier.website_id,
    },
  };
}

function stockItem(row: NonNullable<RawProduct['stockItem']>): MagentoStockItem {
  return {
    item_id: row.item_id,
    product_id: row.product_id,
    stock_id: row.stock_id,
    qty: row.qty === null ? null : decimalNumber(row.qty),
    is_in_stock: row.is_in_stock === 1,
    is_qty_decimal: false,
    show_default_notification_message: false,
    use_config_min_qty: true,
    min_qty: decimalNumber(row.min_qty),
    use_config_min_sale_qty: 1,
    min_sale_qty: decimalNumber(row.min_sale_qty),
    use_config_max_sale_qty: true,
    max_sale_qty: decimalNumber(row.max_sale_qty),
    use_config_backorders: true,
    backorders: 0,
    use_config_notify_stock_qty: true,
    notify_stock_qty: 1,
    use_config_qty_increments: true,
    qty_increments: 0,
    use_config_enable_qty_inc: true,
    enable_qty_increments: false,
    use_config_manage_stock: true,
    manage_stock: row.manage_stock === 1,
    low_stock_date: row.low_stock_date,
    is_decimal_divided: false,
    stock_status_changed_auto: 0,
  };
}
