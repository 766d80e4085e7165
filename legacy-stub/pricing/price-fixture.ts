import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../../platform/migrations.ts';
import { silentLogger } from '../../platform/logger.ts';
import { writeReferenceData } from '../seed/reference-data.ts';
import { hashPassword } from '../seed/password.ts';

/**
 * A small, hand-written catalog for the price and storefront tests: a few products whose prices
 * exercise every rule (special windows in the past, present and future, all-groups and group tiers,
 * fixed and percentage), a category, and a wholesale customer. Written with plain SQL so the tests
 * do not depend on the seed. The tests pin "now" to FIXTURE_NOW.
 */
export const FIXTURE_NOW = new Date('2026-03-15T12:00:00Z');
export const FIXTURE_PASSWORD = 'correct horse battery staple';

export interface FixtureTier {
  allGroups: boolean;
  customerGroupId: number;
  qty: string;
  value: string;
  percentageValue: string | null;
  websiteId?: number;
}

export interface FixtureProduct {
  sku: string;
  name: string;
  price: string;
  description?: string;
  special?: { price: string; from: string | null; to: string | null };
  tiers?: FixtureTier[];
  status?: number;
  visibility?: number;
}

export const fixtureProducts: FixtureProduct[] = [
  {
    sku: 'MH01',
    name: 'Chaz Kangeroo Hoodie',
    price: '52.000000',
    description: 'Ideal for cold-weather training or work outdoors, the Chaz Hoodie promises superior warmth & comfort.',
    special: { price: '45.000000', from: '2026-03-01 00:00:00', to: '2026-03-31 00:00:00' },
    tiers: [
      { allGroups: true, customerGroupId: 0, qty: '5', value: '40.000000', percentageValue: null },
      { allGroups: false, customerGroupId: 2, qty: '1', value: '0', percentageValue: '25.00' },
    ],
  },
  { sku: 'MT02', name: 'Tristan Endurance Tank', price: '29.990000', description: 'A plain tank <b>without</b> any deal.' },
  {
    sku: 'WS03',
    name: 'Iris Workout Top',
    price: '29.000000',
    special: { price: '19.000000', from: '2026-01-01 00:00:00', to: '2026-02-28 00:00:00' },
    tiers: [{ allGroups: false, customerGroupId: 1, qty: '10', value: '25.000000', percentageValue: null }],
  },
  {
    sku: 'MJ/04 x',
    name: 'Beaumont Summit Kit',
    price: '42.000000',
    special: { price: '30.000000', from: '2026-04-01 00:00:00', to: null },
  },
  { sku: 'OFF05', name: 'Disabled Product', price: '10.000000', status: 2 },
];

export const fixtureCustomers = [
  { email: 'wholesale@example.com', firstname: 'Walter', lastname: 'Wholesale', group_id: 2 },
  { email: 'general@example.com', firstname: 'Gina', lastname: 'General', group_id: 1 },
] as const;

/** Migrates the legacy schema into `url` and writes reference data, the fixture catalog and customers. */
export async function writePriceFixture(url: string): Promise<{ categoryId: number; productIds: Record<string, number> }> {
  await migrate(url, fileURLToPath(new URL('../schema', import.meta.url)), silentLogger());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await writeReferenceData(client);
    const root = await client.query<{ entity_id: number }>(
      "INSERT INTO catalog_category_entity (name, parent_id, level, path) VALUES ('Default Category', 0, 1, '1') RETURNING entity_id",
    );
    const category = await client.query<{ entity_id: number }>(
      "INSERT INTO catalog_category_entity (name, url_key, parent_id, level, path) VALUES ('Gear & <Tops>', 'gear', $1, 2, '1/2') RETURNING entity_id",
      [root.rows[0]!.entity_id],
    );
    const categoryId = category.rows[0]!.entity_id;
    const productIds: Record<string, number> = {};
    for (const [position, product] of fixtureProducts.entries()) {
      const id = await insertProduct(client, product);
      productIds[product.sku] = id;
      await client.query('INSERT INTO catalog_category_product (category_id, product_id, position) VALUES ($1, $2, $3)', [categoryId, id, position]);
    }
    for (const customer of fixtureCustomers) {
      await client.query(
        'INSERT INTO customer_entity (email, firstname, lastname, group_id, password_hash) VALUES ($1, $2, $3, $4, $5)',
        [customer.email, customer.firstname, customer.lastname, customer.group_id, await hashPassword(FIXTURE_PASSWORD)],
      );
    }
    await client.query('COMMIT');
    return { categoryId, productIds };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    await client.end();
  }
}

/** Inserts one product with its EAV rows at the admin store (0); returns its entity_id. */
export async function insertProduct(client: pg.ClientBase, product: FixtureProduct): Promise<number> {
  const { rows } = await client.query<{ entity_id: number }>(
    "INSERT INTO catalog_product_entity (sku, created_at, updated_at) VALUES ($1, '2026-01-01 00:00:00', '2026-01-01 00:00:00') RETURNING entity_id",
    [product.sku],
  );
  const id = rows[0]!.entity_id;
  const put = (table: string, code: string, value: unknown) =>
    client.query(
      `INSERT INTO ${table} (attribute_id, store_id, entity_id, value)
       SELECT attribute_id, 0, $2, $3 FROM eav_attribute WHERE entity_type_id = 4 AND attribute_code = $1`,
      [code, id, value],
    );
  await put('catalog_product_entity_varchar', 'name', product.name);
  await put('catalog_product_entity_varchar', 'url_key', product.sku.toLowerCase().replace(/[^a-z0-9]+/g, '-'));
  await put('catalog_product_entity_decimal', 'price', product.price);
  await put('catalog_product_entity_int', 'status', product.status ?? 1);
  await put('catalog_product_entity_int', 'visibility', product.visibility ?? 4);
  if (product.description) await put('catalog_product_entity_text', 'description', product.description);
  if (product.special) {
    await put('catalog_product_entity_decimal', 'special_price', product.special.price);
    if (product.special.from) await put('catalog_product_entity_datetime', 'special_from_date', product.special.from);
    if (product.special.to) await put('catalog_product_entity_datetime', 'special_to_date', product.special.to);
  }
  for (const tier of product.tiers ?? []) {
    await client.query(
      `INSERT INTO catalog_product_entity_tier_price (entity_id, all_groups, customer_group_id, qty, value, percentage_value, website_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, tier.allGroups ? 1 : 0, tier.customerGroupId, tier.qty, tier.value, tier.percentageValue, tier.websiteId ?? 0],
    );
  }
  await client.query('INSERT INTO cataloginventory_stock_item (product_id, qty, is_in_stock) VALUES ($1, 100, 1)', [id]);
  return id;
}
