import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { migrate } from '../../platform/migrations.ts';
import { silentLogger } from '../../platform/logger.ts';
import { seedLegacy } from '../seed/seed.ts';
import { DEMO_PASSWORD } from '../seed/demo-customers.ts';
import { startLegacyTestServer, type LegacyTestServer } from '../pricing/legacy-test-server.ts';
import { toMicros } from '../pricing/money.ts';
import { formatPrice } from './price-display.ts';

/**
 * The storefront on the seeded catalog, walked like a shopper: the pages must hold together with
 * the seed's categories, visibilities and prices, and every server-rendered price must equal what
 * the final-price endpoint (the one a cutover moves) answers for the same sku and group.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
let db: TestDatabase;
let shop: LegacyTestServer;
const cookies = new Map<string, string>();

beforeAll(async () => {
  db = await createTestDatabase('seeded_shop');
  await migrate(db.url, fileURLToPath(new URL('../schema', import.meta.url)), silentLogger());
  await seedLegacy(db.url, { products: 300, logger: silentLogger(), now: NOW });
  shop = await startLegacyTestServer(db.url, NOW);
});
afterAll(async () => {
  await shop?.close();
  await db?.drop();
});

async function browse(path: string, form?: Record<string, string>): Promise<{ status: number; text: string; location: string | null }> {
  const headers: Record<string, string> = { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(`${shop.baseUrl}${path}`, { method: form ? 'POST' : 'GET', headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual' });
  for (const line of response.headers.getSetCookie()) {
    const [name = '', value = ''] = (line.split(';')[0] ?? '').split('=');
    cookies.set(name, value);
  }
  return { status: response.status, text: await response.text(), location: response.headers.get('location') };
}

async function restFinalPrice(sku: string, group: number, qty = 1): Promise<number> {
  const response = await fetch(`${shop.baseUrl}/rest/V1/products/${encodeURIComponent(sku)}/final-price?customerGroupId=${group}&qty=${qty}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { final_price: number }).final_price;
}

describe('a shopper on the seeded catalog', () => {
  it('goes from home to a category to products whose fallback prices match the final-price endpoint', async () => {
    const home = await browse('/');
    expect(home.status).toBe(200);
    const categoryLinks = [...home.text.matchAll(/href="(\/catalog\/category\/view\/id\/\d+)"/g)].map((match) => match[1]!);
    expect(categoryLinks.length).toBeGreaterThan(0);

    let checked = 0;
    for (const categoryLink of categoryLinks) {
      const listing = await browse(categoryLink);
      expect(listing.status, categoryLink).toBe(200);
      const boxes = [...listing.text.matchAll(/data-sku="([^"]+)" data-customer-group-id="0"[^>]*>\s*<span class="price-wrapper final-price"><span class="price" data-price-type="finalPrice">([^<]+)</g)];
      for (const [, sku, shown] of boxes.slice(0, 4)) {
        expect(shown, sku).toBe(formatPrice(toMicros(await restFinalPrice(sku!, 0))));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(4);
  });

  it('adds a product to the cart, signs in as the demo wholesale customer and pays the wholesale price', async () => {
    const home = await browse('/');
    const productLink = /href="(\/catalog\/product\/view\/id\/\d+)"/.exec(home.text)![1]!;
    const page = await browse(productLink);
    expect(page.status).toBe(200);
    const sku = /data-role="price-box" data-sku="([^"]+)"/.exec(page.text)![1]!;
    const productId = /name="product" value="(\d+)"/.exec(page.text)![1]!;
    const formKey = /name="form_key" value="([^"]+)"/.exec(page.text)![1]!;
    const added = await browse('/checkout/cart/add', { product: productId, qty: '2', form_key: formKey });
    expect(added).toMatchObject({ status: 302, location: '/checkout/cart' });

    const guestCart = await browse('/checkout/cart');
    expect(guestCart.text).toContain(`data-sku="${sku}"`);
    expect(guestCart.text).toContain(formatPrice(toMicros(await restFinalPrice(sku, 0, 2))));

    const login = await browse('/customer/account/login');
    const signedIn = await browse('/customer/account/loginPost', {
      form_key: /name="form_key" value="([^"]+)"/.exec(login.text)![1]!,
      'login[username]': 'wholesale@example.com',
      'login[password]': DEMO_PASSWORD,
    });
    expect(signedIn).toMatchObject({ status: 302, location: '/customer/account' });
    const cart = await browse('/checkout/cart');
    expect(cart.text).toContain('<span class="customer-group">Wholesale</span>');
    expect(cart.text).toContain(`<span class="cart-price">${formatPrice(toMicros(await restFinalPrice(sku, 2, 2)))}</span>`);
  });
});
