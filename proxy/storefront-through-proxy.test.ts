import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../platform/migrations.ts';
import { silentLogger } from '../platform/logger.ts';
import { startLegacyTestServer, type LegacyTestServer } from '../legacy-stub/pricing/legacy-test-server.ts';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { startProxy, type TestProxy } from './test-kit.ts';

/**
 * Issue 3's acceptance: the storefront (home, product page, add to cart, cart) works through the
 * proxy exactly as directly. The repository's routes.yaml is used as shipped, pointed at the
 * legacy app with LEGACY_PORT, and two shoppers walk the same path — one direct, one proxied.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
let db: TestDatabase;
let shop: LegacyTestServer;
let proxy: TestProxy;

beforeAll(async () => {
  db = await createTestDatabase('proxy_storefront');
  await migrate(db.url, fileURLToPath(new URL('../legacy-stub/schema', import.meta.url)), silentLogger());
  await seedLegacy(db.url, { products: 40, logger: silentLogger(), now: NOW });
  shop = await startLegacyTestServer(db.url, NOW);
  const legacyPort = new URL(shop.baseUrl).port;
  proxy = await startProxy(readFileSync(new URL('../routes.yaml', import.meta.url), 'utf8'), { env: { LEGACY_PORT: legacyPort } });
});
afterAll(async () => {
  await proxy?.close();
  await shop?.close();
  await db?.drop();
});

interface Visit {
  status: number;
  text: string;
  location: string | null;
  setCookies: string[];
  contentType: string | null;
}

function shopper(baseUrl: string) {
  const cookies = new Map<string, string>();
  return async (path: string, form?: Record<string, string>): Promise<Visit> => {
    const headers: Record<string, string> = { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '), 'accept-encoding': 'gzip' };
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(`${baseUrl}${path}`, { method: form ? 'POST' : 'GET', headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [name = '', value = ''] = (line.split(';')[0] ?? '').split('=');
      cookies.set(name, value);
    }
    return { status: response.status, text: await response.text(), location: response.headers.get('location'), setCookies, contentType: response.headers.get('content-type') };
  };
}

/** Session ids and form keys differ per shopper by design; everything else must be identical. */
function comparable(visit: Visit) {
  const scrub = (text: string) => text.replace(/(name="form_key" value=")[^"]+/g, '$1…').replace(/(PHPSESSID|form_key)=[^;]+/g, '$1=…');
  return { status: visit.status, text: scrub(visit.text), location: visit.location, setCookies: visit.setCookies.map(scrub), contentType: visit.contentType };
}

describe('the storefront through the proxy', () => {
  it('home, product page, add to cart and cart look exactly as they do directly', async () => {
    const direct = shopper(shop.baseUrl);
    const proxied = shopper(proxy.url);

    const homes = [await direct('/'), await proxied('/')];
    expect(comparable(homes[1]!)).toEqual(comparable(homes[0]!));
    const productLink = /href="(\/catalog\/product\/view\/id\/\d+)"/.exec(homes[0]!.text)?.[1];
    expect(productLink).toBeDefined();

    const pages = [await direct(productLink!), await proxied(productLink!)];
    expect(pages[0]!.status).toBe(200);
    expect(comparable(pages[1]!)).toEqual(comparable(pages[0]!));

    const add = async (visit: typeof direct, page: Visit) =>
      visit('/checkout/cart/add', {
        product: /name="product" value="(\d+)"/.exec(page.text)![1]!,
        qty: '2',
        form_key: /name="form_key" value="([^"]+)"/.exec(page.text)![1]!,
      });
    const added = [await add(direct, pages[0]!), await add(proxied, pages[1]!)];
    expect(added[0]).toMatchObject({ status: 302, location: '/checkout/cart' });
    expect(comparable(added[1]!)).toEqual(comparable(added[0]!));

    const carts = [await direct('/checkout/cart'), await proxied('/checkout/cart')];
    expect(carts[0]!.text).toContain('data-sku=');
    expect(comparable(carts[1]!)).toEqual(comparable(carts[0]!));
  });

  it('the REST API answers the same through the proxy, with the route it took', async () => {
    const path = '/rest/V1/products?searchCriteria[pageSize]=3';
    const [direct, proxied] = await Promise.all([fetch(`${shop.baseUrl}${path}`), fetch(`${proxy.url}${path}`)]);
    expect(proxied.status).toBe(direct.status);
    expect(await proxied.json()).toEqual(await direct.json());
    expect(proxied.headers.get('x-strangler-route')).toBe('products-search');
    expect(proxied.headers.get('x-strangler-target')).toBe('legacy');
  });
});
