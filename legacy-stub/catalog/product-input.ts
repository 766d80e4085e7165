import { z } from 'zod';
import { MagentoErrors } from '../api/magento-error.ts';

/**
 * The body of POST /V1/products and PUT /V1/products/:sku: `{ "product": { ... }, "saveOptions"?: bool }`,
 * the fields of Magento's ProductInterface a shop writes. Numbers may come as JSON numbers or as
 * numeric strings, as Magento's input processor accepts both. Only the fields sent are changed.
 * Attribute values are checked against the attribute dictionary later, in product-writer.ts.
 */
const decimalText = z
  .union([z.number().refine(Number.isFinite, 'must be a finite number'), z.string().trim().regex(/^-?\d{1,14}(\.\d+)?$/, 'must be a number')])
  .transform((value) => String(value));
const nonNegativeDecimal = decimalText.refine((value) => Number(value) >= 0, 'must not be negative');
const integer = z.union([z.number().int(), z.string().trim().regex(/^-?\d{1,9}$/, 'must be a whole number').transform(Number)]);
const flag = z.union([z.boolean(), z.literal(0), z.literal(1), z.enum(['0', '1', 'true', 'false'])]).transform((value) => value === true || value === 1 || value === '1' || value === 'true');

export const productTypes = ['simple', 'virtual', 'configurable', 'bundle', 'grouped', 'downloadable'] as const;

const customAttributeValue = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.union([z.string(), z.number()]))]);

const tierPriceSchema = z.strictObject({
  customer_group_id: integer,
  qty: nonNegativeDecimal,
  value: nonNegativeDecimal.optional(),
  extension_attributes: z
    .strictObject({
      percentage_value: decimalText.refine((value) => Number(value) > 0 && Number(value) <= 100, 'must be between 0 and 100').nullable().optional(),
      website_id: integer.optional(),
    })
    .optional(),
});

const categoryLinkSchema = z.strictObject({
  category_id: z.union([z.string().trim().regex(/^\d{1,9}$/, 'must be a category id'), z.number().int().nonnegative()]).transform(Number),
  position: integer.optional(),
  extension_attributes: z.record(z.string(), z.unknown()).optional(),
});

const stockItemSchema = z
  .object({
    qty: decimalText.nullable().optional(),
    is_in_stock: flag.optional(),
    min_qty: nonNegativeDecimal.optional(),
    min_sale_qty: nonNegativeDecimal.optional(),
    max_sale_qty: nonNegativeDecimal.optional(),
    manage_stock: flag.optional(),
  })
  // A client that read a stock item and sends it back carries the read-only fields (item_id,
  // use_config_*, ...): Magento accepts them, and so do we, ignoring them.
  .loose();

// Magento's read-only or unsupported collections: accepted when empty, so a product read by GET can be sent back.
const emptyList = z.array(z.unknown()).max(0, 'is not supported by this shop; send an empty list').optional();

const productSchema = z.strictObject({
  id: z.unknown().optional(),
  sku: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters').optional(),
  name: z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters').optional(),
  attribute_set_id: integer.refine((id) => id > 0, 'must be a positive attribute set id').optional(),
  price: nonNegativeDecimal.optional(),
  status: integer.refine((status) => status === 1 || status === 2, 'must be 1 (enabled) or 2 (disabled)').optional(),
  visibility: integer.refine((visibility) => visibility >= 1 && visibility <= 4, 'must be 1, 2, 3 or 4').optional(),
  type_id: z.enum(productTypes, { error: `must be one of ${productTypes.join(', ')}` }).optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  weight: nonNegativeDecimal.nullable().optional(),
  extension_attributes: z
    .strictObject({
      website_ids: z.array(integer).optional(),
      category_links: z.array(categoryLinkSchema).optional(),
      stock_item: stockItemSchema.optional(),
    })
    .optional(),
  product_links: emptyList,
  options: emptyList,
  media_gallery_entries: emptyList,
  tier_prices: z.array(tierPriceSchema).optional(),
  custom_attributes: z.array(z.strictObject({ attribute_code: z.string().min(1, 'must not be empty'), value: customAttributeValue })).optional(),
});

const bodySchema = z.strictObject({ product: productSchema, saveOptions: z.boolean().optional() });

export interface TierPriceInput {
  customerGroupId: number;
  qty: string;
  value: string | undefined;
  percentageValue: string | null;
  websiteId: number;
}

export interface ProductInput {
  sku: string | undefined;
  name: string | undefined;
  attributeSetId: number | undefined;
  price: string | undefined;
  status: number | undefined;
  visibility: number | undefined;
  typeId: string | undefined;
  /** `null` removes the weight. */
  weight: string | null | undefined;
  customAttributes: ReadonlyArray<{ code: string; value: unknown; path: string }>;
  categoryLinks: ReadonlyArray<{ categoryId: number; position: number; path: string }> | undefined;
  tierPrices: ReadonlyArray<TierPriceInput & { path: string }> | undefined;
  stockItem:
    | { qty?: string | null; isInStock?: boolean; minQty?: string; minSaleQty?: string; maxSaleQty?: string; manageStock?: boolean }
    | undefined;
}

/** Parses a request body; a 400 in Magento's shape names the first bad field (`product.tier_prices[0].qty`). */
export function parseProductBody(body: unknown): ProductInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('product' in body)) {
    throw MagentoErrors.requiredField('product');
  }
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = [...issue.path];
    if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
    const detail = issue.code === 'unrecognized_keys' ? 'This field is not known to Magento\'s product interface.' : capitalise(issue.message);
    throw MagentoErrors.invalidField(fieldName(path), detail);
  }
  const product = parsed.data.product;
  const links = product.extension_attributes?.category_links;
  const stock = product.extension_attributes?.stock_item;
  return Object.freeze({
    sku: product.sku,
    name: product.name,
    attributeSetId: product.attribute_set_id,
    price: product.price,
    status: product.status,
    visibility: product.visibility,
    typeId: product.type_id,
    weight: product.weight,
    customAttributes: (product.custom_attributes ?? []).map((attribute, index) => ({
      code: attribute.attribute_code,
      value: attribute.value,
      path: `product.custom_attributes[${index}]`,
    })),
    categoryLinks: links?.map((link, index) => ({
      categoryId: link.category_id,
      position: link.position ?? 0,
      path: `product.extension_attributes.category_links[${index}]`,
    })),
    tierPrices: product.tier_prices?.map((tier, index) => ({
      customerGroupId: tier.customer_group_id,
      qty: tier.qty,
      value: tier.value,
      percentageValue: tier.extension_attributes?.percentage_value ?? null,
      websiteId: tier.extension_attributes?.website_id ?? 0,
      path: `product.tier_prices[${index}]`,
    })),
    stockItem: stock && {
      ...(stock.qty === undefined ? {} : { qty: stock.qty }),
      ...(stock.is_in_stock === undefined ? {} : { isInStock: stock.is_in_stock }),
      ...(stock.min_qty === undefined ? {} : { minQty: stock.min_qty }),
      ...(stock.min_sale_qty === undefined ? {} : { minSaleQty: stock.min_sale_qty }),
      ...(stock.max_sale_qty === undefined ? {} : { maxSaleQty: stock.max_sale_qty }),
      ...(stock.manage_stock === undefined ? {} : { manageStock: stock.manage_stock }),
    },
  });
}

function fieldName(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((name, segment) => (typeof segment === 'number' ? `${name}[${segment}]` : name ? `${name}.${String(segment)}` : String(segment)), '');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
