/**
 * The product as Magento 2's REST API returns it (Magento\Catalog\Api\Data\ProductInterface,
 * serialised by the Web API's output processor: snake_case keys, null fields left out).
 *
 * Number formatting, as Magento's: the interface's typed fields are JSON numbers (price 45 or
 * 22.5, weight 1.2, status 1, qty 100), while custom_attributes are the stored values as strings
 * (`"special_price": "39.000000"`, dates as "2024-05-01 00:00:00", option ids as "12").
 */
export interface MagentoProduct {
  id: number;
  sku: string;
  name?: string;
  attribute_set_id: number;
  price?: number;
  status?: number;
  visibility?: number;
  type_id: string;
  created_at: string;
  updated_at: string;
  weight?: number;
  extension_attributes: {
    website_ids: number[];
    category_links: Array<{ position: number; category_id: string }>;
    stock_item?: MagentoStockItem;
  };
  product_links: never[];
  options: never[];
  media_gallery_entries: never[];
  tier_prices: MagentoTierPrice[];
  custom_attributes: Array<{ attribute_code: string; value: string | string[] }>;
}

export interface MagentoTierPrice {
  customer_group_id: number;
  qty: number;
  value: number;
  extension_attributes: { percentage_value?: number; website_id: number };
}

/** Magento\CatalogInventory\Api\Data\StockItemInterface; the use_config_* fields say "the shop's defaults apply". */
export interface MagentoStockItem {
  item_id: number;
  product_id: number;
  stock_id: number;
  qty: number | null;
  is_in_stock: boolean;
  is_qty_decimal: boolean;
  show_default_notification_message: boolean;
  use_config_min_qty: boolean;
  min_qty: number;
  use_config_min_sale_qty: number;
  min_sale_qty: number;
  use_config_max_sale_qty: boolean;
  max_sale_qty: number;
  use_config_backorders: boolean;
  backorders: number;
  use_config_notify_stock_qty: boolean;
  notify_stock_qty: number;
  use_config_qty_increments: boolean;
  qty_increments: number;
  use_config_enable_qty_inc: boolean;
  enable_qty_increments: boolean;
  use_config_manage_stock: boolean;
  manage_stock: boolean;
  low_stock_date: string | null;
  is_decimal_divided: boolean;
  stock_status_changed_auto: number;
}

/** The attributes ProductInterface has getters for; every other attribute goes to custom_attributes. */
export const interfaceAttributes: ReadonlySet<string> = new Set(['sku', 'name', 'price', 'status', 'visibility', 'weight']);

/** A stored decimal ("45.000000") as the JSON number Magento prints (45). */
export function decimalNumber(text: string): number {
  // Six decimals at most in the schema, so a double holds every price exactly enough for JSON.
  return Number(text);
}
