import type pg from 'pg';

/**
 * The shop's reference data, as a Magento 2 installation ships it: websites and store views,
 * customer groups, the product attribute dictionary and the options of select attributes.
 * Attribute ids are assigned by the database in this order; nothing outside the legacy may
 * rely on them (the extracted services resolve attribute codes from the CDC stream).
 */
export const websites = [
  { website_id: 0, code: 'admin', name: 'Admin', is_default: 0 },
  { website_id: 1, code: 'base', name: 'Main Website', is_default: 1 },
] as const;

export const stores = [
  { store_id: 0, code: 'admin', website_id: 0, name: 'Admin' },
  { store_id: 1, code: 'default', website_id: 1, name: 'Default Store View' },
] as const;

export const customerGroups = [
  { customer_group_id: 0, customer_group_code: 'NOT LOGGED IN' },
  { customer_group_id: 1, customer_group_code: 'General' },
  { customer_group_id: 2, customer_group_code: 'Wholesale' },
  { customer_group_id: 3, customer_group_code: 'Retailer' },
] as const;

/** Magento's id for "all customer groups" in the REST API's tier prices. */
export const ALL_GROUPS_ID = 32000;

export type BackendType = 'static' | 'varchar' | 'int' | 'decimal' | 'text' | 'datetime';

export const productAttributes: ReadonlyArray<{
  attribute_code: string;
  backend_type: BackendType;
  frontend_input: string;
  frontend_label: string;
  is_required?: number;
}> = [
  { attribute_code: 'sku', backend_type: 'static', frontend_input: 'text', frontend_label: 'SKU', is_required: 1 },
  { attribute_code: 'name', backend_type: 'varchar', frontend_input: 'text', frontend_label: 'Product Name', is_required: 1 },
  { attribute_code: 'price', backend_type: 'decimal', frontend_input: 'price', frontend_label: 'Price', is_required: 1 },
  { attribute_code: 'special_price', backend_type: 'decimal', frontend_input: 'price', frontend_label: 'Special Price' },
  { attribute_code: 'special_from_date', backend_type: 'datetime', frontend_input: 'date', frontend_label: 'Special Price From Date' },
  { attribute_code: 'special_to_date', backend_type: 'datetime', frontend_input: 'date', frontend_label: 'Special Price To Date' },
  { attribute_code: 'cost', backend_type: 'decimal', frontend_input: 'price', frontend_label: 'Cost' },
  { attribute_code: 'weight', backend_type: 'decimal', frontend_input: 'weight', frontend_label: 'Weight' },
  { attribute_code: 'status', backend_type: 'int', frontend_input: 'select', frontend_label: 'Enable Product', is_required: 1 },
  { attribute_code: 'visibility', backend_type: 'int', frontend_input: 'select', frontend_label: 'Visibility', is_required: 1 },
  { attribute_code: 'tax_class_id', backend_type: 'int', frontend_input: 'select', frontend_label: 'Tax Class' },
  { attribute_code: 'color', backend_type: 'int', frontend_input: 'select', frontend_label: 'Color' },
  { attribute_code: 'size', backend_type: 'int', frontend_input: 'select', frontend_label: 'Size' },
  { attribute_code: 'description', backend_type: 'text', frontend_input: 'textarea', frontend_label: 'Description' },
  { attribute_code: 'short_description', backend_type: 'text', frontend_input: 'textarea', frontend_label: 'Short Description' },
  { attribute_code: 'url_key', backend_type: 'varchar', frontend_input: 'text', frontend_label: 'URL Key' },
  { attribute_code: 'meta_title', backend_type: 'varchar', frontend_input: 'text', frontend_label: 'Meta Title' },
  { attribute_code: 'meta_description', backend_type: 'varchar', frontend_input: 'textarea', frontend_label: 'Meta Description' },
  { attribute_code: 'material', backend_type: 'varchar', frontend_input: 'text', frontend_label: 'Material' },
  { attribute_code: 'news_from_date', backend_type: 'datetime', frontend_input: 'date', frontend_label: 'Set Product as New from Date' },
];

/** The options of the select attributes, in sort order. */
export const attributeOptions: Readonly<Record<string, readonly string[]>> = {
  color: ['Black', 'White', 'Red', 'Blue', 'Green', 'Yellow', 'Gray', 'Purple', 'Orange', 'Brown'],
  size: ['XS', 'S', 'M', 'L', 'XL', 'XXL'],
};

/** Writes the reference data; idempotent, so a re-run of the seed changes nothing. */
export async function writeReferenceData(client: pg.ClientBase): Promise<void> {
  for (const w of websites) {
    await client.query(
      'INSERT INTO store_website (website_id, code, name, is_default) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [w.website_id, w.code, w.name, w.is_default],
    );
  }
  for (const s of stores) {
    await client.query(
      'INSERT INTO store (store_id, code, website_id, name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [s.store_id, s.code, s.website_id, s.name],
    );
  }
  for (const g of customerGroups) {
    await client.query(
      'INSERT INTO customer_group (customer_group_id, customer_group_code) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [g.customer_group_id, g.customer_group_code],
    );
  }
  for (const a of productAttributes) {
    await client.query(
      `INSERT INTO eav_attribute (entity_type_id, attribute_code, backend_type, frontend_input, frontend_label, is_required)
       VALUES (4, $1, $2, $3, $4, $5) ON CONFLICT (entity_type_id, attribute_code) DO NOTHING`,
      [a.attribute_code, a.backend_type, a.frontend_input, a.frontend_label, a.is_required ?? 0],
    );
  }
  for (const [code, labels] of Object.entries(attributeOptions)) {
    const { rows } = await client.query<{ attribute_id: number; existing: string }>(
      `SELECT a.attribute_id, count(o.option_id)::text AS existing
         FROM eav_attribute a LEFT JOIN eav_attribute_option o USING (attribute_id)
        WHERE a.entity_type_id = 4 AND a.attribute_code = $1 GROUP BY a.attribute_id`,
      [code],
    );
    const attribute = rows[0];
    if (!attribute || Number(attribute.existing) > 0) continue;
    for (const [index, label] of labels.entries()) {
      const option = await client.query<{ option_id: number }>(
        'INSERT INTO eav_attribute_option (attribute_id, sort_order) VALUES ($1, $2) RETURNING option_id',
        [attribute.attribute_id, index],
      );
      await client.query('INSERT INTO eav_attribute_option_value (option_id, store_id, value) VALUES ($1, 0, $2)', [
        option.rows[0]!.option_id,
        label,
      ]);
    }
  }
}
