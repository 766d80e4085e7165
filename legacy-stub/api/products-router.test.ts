import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pg from 'pg';
import { migrate } from '../../platform/migrations.ts';
import { silentLogger } from '../../platform/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { seedLegacy } from '../seed/seed.ts';
import { createLegacyApp } from '../app.ts';
import type { MagentoProduct } from '../catalog/magento-product.ts';

// The legacy app's catalog endpoints over real HTTP (the whole app, as main.ts serves it),
// against a seeded catalog of 200 products.
const PRODUCTS = 200;
const SEEDED_AT = new Date('2025-06-15T12:00:00Z');
const NOT_FOUND = "The product that was requested doesn't exist. Verify the product and try again.";

let db: TestDatabase;
let pool: pg.Pool;
let server: Server;
let base: string;
let now = SEEDED_AT;
/** Every seeded product as the API lists it, entity_id order: the oracle for the search tests. */
let all: MagentoProduct[];

beforeAll(async () => {
  db = await createTestDatabase('products_router');
  await migrate(db.url, fileURLToPath(new URL('../schema', import.meta.url)), silentLogger());
  await seedLegacy(db.url, { products: PRODUCTS, randomSeed: 7, logger: silentLogger(), now: SEEDED_AT });
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const deps = { pool, logger: silentLogger(), clock: () => now };
  const app = createLegacyApp(deps);
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/V1`;
  const listing = await search({ 'searchCriteria[pageSize]': '300' });
  all = listing.body.items;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await pool?.end();
  await db?.drop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
}

function search(params: Record<string, string>) {
  return call('GET', `/products?${new URLSearchParams(params).toString()}`);
}

/** One filter in one group, all items (pageSize 300 > catalog), answering the skus. */
async function skusWhere(field: string, value: string | undefined, conditionType?: string): Promise<string[]> {
  const params: Record<string, string> = { 'searchCriteria[pageSize]': '300', 'searchCriteria[filter_groups][0][filters][0][field]': field };
  if (value !== undefined) params['searchCriteria[filter_groups][0][filters][0][value]'] = value;
  if (conditionType) params['searchCriteria[filter_groups][0][filters][0][condition_type]'] = conditionType;
  const response = await search(params);
  expect(response.status, response.text).toBe(200);
  expect(response.body.total_count).toBe(response.body.items.length);
  return response.body.items.map((item: MagentoProduct) => item.sku);
}

const custom = (product: MagentoProduct, code: string) => product.custom_attributes.find((a) => a.attribute_code === code)?.value;
const skusOf = (products: MagentoProduct[]) => products.map((product) => product.sku);

describe('GET /rest/V1/products (searchCriteria)', () => {
  it('answers a page of 5 with total_count counting the whole catalog, and echoes the criteria', async () => {
    // Literal brackets, as a person types the URL (search() sends them percent-encoded).
    const response = await call('GET', '/products?searchCriteria[pageSize]=5');
    expect(response.status).toBe(200);
    expect(response.body.items).toHaveLength(5);
    expect(response.body.total_count).toBe(PRODUCTS);
    expect(response.body.search_criteria).toEqual({ filter_groups: [], page_size: 5 });
    expect(all).toHaveLength(PRODUCTS);
    expect(all.map((product) => product.id)).toEqual([...all.map((product) => product.id)].sort((a, b) => a - b));
  });

  it('pages with currentPage (1-based) and counts before paging', async () => {
    const response = await search({ 'searchCriteria[pageSize]': '7', 'searchCriteria[currentPage]': '3' });
    expect(skusOf(response.body.items)).toEqual(skusOf(all.slice(14, 21)));
    expect(response.body.total_count).toBe(PRODUCTS);
    expect(response.body.search_criteria).toMatchObject({ page_size: 7, current_page: 3 });
    const beyond = await search({ 'searchCriteria[pageSize]': '100', 'searchCriteria[currentPage]': '3' });
    expect(beyond.body.items).toEqual([]);
    expect(beyond.body.total_count).toBe(PRODUCTS);
  });

  it('answers 20 items when no pageSize is given (Magento 2.4 input limits)', async () => {
    const response = await call('GET', '/products?searchCriteria');
    expect(response.status).toBe(200);
    expect(response.body.items).toHaveLength(20);
    expect(response.body.total_count).toBe(PRODUCTS);
  });

  it('eq is the default condition_type, and is echoed', async () => {
    const sku = all[17]!.sku;
    expect(await skusWhere('sku', sku)).toEqual([sku]);
    const response = await search({ 'searchCriteria[filter_groups][0][filters][0][field]': 'sku', 'searchCriteria[filter_groups][0][filters][0][value]': sku });
    expect(response.body.search_criteria.filter_groups).toEqual([{ filters: [{ field: 'sku', value: sku, condition_type: 'eq' }] }]);
  });

  it('neq excludes the value', async () => {
    expect(await skusWhere('status', '1', 'neq')).toEqual(skusOf(all.filter((p) => p.status !== 1)));
    expect(all.some((p) => p.status === 2)).toBe(true);
  });

  it('like matches with % wildcards, case-insensitively like MySQL', async () => {
    const expected = skusOf(all.filter((p) => /tee$/i.test(p.name ?? '')));
    expect(expected.length).toBeGreaterThan(0);
    expect(await skusWhere('name', '%tEE', 'like')).toEqual(expected);
    expect(await skusWhere('sku', 'MT-%', 'like')).toEqual(skusOf(all.filter((p) => p.sku.startsWith('MT-'))));
  });

  it('in and nin take comma-separated lists', async () => {
    const picked = [all[3]!.sku, all[50]!.sku, all[120]!.sku];
    expect(await skusWhere('sku', picked.join(','), 'in')).toEqual(picked);
    expect(await skusWhere('visibility', '1,2', 'nin')).toEqual(skusOf(all.filter((p) => p.visibility !== 1 && p.visibility !== 2)));
  });

  it('gt, gteq, lt and lteq compare prices as numbers, the boundary included only by gteq/lteq', async () => {
    const pivot = all[10]!.price!;
    expect(await skusWhere('price', String(pivot), 'gt')).toEqual(skusOf(all.filter((p) => p.price! > pivot)));
    expect(await skusWhere('price', String(pivot), 'gteq')).toEqual(skusOf(all.filter((p) => p.price! >= pivot)));
    expect(await skusWhere('price', String(pivot), 'lt')).toEqual(skusOf(all.filter((p) => p.price! < pivot)));
    expect(await skusWhere('price', String(pivot), 'lteq')).toEqual(skusOf(all.filter((p) => p.price! <= pivot)));
    expect(await skusWhere('price', String(pivot), 'gteq')).toContain(all[10]!.sku);
    expect(await skusWhere('price', String(pivot), 'gt')).not.toContain(all[10]!.sku);
  });

  it('from and to bound a range, and groups AND together', async () => {
    const response = await search({
      'searchCriteria[pageSize]': '300',
      'searchCriteria[filter_groups][0][filters][0][field]': 'price',
      'searchCriteria[filter_groups][0][filters][0][value]': '20',
      'searchCriteria[filter_groups][0][filters][0][condition_type]': 'from',
      'searchCriteria[filter_groups][1][filters][0][field]': 'price',
      'searchCriteria[filter_groups][1][filters][0][value]': '50',
      'searchCriteria[filter_groups][1][filters][0][condition_type]': 'to',
    });
    const expected = skusOf(all.filter((p) => p.price! >= 20 && p.price! <= 50));
    expect(expected.length).toBeGreaterThan(0);
    expect(skusOf(response.body.items)).toEqual(expected);
    expect(response.body.total_count).toBe(expected.length);
  });

  it('null and notnull find products without and with an attribute value', async () => {
    const withSpecial = skusOf(all.filter((p) => custom(p, 'special_price') !== undefined));
    expect(withSpecial.length).toBeGreaterThan(0);
    expect(await skusWhere('special_price', undefined, 'notnull')).toEqual(withSpecial);
    expect(await skusWhere('special_price', undefined, 'null')).toEqual(skusOf(all.filter((p) => custom(p, 'special_price') === undefined)));
  });

  it('finset finds a value in a comma-separated set, as FIND_IN_SET', async () => {
    const color = custom(all.find((p) => custom(p, 'color') !== undefined)!, 'color') as string;
    expect(await skusWhere('color', color, 'finset')).toEqual(skusOf(all.filter((p) => custom(p, 'color') === color)));
  });

  it('filters dates and entity fields', async () => {
    const pivot = all[0]!.created_at;
    expect(await skusWhere('created_at', pivot, 'gt')).toEqual(skusOf(all.filter((p) => p.created_at > pivot)));
    expect(await skusWhere('type_id', 'virtual')).toEqual(skusOf(all.filter((p) => p.type_id === 'virtual')));
    expect(await skusWhere('id', String(all[5]!.id))).toEqual([all[5]!.sku]);
  });

  it('category_id filters by category membership', async () => {
    const categoryId = all[0]!.extension_attributes.category_links[0]!.category_id;
    const members = skusOf(all.filter((p) => p.extension_attributes.category_links.some((link) => link.category_id === categoryId)));
    expect(await skusWhere('category_id', categoryId)).toEqual(members);
    expect(await skusWhere('category_id', categoryId, 'nin')).toEqual(skusOf(all.filter((p) => !members.includes(p.sku))));
  });

  it('ORs the filters of one group', async () => {
    const response = await search({
      'searchCriteria[filter_groups][0][filters][0][field]': 'sku',
      'searchCriteria[filter_groups][0][filters][0][value]': all[1]!.sku,
      'searchCriteria[filter_groups][0][filters][1][field]': 'sku',
      'searchCriteria[filter_groups][0][filters][1][value]': all[2]!.sku,
      'searchCriteria[filter_groups][0][filters][2][field]': 'name',
      'searchCriteria[filter_groups][0][filters][2][value]': 'no such name',
    });
    expect(skusOf(response.body.items)).toEqual([all[1]!.sku, all[2]!.sku]);
    expect(response.body.total_count).toBe(2);
  });

  it('ANDs groups: simple products that are disabled', async () => {
    const response = await search({
      'searchCriteria[pageSize]': '300',
      'searchCriteria[filter_groups][0][filters][0][field]': 'type_id',
      'searchCriteria[filter_groups][0][filters][0][value]': 'simple',
      'searchCriteria[filter_groups][1][filters][0][field]': 'status',
      'searchCriteria[filter_groups][1][filters][0][value]': '2',
    });
    expect(skusOf(response.body.items)).toEqual(skusOf(all.filter((p) => p.type_id === 'simple' && p.status === 2)));
  });

  it('sorts ASC only when the direction says ASC; anything else sorts descending; entity id breaks ties', async () => {
    const byPrice = (direction: string | undefined) =>
      search({
        'searchCriteria[pageSize]': '300',
        'searchCriteria[sortOrders][0][field]': 'price',
        ...(direction === undefined ? {} : { 'searchCriteria[sortOrders][0][direction]': direction }),
      });
    const ascending = [...all].sort((a, b) => a.price! - b.price! || a.id - b.id);
    const descending = [...all].sort((a, b) => b.price! - a.price! || a.id - b.id);
    expect(skusOf((await byPrice('ASC')).body.items)).toEqual(skusOf(ascending));
    expect(skusOf((await byPrice('asc')).body.items)).toEqual(skusOf(ascending));
    expect(skusOf((await byPrice('DESC')).body.items)).toEqual(skusOf(descending));
    expect(skusOf((await byPrice('sideways')).body.items)).toEqual(skusOf(descending));
    const none = await byPrice(undefined);
    expect(skusOf(none.body.items)).toEqual(skusOf(descending));
    expect(none.body.search_criteria.sort_orders).toEqual([{ field: 'price', direction: 'DESC' }]);
  });

  it('sorts by a text attribute then by a second order', async () => {
    const response = await search({
      'searchCriteria[pageSize]': '300',
      'searchCriteria[sortOrders][0][field]': 'type_id',
      'searchCriteria[sortOrders][0][direction]': 'ASC',
      'searchCriteria[sortOrders][1][field]': 'name',
      'searchCriteria[sortOrders][1][direction]': 'DESC',
    });
    const expected = [...all].sort(
      (a, b) => (a.type_id < b.type_id ? -1 : a.type_id > b.type_id ? 1 : 0) || (a.name! < b.name! ? 1 : a.name! > b.name! ? -1 : 0) || a.id - b.id,
    );
    // PostgreSQL's collation may order some punctuation differently from JS; compare the type blocks and the names.
    expect(response.body.items.map((p: MagentoProduct) => p.type_id)).toEqual(expected.map((p) => p.type_id));
    expect(response.body.items).toHaveLength(PRODUCTS);
  });

  it.each([
    ['an unknown field', { 'searchCriteria[filter_groups][0][filters][0][field]': 'colour', 'searchCriteria[filter_groups][0][filters][0][value]': '1' }, 'searchCriteria[filter_groups][0][filters][0][field]'],
    ['a bad condition_type', { 'searchCriteria[filter_groups][0][filters][0][field]': 'sku', 'searchCriteria[filter_groups][0][filters][0][value]': 'x', 'searchCriteria[filter_groups][0][filters][0][condition_type]': 'regexp' }, 'searchCriteria[filter_groups][0][filters][0][condition_type]'],
    ['a non-numeric pageSize', { 'searchCriteria[pageSize]': 'ten' }, 'searchCriteria[pageSize]'],
    ['a pageSize above 300', { 'searchCriteria[pageSize]': '301' }, 'searchCriteria[pageSize]'],
    ['currentPage 0', { 'searchCriteria[currentPage]': '0' }, 'searchCriteria[currentPage]'],
    ['a non-numeric price', { 'searchCriteria[filter_groups][0][filters][0][field]': 'price', 'searchCriteria[filter_groups][0][filters][0][value]': 'cheap', 'searchCriteria[filter_groups][0][filters][0][condition_type]': 'lt' }, 'searchCriteria[filter_groups][0][filters][0][value]'],
    ['a date that is not one', { 'searchCriteria[filter_groups][0][filters][0][field]': 'created_at', 'searchCriteria[filter_groups][0][filters][0][value]': '2025-02-30', 'searchCriteria[filter_groups][0][filters][0][condition_type]': 'gt' }, 'searchCriteria[filter_groups][0][filters][0][value]'],
    ['a missing value', { 'searchCriteria[filter_groups][0][filters][0][field]': 'sku' }, 'searchCriteria[filter_groups][0][filters][0][value]'],
    ['an unknown criteria key', { 'searchCriteria[pageSise]': '5' }, 'searchCriteria[pageSise]'],
    ['a sort by an unknown field', { 'searchCriteria[sortOrders][0][field]': 'popularity' }, 'searchCriteria[sortOrders][0][field]'],
  ])('when the criteria have %s, then it answers 400 naming the field', async (_case, params, field) => {
    const response = await search(params);
    expect(response.status).toBe(400);
    expect(response.body.parameters).toEqual({ fieldName: field });
    expect(response.body.message).toMatch(/^"%fieldName" is invalid\./);
    expect(response.text).not.toMatch(/at .*\.ts/);
  });

  it('without searchCriteria, answers 400 as Magento: "searchCriteria" is required', async () => {
    const response = await call('GET', '/products');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: 'searchCriteria' } });
  });
});

describe('GET /rest/V1/products/:sku', () => {
  it('answers the product with Magento fields, as stored', async () => {
    const { rows } = await pool.query<{ sku: string }>(
      `SELECT e.sku FROM catalog_product_entity e
        WHERE EXISTS (SELECT 1 FROM catalog_product_entity_tier_price t WHERE t.entity_id = e.entity_id AND t.all_groups = 1)
          AND EXISTS (SELECT 1 FROM catalog_product_entity_tier_price t WHERE t.entity_id = e.entity_id AND t.percentage_value IS NOT NULL)
        ORDER BY e.entity_id LIMIT 1`,
    );
    const sku = rows[0]!.sku;
    const response = await call('GET', `/products/${encodeURIComponent(sku)}`);
    expect(response.status).toBe(200);
    const product: MagentoProduct = response.body;
    const stored = await pool.query<{ entity_id: number; price: string; name: string }>(
      `SELECT e.entity_id, p.value::text AS price, n.value AS name FROM catalog_product_entity e
         JOIN catalog_product_entity_decimal p ON p.entity_id = e.entity_id AND p.attribute_id = (SELECT attribute_id FROM eav_attribute WHERE attribute_code = 'price')
         JOIN catalog_product_entity_varchar n ON n.entity_id = e.entity_id AND n.attribute_id = (SELECT attribute_id FROM eav_attribute WHERE attribute_code = 'name')
        WHERE e.sku = $1`,
      [sku],
    );
    const row = stored.rows[0]!;
    expect(product).toMatchObject({ id: row.entity_id, sku, name: row.name, price: Number(row.price), product_links: [], options: [], media_gallery_entries: [] });
    expect(Object.keys(product).slice(0, 10)).toEqual(['id', 'sku', 'name', 'attribute_set_id', 'price', 'status', 'visibility', 'type_id', 'created_at', 'updated_at']);
    expect(typeof product.price).toBe('number');
    expect([1, 2]).toContain(product.status);
    expect([1, 2, 3, 4]).toContain(product.visibility);
    expect(product.created_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(product.extension_attributes.website_ids).toEqual([1]);
    expect(product.extension_attributes.category_links.length).toBeGreaterThanOrEqual(1);
    expect(typeof product.extension_attributes.category_links[0]!.category_id).toBe('string');
    expect(product.extension_attributes.stock_item).toMatchObject({ product_id: row.entity_id, stock_id: 1, is_in_stock: expect.any(Boolean), qty: expect.any(Number) });
    const allGroups = product.tier_prices.find((tier) => tier.customer_group_id === 32000)!;
    expect(allGroups).toBeDefined();
    const percentage = product.tier_prices.find((tier) => tier.extension_attributes.percentage_value !== undefined)!;
    expect(percentage.value).toBeCloseTo(product.price! * (1 - percentage.extension_attributes.percentage_value! / 100), 6);
    for (const attribute of product.custom_attributes) {
      expect(['name', 'price', 'status', 'visibility', 'weight', 'sku']).not.toContain(attribute.attribute_code);
      if (attribute.attribute_code === 'category_ids') expect(attribute.value).toEqual(product.extension_attributes.category_links.map((l) => l.category_id));
      else expect(typeof attribute.value).toBe('string');
    }
    expect(custom(product, 'url_key')).toMatch(/^[a-z0-9-]+$/);
  });

  it('shows a special price and its window as Magento strings', async () => {
    const product = all.find((p) => custom(p, 'special_to_date') !== undefined)!;
    expect(custom(product, 'special_price')).toMatch(/^\d+\.\d{6}$/);
    expect(custom(product, 'special_to_date')).toMatch(/^\d{4}-\d{2}-\d{2} 00:00:00$/);
  });

  it('when the sku does not exist, then it answers 404 in Magento\'s shape', async () => {
    const response = await call('GET', '/products/NO-SUCH-SKU');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ message: NOT_FOUND, parameters: [] });
  });
});

describe('writing products', () => {
  const newProduct = {
    sku: 'TEST-WRITE-1',
    name: 'Strangler Test Tee',
    price: 45,
    status: 1,
    visibility: 4,
    type_id: 'simple',
    weight: 0.5,
    attribute_set_id: 9,
    extension_attributes: { category_links: [{ position: 2, category_id: '3' }], stock_item: { qty: 12, is_in_stock: true } },
    tier_prices: [
      { customer_group_id: 32000, qty: 5, value: 40 },
      { customer_group_id: 2, qty: 10, value: 0, extension_attributes: { percentage_value: 10 } },
    ],
    custom_attributes: [
      { attribute_code: 'description', value: '<p>Made for tests.</p>' },
      { attribute_code: 'special_price', value: '39.5' },
      { attribute_code: 'special_from_date', value: '2025-06-01' },
    ],
  };

  it('POST creates the product and answers it as GET does; the catalog grows by one', async () => {
    now = new Date('2025-06-16T08:30:00Z');
    const created = await call('POST', '/products', { product: newProduct });
    expect(created.status, created.text).toBe(200);
    const fetched = await call('GET', '/products/TEST-WRITE-1');
    expect(fetched.body).toEqual(created.body);
    expect(created.body).toMatchObject({
      sku: 'TEST-WRITE-1',
      name: 'Strangler Test Tee',
      price: 45,
      weight: 0.5,
      attribute_set_id: 9,
      created_at: '2025-06-16 08:30:00',
      updated_at: '2025-06-16 08:30:00',
      extension_attributes: { category_links: [{ position: 2, category_id: '3' }], stock_item: { qty: 12, is_in_stock: true } },
      tier_prices: [
        { customer_group_id: 32000, qty: 5, value: 40, extension_attributes: { website_id: 0 } },
        { customer_group_id: 2, qty: 10, value: 40.5, extension_attributes: { percentage_value: 10, website_id: 0 } },
      ],
    });
    expect(custom(created.body, 'special_price')).toBe('39.500000');
    expect(custom(created.body, 'special_from_date')).toBe('2025-06-01 00:00:00');
    expect(custom(created.body, 'url_key')).toBe('strangler-test-tee');
    const listing = await search({ 'searchCriteria[pageSize]': '1' });
    expect(listing.body.total_count).toBe(PRODUCTS + 1);
    expect(await skusWhere('name', 'Strangler Test%', 'like')).toEqual(['TEST-WRITE-1']);
  });

  it('tier prices come in numeric quantity order (5, 10, 100), not in text order', async () => {
    const product = { ...newProduct, sku: 'TEST-TIER-ORDER', name: 'Tier Order Tee', tier_prices: [100, 5, 10].map((qty) => ({ customer_group_id: 32000, qty, value: 40 - qty / 10 })) };
    expect((await call('POST', '/products', { product })).status).toBe(200);
    const fetched = await call('GET', '/products/TEST-TIER-ORDER');
    expect(fetched.body.tier_prices.map((tier: { qty: number }) => tier.qty)).toEqual([5, 10, 100]);
    expect((await call('DELETE', '/products/TEST-TIER-ORDER')).status).toBe(200);
  });

  it('PUT changes a custom attribute and the tier prices, bumping updated_at, leaving the rest', async () => {
    now = new Date('2025-06-17T10:00:00Z');
    const before = (await call('GET', '/products/TEST-WRITE-1')).body;
    const color = custom(all.find((p) => custom(p, 'color') !== undefined)!, 'color');
    const response = await call('PUT', '/products/TEST-WRITE-1', {
      product: { custom_attributes: [{ attribute_code: 'color', value: color }, { attribute_code: 'special_price', value: null }], tier_prices: [] },
    });
    expect(response.status, response.text).toBe(200);
    const after = (await call('GET', '/products/TEST-WRITE-1')).body;
    expect(after).toEqual(response.body);
    expect(custom(after, 'color')).toBe(color);
    expect(custom(after, 'special_price')).toBeUndefined();
    expect(after.tier_prices).toEqual([]);
    expect(after.updated_at).toBe('2025-06-17 10:00:00');
    expect(after.created_at).toBe(before.created_at);
    expect(after.name).toBe(before.name);
    expect(after.extension_attributes.category_links).toEqual(before.extension_attributes.category_links);
    expect(await skusWhere('color', String(color))).toContain('TEST-WRITE-1');
  });

  it('POST of an existing sku updates it, as Magento\'s save does', async () => {
    const response = await call('POST', '/products', { product: { sku: 'TEST-WRITE-1', price: '47.99' } });
    expect(response.status).toBe(200);
    expect(response.body.price).toBe(47.99);
    expect((await search({ 'searchCriteria[pageSize]': '1' })).body.total_count).toBe(PRODUCTS + 1);
  });

  it('when a write is invalid, then it answers 400 naming the field and changes nothing', async () => {
    const before = (await call('GET', '/products/TEST-WRITE-1')).body;
    const cases: Array<[unknown, string]> = [
      [{ product: { name: 'Renamed', extension_attributes: { category_links: [{ category_id: '99999' }] } } }, 'product.extension_attributes.category_links[0].category_id'],
      [{ product: { name: 'Renamed', custom_attributes: [{ attribute_code: 'colour', value: '1' }] } }, 'product.custom_attributes[0].attribute_code'],
      [{ product: { name: 'Renamed', custom_attributes: [{ attribute_code: 'color', value: '99999' }] } }, 'product.custom_attributes[0].value'],
      [{ product: { name: 'Renamed', custom_attributes: [{ attribute_code: 'special_to_date', value: 'soon' }] } }, 'product.custom_attributes[0].value'],
      [{ product: { name: 'Renamed', status: 3 } }, 'product.status'],
      [{ product: { name: 'Renamed', price: 'free' } }, 'product.price'],
      [{ product: { name: 'Renamed', tier_prices: [{ customer_group_id: 9, qty: 1, value: 1 }] } }, 'product.tier_prices[0].customer_group_id'],
      [{ product: { name: 'Renamed', colour: 'red' } }, 'product.colour'],
      [{ product: { sku: 'OTHER', name: 'Renamed' } }, 'product.sku'],
    ];
    for (const [body, field] of cases) {
      const response = await call('PUT', '/products/TEST-WRITE-1', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.parameters, JSON.stringify(body)).toEqual({ fieldName: field });
    }
    expect((await call('GET', '/products/TEST-WRITE-1')).body).toEqual(before);
  });

  it('POST without a name answers 400 naming it, and creates nothing', async () => {
    const response = await call('POST', '/products', { product: { sku: 'TEST-NO-NAME', price: 10 } });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: 'product.name' } });
    expect((await call('GET', '/products/TEST-NO-NAME')).status).toBe(404);
  });

  it('a body that is not JSON answers 400, and one without product names it', async () => {
    const broken = await call('POST', '/products', '{"product": {');
    expect(broken.status).toBe(400);
    expect(broken.body.message).toContain('Decoding error');
    for (const body of [{}, []]) {
      const response = await call('POST', '/products', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.parameters).toEqual({ fieldName: 'product' });
    }
  });

  it('a sku with a slash and a space is addressed URL-encoded, as in Magento', async () => {
    const created = await call('POST', '/products', { product: { sku: 'MJ/04 x', name: 'Slash Jacket', price: 10 } });
    expect(created.status, created.text).toBe(200);
    const path = `/products/${encodeURIComponent('MJ/04 x')}`;
    expect((await call('GET', path)).body.sku).toBe('MJ/04 x');
    expect((await call('PUT', path, { product: { price: 11 } })).body.price).toBe(11);
    expect((await call('DELETE', path)).body).toBe(true);
    expect((await call('GET', path)).status).toBe(404);
  });

  it('PUT of an unknown sku answers 404', async () => {
    const response = await call('PUT', '/products/NO-SUCH-SKU', { product: { name: 'Ghost' } });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ message: NOT_FOUND, parameters: [] });
  });

  it('DELETE answers true, then the product is gone', async () => {
    const response = await call('DELETE', '/products/TEST-WRITE-1');
    expect(response.status).toBe(200);
    expect(response.body).toBe(true);
    expect((await call('GET', '/products/TEST-WRITE-1')).status).toBe(404);
    expect((await call('DELETE', '/products/TEST-WRITE-1')).status).toBe(404);
    expect((await search({ 'searchCriteria[pageSize]': '1' })).body.total_count).toBe(PRODUCTS);
    const leftovers = await pool.query("SELECT 1 FROM cataloginventory_stock_item s JOIN catalog_product_entity e ON e.entity_id = s.product_id WHERE e.sku = 'TEST-WRITE-1'");
    expect(leftovers.rowCount).toBe(0);
  });
});
