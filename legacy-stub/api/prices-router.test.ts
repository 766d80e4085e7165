import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { FIXTURE_NOW, writePriceFixture } from '../pricing/price-fixture.ts';
import { startLegacyTestServer, type LegacyTestServer } from '../pricing/legacy-test-server.ts';
import { pricesRouter } from './prices-router.ts';
import { silentLogger } from '../../platform/logger.ts';

let db: TestDatabase;
let shop: LegacyTestServer;

beforeAll(async () => {
  db = await createTestDatabase('prices_router');
  await writePriceFixture(db.url);
  shop = await startLegacyTestServer(db.url, FIXTURE_NOW);
});
afterAll(async () => {
  await shop?.close();
  await db?.drop();
});

async function post(path: string, body: unknown, method = 'POST') {
  const response = await fetch(`${shop.baseUrl}/rest/V1${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

async function get(path: string) {
  const response = await fetch(`${shop.baseUrl}/rest/V1${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function finalPriceOf(sku: string, query = '') {
  return get(`/products/${encodeURIComponent(sku)}/final-price${query}`);
}

async function updatedAt(sku: string): Promise<string> {
  const { rows } = await shop.pool.query<{ t: string }>("SELECT to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') AS t FROM catalog_product_entity WHERE sku = $1", [sku]);
  return rows[0]!.t;
}

describe('POST /rest/V1/products/*-information (reading prices)', () => {
  it('answers the base price of every store view, in Magento\'s shape', async () => {
    expect(await post('/products/base-prices-information', { skus: ['MH01', 'MT02'] })).toEqual({
      status: 200,
      body: [
        { price: 52, store_id: 0, sku: 'MH01' },
        { price: 29.99, store_id: 0, sku: 'MT02' },
      ],
    });
  });

  it('leaves unknown skus out of the answer without an error, as Magento filters them', async () => {
    expect(await post('/products/base-prices-information', { skus: ['NOPE', 'MT02'] })).toEqual({ status: 200, body: [{ price: 29.99, store_id: 0, sku: 'MT02' }] });
    expect(await post('/products/tier-prices-information', { skus: ['NOPE'] })).toEqual({ status: 200, body: [] });
    expect(await post('/products/special-price-information', { skus: ['NOPE'] })).toEqual({ status: 200, body: [] });
  });

  it('shows tier prices with ALL GROUPS or the group code, percentage tiers as discounts', async () => {
    expect(await post('/products/tier-prices-information', { skus: ['MH01'] })).toEqual({
      status: 200,
      body: [
        { price: 40, price_type: 'fixed', website_id: 0, sku: 'MH01', customer_group: 'ALL GROUPS', quantity: 5 },
        { price: 25, price_type: 'discount', website_id: 0, sku: 'MH01', customer_group: 'Wholesale', quantity: 1 },
      ],
    });
  });

  it('shows special prices with their window as YYYY-MM-DD hh:mm:ss, an open bound as null', async () => {
    expect(await post('/products/special-price-information', { skus: ['MH01', 'MJ/04 x', 'MT02'] })).toEqual({
      status: 200,
      body: [
        { price: 45, store_id: 0, sku: 'MH01', price_from: '2026-03-01 00:00:00', price_to: '2026-03-31 00:00:00' },
        { price: 30, store_id: 0, sku: 'MJ/04 x', price_from: '2026-04-01 00:00:00', price_to: null },
      ],
    });
  });

  it('refuses a body without skus, or with skus that are not strings, naming the field', async () => {
    expect(await post('/products/base-prices-information', {})).toEqual({
      status: 400,
      body: { message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: 'skus' } },
    });
    expect(await post('/products/tier-prices-information', { skus: 'MH01' })).toEqual({
      status: 400,
      body: { message: '"%fieldName" is invalid.', parameters: { fieldName: 'skus' } },
    });
    expect(await post('/products/special-price-information', { skus: ['MH01', 7] })).toEqual({
      status: 400,
      body: { message: '"%fieldName" is invalid.', parameters: { fieldName: 'skus[1]' } },
    });
  });

  it('answers a body that is not JSON with a 400 in Magento\'s shape, never a stack trace', async () => {
    const response = await post('/products/base-prices-information', '{"skus": [');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ message: 'Decoding error: %1', parameters: ['the request body is not valid JSON'] });
  });
});

describe('GET /rest/V1/products/:sku/final-price', () => {
  it('defaults to a guest buying one: the special price inside its window', async () => {
    expect(await finalPriceOf('MH01')).toEqual({
      status: 200,
      body: { sku: 'MH01', customer_group_id: 0, qty: 1, regular_price: 52, final_price: 45 },
    });
  });

  it('gives a wholesale customer the 25% group tier', async () => {
    expect((await finalPriceOf('MH01', '?customerGroupId=2&qty=1')).body).toMatchObject({ customer_group_id: 2, final_price: 39 });
  });

  it('gives anyone buying five the all-groups tier, but not four', async () => {
    expect((await finalPriceOf('MH01', '?customerGroupId=1&qty=5')).body).toMatchObject({ qty: 5, final_price: 40 });
    expect((await finalPriceOf('MH01', '?customerGroupId=1&qty=4')).body).toMatchObject({ qty: 4, final_price: 45 });
  });

  it('ignores a special price whose window is over or not begun, and a tier for another group', async () => {
    expect((await finalPriceOf('WS03', '?customerGroupId=2&qty=10')).body).toMatchObject({ regular_price: 29, final_price: 29 });
    expect((await finalPriceOf('WS03', '?customerGroupId=1&qty=10')).body).toMatchObject({ final_price: 25 });
    expect((await finalPriceOf('MJ/04 x')).body).toMatchObject({ sku: 'MJ/04 x', final_price: 42 });
  });

  it('keeps the special price through the whole of its to day, and drops it at midnight', async () => {
    try {
      shop.setNow(new Date('2026-03-31T23:59:59Z'));
      expect((await finalPriceOf('MH01')).body).toMatchObject({ final_price: 45 });
      shop.setNow(new Date('2026-04-01T00:00:00Z'));
      expect((await finalPriceOf('MH01')).body).toMatchObject({ final_price: 52 });
      expect((await finalPriceOf('MJ/04 x')).body).toMatchObject({ final_price: 30 });
    } finally {
      shop.setNow(FIXTURE_NOW);
    }
  });

  it('answers an unknown sku with Magento\'s 404', async () => {
    expect(await finalPriceOf('NOPE')).toEqual({
      status: 404,
      body: { message: "The product that was requested doesn't exist. Verify the product and try again.", parameters: [] },
    });
  });

  it.each([
    ['?customerGroupId=abc', 'customerGroupId'],
    ['?customerGroupId=-1', 'customerGroupId'],
    ['?customerGroupId=1&customerGroupId=2', 'customerGroupId'],
    ['?qty=0', 'qty'],
    ['?qty=-2', 'qty'],
    ['?qty=1e3', 'qty'],
    ['?qty=lots', 'qty'],
  ])('refuses %s with a 400 naming %s', async (query, field) => {
    const response = await finalPriceOf('MH01', query);
    expect(response.status).toBe(400);
    expect(response.body.parameters).toMatchObject({ fieldName: field });
  });
});

describe('POST /rest/V1/products/base-prices (writing base prices)', () => {
  it('writes the price, bumps updated_at, answers [] and the new price is read back everywhere', async () => {
    const before = await updatedAt('MT02');
    expect(await post('/products/base-prices', { prices: [{ price: 24.5, store_id: 0, sku: 'MT02' }] })).toEqual({ status: 200, body: [] });
    expect((await post('/products/base-prices-information', { skus: ['MT02'] })).body).toEqual([{ price: 24.5, store_id: 0, sku: 'MT02' }]);
    expect((await finalPriceOf('MT02')).body).toMatchObject({ regular_price: 24.5, final_price: 24.5 });
    expect(before).toBe('2026-01-01 00:00:00');
    expect(await updatedAt('MT02')).toBe('2026-03-15 12:00:00');
  });

  it('reports each bad row with Magento\'s message and still writes the good ones', async () => {
    const response = await post('/products/base-prices', {
      prices: [
        { price: 10, store_id: 0, sku: 'NOPE' },
        { price: -1, store_id: 0, sku: 'MT02' },
        { price: 11, store_id: 9, sku: 'MT02' },
        { price: '27.25', store_id: 1, sku: 'MT02' },
      ],
    });
    expect(response).toEqual({
      status: 200,
      body: [
        { message: 'Invalid attribute %fieldName = %fieldValue.', parameters: ['SKU', 'NOPE'] },
        { message: 'Invalid attribute %fieldName = %fieldValue.', parameters: ['Price', '-1'] },
        { message: 'Requested store is not found. Row ID: SKU = %SKU, Store ID: %storeId.', parameters: ['MT02', '9'] },
      ],
    });
    expect((await post('/products/base-prices-information', { skus: ['MT02'] })).body).toEqual([
      { price: 24.5, store_id: 0, sku: 'MT02' },
      { price: 27.25, store_id: 1, sku: 'MT02' },
    ]);
    // The storefront's store view (1) overrides the admin value.
    expect((await finalPriceOf('MT02')).body).toMatchObject({ regular_price: 27.25 });
  });

  it('refuses a malformed body with a 400 naming the field, and changes nothing', async () => {
    expect(await post('/products/base-prices', { prices: [{ price: 1, store_id: 0, sku: 'MT02' }, { price: 'cheap', store_id: 0, sku: 'MT02' }] })).toEqual({
      status: 400,
      body: { message: '"%fieldName" is invalid.', parameters: { fieldName: 'prices[1].price' } },
    });
    expect((await post('/products/base-prices', { prices: [{ price: 1, sku: 'MT02' }] })).body).toEqual({
      message: '"%fieldName" is required. Enter and try again.',
      parameters: { fieldName: 'prices[0].store_id' },
    });
    expect((await post('/products/base-prices', { price: [] })).status).toBe(400);
    expect((await post('/products/base-prices-information', { skus: ['MT02'] })).body).toEqual([
      { price: 24.5, store_id: 0, sku: 'MT02' },
      { price: 27.25, store_id: 1, sku: 'MT02' },
    ]);
  });

  it('keeps a price with six decimals exact on its way in and out', async () => {
    expect((await post('/products/base-prices', { prices: [{ price: '0.000003', store_id: 1, sku: 'MT02' }] })).body).toEqual([]);
    expect((await finalPriceOf('MT02')).body).toMatchObject({ regular_price: 0.000003 });
    await post('/products/base-prices', { prices: [{ price: 27.25, store_id: 1, sku: 'MT02' }] });
  });
});

describe('POST/PUT /rest/V1/products/tier-prices (writing tier prices)', () => {
  it('adds a tier, changes the price of an existing one, and the final price follows', async () => {
    expect(
      await post('/products/tier-prices', {
        prices: [
          { price: 20, price_type: 'fixed', website_id: 0, sku: 'MT02', customer_group: 'Retailer', quantity: 3 },
          { price: 10, price_type: 'discount', website_id: 1, sku: 'MT02', customer_group: 'all groups', quantity: 2 },
        ],
      }),
    ).toEqual({ status: 200, body: [] });
    expect((await finalPriceOf('MT02', '?customerGroupId=3&qty=3')).body).toMatchObject({ final_price: 20 });
    expect((await finalPriceOf('MT02', '?customerGroupId=0&qty=2')).body).toMatchObject({ final_price: 24.525 });

    expect((await post('/products/tier-prices', { prices: [{ price: 18, price_type: 'fixed', website_id: 0, sku: 'MT02', customer_group: 'retailer', quantity: 3 }] })).body).toEqual([]);
    expect((await post('/products/tier-prices-information', { skus: ['MT02'] })).body).toEqual([
      { price: 18, price_type: 'fixed', website_id: 0, sku: 'MT02', customer_group: 'Retailer', quantity: 3 },
      { price: 10, price_type: 'discount', website_id: 1, sku: 'MT02', customer_group: 'ALL GROUPS', quantity: 2 },
    ]);
    expect(await updatedAt('MT02')).toBe('2026-03-15 12:00:00');
  });

  it('reports every kind of bad row with Magento\'s messages and writes none of them', async () => {
    const row = { price: 5, price_type: 'fixed', website_id: 0, sku: 'WS03', customer_group: 'General', quantity: 2 };
    const response = await post('/products/tier-prices', {
      prices: [
        { ...row, sku: 'NOPE' },
        { ...row, price_type: 'discount', price: 101 },
        { ...row, price_type: 'markup' },
        { ...row, quantity: 0 },
        { ...row, website_id: 7 },
        { ...row, customer_group: 'Pirates' },
        { ...row, quantity: 4 },
        { ...row, quantity: 4, price: 4 },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual([
      { message: expect.stringMatching(/^Invalid attribute SKU = %SKU\. Row ID: SKU = %SKU, Website ID: %websiteId, Customer Group: %customerGroup, Quantity: %qty\.$/), parameters: ['NOPE', '0', 'General', '2'] },
      { message: expect.stringMatching(/^Invalid attribute Price = %price\. Row ID/), parameters: ['101', 'WS03', '0', 'General', '2'] },
      { message: expect.stringMatching(/^Invalid attribute Price Type = %priceType\. Row ID/), parameters: ['markup', 'WS03', '0', 'General', '2'] },
      { message: expect.stringMatching(/^Invalid attribute Quantity = %qty\. Row ID/), parameters: ['WS03', '0', 'General', '0'] },
      { message: expect.stringMatching(/^Invalid attribute Website ID = %websiteId\. Row ID/), parameters: ['WS03', '7', 'General', '2'] },
      { message: expect.stringMatching(/^No such entity with Customer Group = %customerGroup\. Row ID/), parameters: ['WS03', '0', 'Pirates', '2'] },
      { message: expect.stringMatching(/^We found a duplicate website, tier price, customer group and quantity/), parameters: ['WS03', '0', 'General', '4'] },
    ]);
    // Only the first of the two duplicate rows (quantity 4, price 5) was written.
    expect((await post('/products/tier-prices-information', { skus: ['WS03'] })).body).toEqual([
      { price: 25, price_type: 'fixed', website_id: 0, sku: 'WS03', customer_group: 'General', quantity: 10 },
      { price: 5, price_type: 'fixed', website_id: 0, sku: 'WS03', customer_group: 'General', quantity: 4 },
    ].sort((a, b) => a.quantity - b.quantity));
  });

  it('replaces every tier of a product with PUT, and deletes one with tier-prices-delete', async () => {
    expect(
      (await post('/products/tier-prices', { prices: [{ price: 15, price_type: 'fixed', website_id: 0, sku: 'WS03', customer_group: 'Wholesale', quantity: 1 }] }, 'PUT')).body,
    ).toEqual([]);
    expect((await post('/products/tier-prices-information', { skus: ['WS03'] })).body).toEqual([
      { price: 15, price_type: 'fixed', website_id: 0, sku: 'WS03', customer_group: 'Wholesale', quantity: 1 },
    ]);
    expect((await finalPriceOf('WS03', '?customerGroupId=2')).body).toMatchObject({ final_price: 15 });
    expect(
      (await post('/products/tier-prices-delete', { prices: [{ price: 15, price_type: 'fixed', website_id: 0, sku: 'WS03', customer_group: 'Wholesale', quantity: 1 }] })).body,
    ).toEqual([]);
    expect((await post('/products/tier-prices-information', { skus: ['WS03'] })).body).toEqual([]);
    expect((await finalPriceOf('WS03', '?customerGroupId=2')).body).toMatchObject({ final_price: 29 });
  });

  it('refuses a tier without a quantity with a 400 naming it', async () => {
    expect((await post('/products/tier-prices', { prices: [{ price: 1, price_type: 'fixed', website_id: 0, sku: 'WS03', customer_group: 'General' }] })).body).toEqual({
      message: '"%fieldName" is required. Enter and try again.',
      parameters: { fieldName: 'prices[0].quantity' },
    });
  });
});

describe('POST /rest/V1/products/special-price (writing special prices)', () => {
  it('sets a special price with a window, and the storefront price follows the clock', async () => {
    expect(
      await post('/products/special-price', { prices: [{ price: 21, store_id: 0, sku: 'WS03', price_from: '2026-03-15 00:00:00', price_to: '2026-03-16 00:00:00' }] }),
    ).toEqual({ status: 200, body: [] });
    expect((await post('/products/special-price-information', { skus: ['WS03'] })).body).toEqual([
      { price: 21, store_id: 0, sku: 'WS03', price_from: '2026-03-15 00:00:00', price_to: '2026-03-16 00:00:00' },
    ]);
    expect((await finalPriceOf('WS03')).body).toMatchObject({ final_price: 21 });
    try {
      shop.setNow(new Date('2026-03-16T23:59:59Z'));
      expect((await finalPriceOf('WS03')).body).toMatchObject({ final_price: 21 });
      shop.setNow(new Date('2026-03-17T00:00:00Z'));
      expect((await finalPriceOf('WS03')).body).toMatchObject({ final_price: 29 });
    } finally {
      shop.setNow(FIXTURE_NOW);
    }
  });

  it('opens a bound that is sent as null', async () => {
    expect((await post('/products/special-price', { prices: [{ price: 22, store_id: 0, sku: 'WS03', price_from: '2026-03-15 00:00:00', price_to: null }] })).body).toEqual([]);
    expect((await post('/products/special-price-information', { skus: ['WS03'] })).body).toEqual([
      { price: 22, store_id: 0, sku: 'WS03', price_from: '2026-03-15 00:00:00', price_to: null },
    ]);
  });

  it('reports an unknown product, store, a negative price and a malformed date, and changes nothing for them', async () => {
    const response = await post('/products/special-price', {
      prices: [
        { price: 1, store_id: 0, sku: 'NOPE', price_from: null, price_to: null },
        { price: 1, store_id: 5, sku: 'WS03', price_from: null, price_to: null },
        { price: -1, store_id: 0, sku: 'WS03', price_from: null, price_to: null },
        { price: 1, store_id: 0, sku: 'WS03', price_from: '2026-02-30 00:00:00', price_to: null },
        { price: 1, store_id: 0, sku: 'WS03', price_from: '2026-03-10 00:00:00', price_to: '2026-03-01 00:00:00' },
      ],
    });
    expect(response.status).toBe(200);
    const messages = (response.body as Array<{ message: string; parameters: string[] }>).map((item) => item.message.split(' Row ID')[0]);
    expect(messages).toEqual([
      "The product that was requested doesn't exist. Verify the product and try again.",
      'Requested store is not found.',
      'Invalid attribute Price = %price.',
      'Invalid attribute %label = %priceTo.',
      'Special price to date must be on or after its from date.',
    ]);
    expect((response.body as Array<{ parameters: string[] }>)[3]!.parameters).toEqual(['Price From', 'WS03', '0', '2026-02-30 00:00:00', '']);
    expect((await post('/products/special-price-information', { skus: ['WS03'] })).body).toEqual([
      { price: 22, store_id: 0, sku: 'WS03', price_from: '2026-03-15 00:00:00', price_to: null },
    ]);
  });

  it('removes a special price and its window with special-price-delete', async () => {
    expect((await post('/products/special-price-delete', { prices: [{ price: 22, store_id: 0, sku: 'WS03', price_from: null, price_to: null }] })).body).toEqual([]);
    expect((await post('/products/special-price-information', { skus: ['WS03'] })).body).toEqual([]);
    expect((await finalPriceOf('WS03')).body).toMatchObject({ final_price: 29 });
  });
});

describe('the prices router and its neighbours', () => {
  it('leaves GET /products/:sku and GET /products to the products router', async () => {
    const app = express();
    app.use(express.json());
    app.use('/rest/V1', pricesRouter({ pool: shop.pool, logger: silentLogger(), clock: () => FIXTURE_NOW }));
    app.use((req, res) => {
      res.status(299).json({ fellThrough: `${req.method} ${req.originalUrl}` });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/V1`;
      for (const path of ['/products/MH01', '/products?searchCriteria[pageSize]=5', '/products/base-prices-information', '/products/MH01/final-price/extra']) {
        const response = await fetch(`${base}${path}`);
        expect(response.status, path).toBe(299);
      }
      expect((await fetch(`${base}/products`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(299);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
