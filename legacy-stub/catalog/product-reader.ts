import { ALL_GROUPS_ID } from '../seed/reference-data.ts';
import type { AttributeDictionary, Queryable } from './attribute-dictionary.ts';
import { decimalNumber, interfaceAttributes, type MagentoProduct, type MagentoStockItem, type MagentoTierPrice } from './magento-product.ts';

const TIMESTAMP = "'YYYY-MM-DD HH24:MI:SS'";

/**
 * Loads products in Magento's REST shape, a whole page at once: five queries whatever the number
 * of products (entities, all EAV values, tier prices, category links, stock), never one per product.
 * Answers them in the order of `ids`; ids that do not exist are left out.
 */
export async function readProducts(db: Queryable, ids: readonly number[], dictionary: AttributeDictionary): Promise<MagentoProduct[]> {
  if (ids.length === 0) return [];
  const idArray = [ids];
  const entities = await db.query<{
    entity_id: number;
    sku: string;
    type_id: string;
    attribute_set_id: number;
    has_options: number;
    required_options: number;
    created_at: string;
    updated_at: string;
  }>(
    `SELECT entity_id, sku, type_id, attribute_set_id, has_options, required_options,
            to_char(created_at, ${TIMESTAMP}) AS created_at, to_char(updated_at, ${TIMESTAMP}) AS updated_at
       FROM catalog_product_entity WHERE entity_id = ANY($1::int[])`,
    idArray,
  );
  const values = await db.query<{ entity_id: number; attribute_id: number; value: string | null }>(
    `SELECT entity_id, attribute_id, value FROM catalog_product_entity_varchar WHERE entity_id = ANY($1::int[]) AND store_id = 0
     UNION ALL SELECT entity_id, attribute_id, value::text FROM catalog_product_entity_int WHERE entity_id = ANY($1::int[]) AND store_id = 0
     UNION ALL SELECT entity_id, attribute_id, value::text FROM catalog_product_entity_decimal WHERE entity_id = ANY($1::int[]) AND store_id = 0
     UNION ALL SELECT entity_id, attribute_id, value FROM catalog_product_entity_text WHERE entity_id = ANY($1::int[]) AND store_id = 0
     UNION ALL SELECT entity_id, attribute_id, to_char(value, ${TIMESTAMP}) FROM catalog_product_entity_datetime WHERE entity_id = ANY($1::int[]) AND store_id = 0`,
    idArray,
  );
  const tiers = await db.query<{
    entity_id: number;
    all_groups: number;
    customer_group_id: number;
    qty: string;
    value: string;
    percentage_value: string | null;
    website_id: number;
  }>(
    // Ordered by the numeric column: a bare `qty` here would name the `qty::text` output column
    // and sort '10.0000' before '5.0000'.
    `SELECT entity_id, all_groups, customer_group_id, qty::text, value::text, percentage_value::text, website_id
       FROM catalog_product_entity_tier_price t WHERE entity_id = ANY($1::int[])
      ORDER BY t.entity_id, t.website_id, t.all_groups DESC, t.customer_group_id, t.qty`,
    idArray,
  );
  const links = await db.query<{ product_id: number; category_id: number; position: number }>(
    `SELECT product_id, category_id, position FROM catalog_category_product
      WHERE product_id = ANY($1::int[]) ORDER BY product_id, category_id`,
    idArray,
  );
  const stock = await db.query<{
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
  }>(
    `SELECT item_id, product_id, stock_id, qty::text, min_qty::text, min_sale_qty::text, max_sale_qty::text,
            is_in_stock, manage_stock, to_char(low_stock_date, ${TIMESTAMP}) AS low_stock_date
       FROM cataloginventory_stock_item WHERE product_id = ANY($1::int[])`,
    idArray,
  );

  const valuesOf = groupBy(values.rows, (row) => row.entity_id);
  const tiersOf = groupBy(tiers.rows, (row) => row.entity_id);
  const linksOf = groupBy(links.rows, (row) => row.product_id);
  const stockOf = new Map(stock.rows.map((row) => [row.product_id, row]));
  const byId = new Map<number, MagentoProduct>();
  for (const entity of entities.rows) {
    const attributes = new Map<string, string>();
    for (const row of valuesOf.get(entity.entity_id) ?? []) {
      const definition = dictionary.byId.get(row.attribute_id);
      if (definition && row.value !== null) attributes.set(definition.code, row.value);
    }
    const price = attributes.get('price');
    const weight = attributes.get('weight');
    const status = attributes.get('status');
    const visibility = attributes.get('visibility');
    const name = attributes.get('name');
    const categoryLinks = (linksOf.get(entity.entity_id) ?? []).map((link) => ({
      position: link.position,
      category_id: String(link.category_id),
    }));
    const stockRow = stockOf.get(entity.entity_id);

    // custom_attributes in the dictionary's order, then what Magento adds from the entity itself.
    const custom: MagentoProduct['custom_attributes'] = [];
    for (const definition of dictionary.byCode.values()) {
      if (interfaceAttributes.has(definition.code)) continue;
      const value = attributes.get(definition.code);
      if (value !== undefined) custom.push({ attribute_code: definition.code, value });
    }
    if (categoryLinks.length > 0) custom.push({ attribute_code: 'category_ids', value: categoryLinks.map((link) => link.category_id) });
    custom.push({ attribute_code: 'has_options', value: String(entity.has_options) });
    custom.push({ attribute_code: 'required_options', value: String(entity.required_options) });

    const product: MagentoProduct = {
      id: entity.entity_id,
      sku: entity.sku,
      ...(name === undefined ? {} : { name }),
      attribute_set_id: entity.attribute_set_id,
      ...(price === undefined ? {} : { price: decimalNumber(price) }),
      ...(status === undefined ? {} : { status: Number(status) }),
      ...(visibility === undefined ? {} : { visibility: Number(visibility) }),
      type_id: entity.type_id,
      created_at: entity.created_at,
      updated_at: entity.updated_at,
      ...(weight === undefined ? {} : { weight: decimalNumber(weight) }),
      extension_attributes: {
        website_ids: [1],
        category_links: categoryLinks,
        ...(stockRow ? { stock_item: stockItem(stockRow) } : {}),
      },
      product_links: [],
      options: [],
      media_gallery_entries: [],
      tier_prices: (tiersOf.get(entity.entity_id) ?? []).map((tier) => tierPrice(tier, price)),
      custom_attributes: custom,
    };
    byId.set(entity.entity_id, product);
  }
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/**
 * Magento's Tierprice backend reports a percentage tier with `value` already worked out from the
 * base price (price × (1 − percentage / 100)) and the percentage in extension_attributes.
 */
function tierPrice(
  tier: { all_groups: number; customer_group_id: number; qty: string; value: string; percentage_value: string | null; website_id: number },
  basePrice: string | undefined,
): MagentoTierPrice {
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

function stockItem(row: {
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
}): MagentoStockItem {
  // Our schema keeps the fields a shop changes; the rest are Magento's defaults for a simple product.
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

function groupBy<T, K>(rows: readonly T[], key: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}
