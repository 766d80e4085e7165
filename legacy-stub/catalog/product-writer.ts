import type pg from 'pg';
import { MagentoErrors } from '../api/magento-error.ts';
import { ALL_GROUPS_ID, customerGroups, type BackendType } from '../seed/reference-data.ts';
import type { AttributeDefinition, AttributeDictionary } from './attribute-dictionary.ts';
import { formatMagentoDate, parseMagentoDate } from './magento-date.ts';
import type { ProductInput } from './product-input.ts';

export type SaveMode =
  /** POST /V1/products: Magento's ProductRepository::save creates the sku, or updates it when it exists. */
  | 'upsert'
  /** PUT /V1/products/:sku: the product must exist. */
  | 'update';

type EavType = Exclude<BackendType, 'static'>;
// Attributes a client may send back from a GET that are not EAV values here; accepted, ignored.
const readOnlyCustomAttributes = new Set(['has_options', 'required_options']);

/**
 * Writes one product from Magento's REST body in the caller's transaction: the entity row
 * (updated_at bumped to `now`), every EAV value sent (a null or empty value removes it), and,
 * when sent, the whole set of tier prices, category links and the stock item. Answers the
 * entity_id. Every check runs before anything is written where it can; the caller rolls back
 * on any error, so a bad request changes nothing.
 */
export async function writeProduct(
  client: pg.ClientBase,
  input: ProductInput,
  options: { mode: SaveMode; sku: string; now: Date; dictionary: AttributeDictionary },
): Promise<number> {
  const { dictionary } = options;
  const now = formatMagentoDate(options.now);
  const values = collectValues(input, dictionary);
  const categoryLinks = input.categoryLinks ?? categoryIdsAttribute(input);

  const existing = await client.query<{ entity_id: number }>('SELECT entity_id FROM catalog_product_entity WHERE sku = $1 FOR UPDATE', [options.sku]);
  let entityId = existing.rows[0]?.entity_id;
  const creating = entityId === undefined;
  if (creating && options.mode === 'update') throw MagentoErrors.productNotFound();
  if (creating) {
    if (input.name === undefined && !values.has('name')) throw MagentoErrors.requiredField('product.name');
    if (input.price === undefined && !values.has('price')) throw MagentoErrors.requiredField('product.price');
  }
  for (const code of ['name', 'price'] as const) {
    if (values.has(code) && values.get(code)!.value === null) throw MagentoErrors.requiredField(`product.${code}`);
  }
  await checkOptions(values);
  if (categoryLinks) await checkCategories(client, categoryLinks);
  const tiers = input.tierPrices?.map(tierRow);
  if (tiers) checkTierDuplicates(tiers);

  if (creating) {
    // ON CONFLICT: two clients may create the same sku at once; the second one updates it.
    const inserted = await client.query<{ entity_id: number }>(
      `INSERT INTO catalog_product_entity (sku, type_id, attribute_set_id, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $4) ON CONFLICT (sku) DO UPDATE SET updated_at = EXCLUDED.updated_at RETURNING entity_id`,
      [options.sku, input.typeId ?? 'simple', input.attributeSetId ?? 4, now],
    );
    entityId = inserted.rows[0]!.entity_id;
    // Magento's defaults for a new product: enabled, visible in catalog and search, taxable goods.
    const defaults: Array<[string, string]> = [
      ['status', '1'],
      ['visibility', '4'],
      ['tax_class_id', '2'],
      ['url_key', urlKey(input.name ?? String(values.get('name')?.value ?? options.sku))],
    ];
    for (const [code, value] of defaults) {
      const attribute = dictionary.byCode.get(code);
      if (attribute && !values.has(code)) values.set(code, { attribute, value, path: `product.${code}` });
    }
  } else {
    await client.query(
      `UPDATE catalog_product_entity SET type_id = coalesce($2, type_id), attribute_set_id = coalesce($3, attribute_set_id), updated_at = $4
        WHERE entity_id = $1`,
      [entityId, input.typeId ?? null, input.attributeSetId ?? null, now],
    );
  }
  const id = entityId!;

  await writeValues(client, id, [...values.values()]);
  if (tiers) {
    await client.query('DELETE FROM catalog_product_entity_tier_price WHERE entity_id = $1', [id]);
    if (tiers.length > 0) {
      await client.query(
        `INSERT INTO catalog_product_entity_tier_price (entity_id, all_groups, customer_group_id, qty, value, percentage_value, website_id)
         SELECT $1, a, g, q, v, p, w FROM unnest($2::int[], $3::int[], $4::numeric[], $5::numeric[], $6::numeric[], $7::int[]) AS u(a, g, q, v, p, w)`,
        [
          id,
          tiers.map((t) => t.allGroups),
          tiers.map((t) => t.customerGroupId),
          tiers.map((t) => t.qty),
          tiers.map((t) => t.value),
          tiers.map((t) => t.percentageValue),
          tiers.map((t) => t.websiteId),
        ],
      );
    }
  }
  if (categoryLinks) {
    await client.query('DELETE FROM catalog_category_product WHERE product_id = $1', [id]);
    if (categoryLinks.length > 0) {
      await client.query(
        `INSERT INTO catalog_category_product (category_id, product_id, position)
         SELECT c, $1, p FROM unnest($2::int[], $3::int[]) AS u(c, p) ON CONFLICT (category_id, product_id) DO UPDATE SET position = EXCLUDED.position`,
        [id, categoryLinks.map((link) => link.categoryId), categoryLinks.map((link) => link.position)],
      );
    }
  }
  const stock = input.stockItem;
  if (stock || creating) {
    // Magento creates a stock item with every product; a new one without stock data is out of stock.
    await client.query(
      `INSERT INTO cataloginventory_stock_item (product_id, stock_id, qty, is_in_stock, min_qty, min_sale_qty, max_sale_qty, manage_stock)
       VALUES ($1, 1, coalesce($2::numeric, 0), coalesce($3::int, 0), coalesce($4::numeric, 0), coalesce($5::numeric, 1), coalesce($6::numeric, 10000), coalesce($7::int, 1))
       ON CONFLICT (product_id) DO UPDATE SET
         qty = CASE WHEN $8 THEN $2::numeric ELSE cataloginventory_stock_item.qty END,
         is_in_stock = coalesce($3::int, cataloginventory_stock_item.is_in_stock),
         min_qty = coalesce($4::numeric, cataloginventory_stock_item.min_qty),
         min_sale_qty = coalesce($5::numeric, cataloginventory_stock_item.min_sale_qty),
         max_sale_qty = coalesce($6::numeric, cataloginventory_stock_item.max_sale_qty),
         manage_stock = coalesce($7::int, cataloginventory_stock_item.manage_stock)`,
      [
        id,
        stock?.qty ?? null,
        stock?.isInStock === undefined ? null : Number(stock.isInStock),
        stock?.minQty ?? null,
        stock?.minSaleQty ?? null,
        stock?.maxSaleQty ?? null,
        stock?.manageStock === undefined ? null : Number(stock.manageStock),
        stock !== undefined && 'qty' in stock,
      ],
    );
  }
  return id;
}

/** Deletes a product and, by the schema's cascades, its values, prices, links and stock. */
export async function deleteProduct(client: pg.ClientBase, sku: string): Promise<boolean> {
  const { rowCount } = await client.query('DELETE FROM catalog_product_entity WHERE sku = $1', [sku]);
  return (rowCount ?? 0) > 0;
}

interface ValueWrite {
  attribute: AttributeDefinition;
  /** The text PostgreSQL casts into the value column; null removes the row. */
  value: string | null;
  path: string;
}

/** The interface fields and custom_attributes as typed values; interface fields win over custom ones. */
function collectValues(input: ProductInput, dictionary: AttributeDictionary): Map<string, ValueWrite> {
  const values = new Map<string, ValueWrite>();
  for (const { code, value, path } of input.customAttributes) {
    if (code === 'category_ids' || readOnlyCustomAttributes.has(code)) continue;
    const attribute = dictionary.byCode.get(code);
    if (!attribute || attribute.backendType === 'static') {
      throw MagentoErrors.invalidField(`${path}.attribute_code`, `There is no product attribute "${code}".`);
    }
    values.set(code, { attribute, value: attributeValue(attribute, value, `${path}.value`), path: `${path}.value` });
  }
  const interfaceFields: Array<[string, string | null | undefined]> = [
    ['name', input.name],
    ['price', input.price],
    ['status', input.status === undefined ? undefined : String(input.status)],
    ['visibility', input.visibility === undefined ? undefined : String(input.visibility)],
    ['weight', input.weight],
  ];
  for (const [code, value] of interfaceFields) {
    if (value === undefined) continue;
    const attribute = dictionary.byCode.get(code);
    if (!attribute) throw new Error(`the attribute dictionary has no "${code}"; is the legacy database seeded?`);
    values.set(code, { attribute, value, path: `product.${code}` });
  }
  return values;
}

/** A custom attribute's value checked against its backend type, as the text to store. */
function attributeValue(attribute: AttributeDefinition, raw: unknown, path: string): string | null {
  if (raw === null || raw === '') return null;
  if (Array.isArray(raw)) throw MagentoErrors.invalidField(path, 'A list is only accepted for category_ids.');
  const text = typeof raw === 'boolean' ? (raw ? '1' : '0') : String(raw).trim();
  switch (attribute.backendType as EavType) {
    case 'varchar':
      if (text.length > 255) throw MagentoErrors.invalidField(path, 'The value must be at most 255 characters.');
      return String(raw);
    case 'text':
      return String(raw);
    case 'int':
      if (!/^-?\d{1,9}$/.test(text)) throw MagentoErrors.invalidField(path, 'The value must be a whole number.');
      if (attribute.code === 'status' && text !== '1' && text !== '2') throw MagentoErrors.invalidField(path, 'Status must be 1 (enabled) or 2 (disabled).');
      if (attribute.code === 'visibility' && !['1', '2', '3', '4'].includes(text)) throw MagentoErrors.invalidField(path, 'Visibility must be 1, 2, 3 or 4.');
      return text;
    case 'decimal':
      if (!/^-?\d{1,14}(\.\d{1,6})?$/.test(text)) throw MagentoErrors.invalidField(path, 'The value must be a number.');
      return text;
    case 'datetime': {
      const date = parseMagentoDate(text);
      if (!date) throw MagentoErrors.invalidField(path, 'The value must be a date (YYYY-MM-DD or YYYY-MM-DD hh:mm:ss).');
      return date;
    }
  }
}

/** Select attributes with an option list (color, size) take only the ids of their options. */
async function checkOptions(values: Map<string, ValueWrite>): Promise<void> {
  for (const { attribute, value, path } of values.values()) {
    if (value === null || attribute.optionIds.size === 0) continue;
    if (!attribute.optionIds.has(Number(value))) {
      throw MagentoErrors.invalidField(path, `${value} is not an option of "${attribute.code}".`);
    }
  }
}

/** Magento also takes categories as custom attribute category_ids: ["3", "5"]. */
function categoryIdsAttribute(input: ProductInput): Array<{ categoryId: number; position: number; path: string }> | undefined {
  const attribute = input.customAttributes.find((item) => item.code === 'category_ids');
  if (!attribute) return undefined;
  const ids = attribute.value === null || attribute.value === '' ? [] : Array.isArray(attribute.value) ? attribute.value : String(attribute.value).split(',');
  return ids.map((id) => {
    const text = String(id).trim();
    if (!/^\d{1,9}$/.test(text)) throw MagentoErrors.invalidField(`${attribute.path}.value`, `"${text}" is not a category id.`);
    return { categoryId: Number(text), position: 0, path: `${attribute.path}.value` };
  });
}

async function checkCategories(client: pg.ClientBase, links: ReadonlyArray<{ categoryId: number; path: string }>): Promise<void> {
  if (links.length === 0) return;
  const { rows } = await client.query<{ entity_id: number }>('SELECT entity_id FROM catalog_category_entity WHERE entity_id = ANY($1::int[])', [
    links.map((link) => link.categoryId),
  ]);
  const known = new Set(rows.map((row) => row.entity_id));
  const missing = links.find((link) => !known.has(link.categoryId));
  if (missing) {
    const field = missing.path.endsWith('.value') ? missing.path : `${missing.path}.category_id`;
    throw MagentoErrors.invalidField(field, `There is no category with id ${missing.categoryId}.`);
  }
}

interface TierRow {
  allGroups: number;
  customerGroupId: number;
  qty: string;
  value: string;
  percentageValue: string | null;
  websiteId: number;
  path: string;
}

const knownGroups = new Set<number>(customerGroups.map((group) => group.customer_group_id));

function tierRow(tier: NonNullable<ProductInput['tierPrices']>[number]): TierRow {
  const all = tier.customerGroupId === ALL_GROUPS_ID;
  if (!all && !knownGroups.has(tier.customerGroupId)) {
    throw MagentoErrors.invalidField(`${tier.path}.customer_group_id`, `There is no customer group ${tier.customerGroupId}; use ${ALL_GROUPS_ID} for all groups.`);
  }
  if (tier.websiteId !== 0 && tier.websiteId !== 1) throw MagentoErrors.invalidField(`${tier.path}.extension_attributes.website_id`, 'The website must be 0 (all) or 1.');
  if (Number(tier.qty) <= 0) throw MagentoErrors.invalidField(`${tier.path}.qty`, 'The quantity must be greater than 0.');
  if (tier.percentageValue === null && tier.value === undefined) throw MagentoErrors.requiredField(`${tier.path}.value`);
  return {
    allGroups: all ? 1 : 0,
    customerGroupId: all ? 0 : tier.customerGroupId,
    qty: tier.qty,
    // A percentage tier stores value 0, as Magento's catalog_product_entity_tier_price does.
    value: tier.percentageValue === null ? tier.value! : '0',
    percentageValue: tier.percentageValue,
    websiteId: tier.websiteId,
    path: tier.path,
  };
}

function checkTierDuplicates(tiers: readonly TierRow[]): void {
  const seen = new Set<string>();
  for (const tier of tiers) {
    const key = `${tier.allGroups}/${tier.customerGroupId}/${Number(tier.qty)}/${tier.websiteId}`;
    if (seen.has(key)) throw MagentoErrors.invalidField(tier.path, 'Another tier price has the same group, quantity and website.');
    seen.add(key);
  }
}

async function writeValues(client: pg.ClientBase, entityId: number, values: readonly ValueWrite[]): Promise<void> {
  const types: EavType[] = ['varchar', 'int', 'decimal', 'text', 'datetime'];
  const cast = { varchar: 'varchar', int: 'int', decimal: 'numeric', text: 'text', datetime: 'timestamp' } as const;
  for (const type of types) {
    const ofType = values.filter((item) => item.attribute.backendType === type);
    const upserts = ofType.filter((item) => item.value !== null);
    const removals = ofType.filter((item) => item.value === null);
    if (upserts.length > 0) {
      await client.query(
        `INSERT INTO catalog_product_entity_${type} (entity_id, attribute_id, store_id, value)
         SELECT $1, a, 0, v FROM unnest($2::int[], $3::${cast[type]}[]) AS u(a, v)
         ON CONFLICT (entity_id, attribute_id, store_id) DO UPDATE SET value = EXCLUDED.value
         WHERE catalog_product_entity_${type}.value IS DISTINCT FROM EXCLUDED.value`,
        [entityId, upserts.map((item) => item.attribute.id), upserts.map((item) => item.value)],
      );
    }
    if (removals.length > 0) {
      await client.query(`DELETE FROM catalog_product_entity_${type} WHERE entity_id = $1 AND attribute_id = ANY($2::int[])`, [
        entityId,
        removals.map((item) => item.attribute.id),
      ]);
    }
  }
}

function urlKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}
