import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { FIXTURE_NOW, FIXTURE_PASSWORD, insertProduct, writePriceFixture } from '../pricing/price-fixture.ts';
import { startLegacyTestServer, type LegacyTestServer } from '../pricing/legacy-test-server.ts';
import { PAGE_SIZE } from './storefront-router.ts';

let db: TestDatabase;
let shop: LegacyTestServer;
let ids: Record<string, number>;
let categoryId: number;

beforeAll(async () => {
  db = await createTestDatabase('storefront');
  ({ productIds: ids, categoryId } = await writePriceFixture(db.url));
  // Enough products for a second page of the category listing.
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  for (let index = 1; index <= 14; index++) {
    const id = await insertProduct(client, { sku: `FILL-${String(index).padStart(2, '0')}`, name: `Filler Tee ${index}`, price: '10' });
    await client.query('INSERT INTO catalog_category_product (category_id, product_id, position) VALUES ($1, $2, $3)', [categoryId, id, 100 + index]);
  }
  await client.end();
  shop = await startLegacyTestServer(db.url, FIXTURE_NOW);
});
afterAll(async () => {
  await shop?.close();
  await db?.drop();
});

/** A browser's cookie jar, enough for one host: remembers Set-Cookie, forgets expired cookies. */
class Browser {
  readonly cookies = new Map<string, string>();

  async request(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(`${shop.baseUrl}${path}`, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const [name = '', value = ''] = pair.split('=');
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value.trim());
    }
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  get(path: string) {
    return this.request(path);
  }

  post(path: string, form: Record<string, string>) {
    return this.request(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  }
}

function formKeyIn(page: string): string {
  const match = /name="form_key" value="([^"]+)"/.exec(page);
  if (!match) throw new Error('no form_key on the page');
  return match[1]!;
}

function cartRows(page: string): Array<{ sku: string; price: string; qty: string; subtotal: string }> {
  return [...page.matchAll(/<tr class="item-info" data-sku="([^"]+)">[\s\S]*?<td class="price"><span class="cart-price">([^<]+)<\/span>[\s\S]*?<td class="qty">([^<]+)<\/td>[\s\S]*?<td class="subtotal"><span class="cart-price">([^<]+)<\/span>/g)].map(
    (match) => ({ sku: match[1]!, price: match[2]!, qty: match[3]!, subtotal: match[4]! }),
  );
}

function grandTotal(page: string): string | undefined {
  return /<strong class="grand-total">([^<]+)<\/strong>/.exec(page)?.[1];
}

describe('the storefront catalog pages', () => {
  it('home lists the categories and featured products, escaped, and starts no session', async () => {
    const browser = new Browser();
    const home = await browser.get('/');
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
    expect(home.text).toContain(`<a href="/catalog/category/view/id/${categoryId}">Gear &amp; &lt;Tops&gt;</a>`);
    expect(home.text).toContain('Chaz Kangeroo Hoodie');
    expect(home.text).not.toContain('Disabled Product');
    expect(home.text).toContain('<script src="/static/price-box.js" defer></script>');
    expect(browser.cookies.has('PHPSESSID')).toBe(false);
  });

  it('pages a category listing twelve at a time with ?p=', async () => {
    const browser = new Browser();
    const first = await browser.get(`/catalog/category/view/id/${categoryId}`);
    expect(first.status).toBe(200);
    const visible = 4 + 14; // the fixture's enabled products and the fillers; the disabled one is not listed
    expect(first.text).toContain(`Items <span class="toolbar-number">1</span>-<span class="toolbar-number">${PAGE_SIZE}</span> of <span class="toolbar-number">${visible}</span>`);
    expect(first.text.match(/class="product-item"/g)).toHaveLength(PAGE_SIZE);
    expect(first.text).toContain(`href="/catalog/category/view/id/${categoryId}?p=2"`);

    const second = await browser.get(`/catalog/category/view/id/${categoryId}?p=2`);
    expect(second.text.match(/class="product-item"/g)).toHaveLength(visible - PAGE_SIZE);
    expect(second.text).toContain('Filler Tee 14');
    expect(second.text).not.toContain('Chaz Kangeroo Hoodie');
    expect(second.text).toContain('rel="prev"');

    expect((await browser.get(`/catalog/category/view/id/${categoryId}?p=99`)).text).toContain('Page 2 of 2');
    expect((await browser.get(`/catalog/category/view/id/${categoryId}?p=abc`)).text).toContain('Page 1 of 2');
  });

  it('answers an unknown category or product, a disabled product and an unknown page with the 404 page', async () => {
    const browser = new Browser();
    for (const path of ['/catalog/category/view/id/99999', '/catalog/product/view/id/99999', `/catalog/product/view/id/${ids.OFF05}`, '/catalog/product/view/id/abc', '/no/such/page']) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(404);
      expect(page.text).toContain('The page you requested was not found.');
    }
  });

  it('shows a product with its escaped description, a form key and a price box fed by the final-price endpoint', async () => {
    const browser = new Browser();
    const page = await browser.get(`/catalog/product/view/id/${ids.MT02}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1 class="page-title" itemprop="name">Tristan Endurance Tank</h1>');
    expect(page.text).toContain('A plain tank &lt;b&gt;without&lt;/b&gt; any deal.');
    expect(page.text).toMatch(/<input type="hidden" name="form_key" value="[A-Za-z0-9]{16}">/);
    expect(page.text).toContain(`<input type="hidden" name="product" value="${ids.MT02}">`);
    expect(page.text).toContain('data-role="price-box" data-sku="MT02" data-customer-group-id="0" data-qty="1"');
    expect(page.text).toContain('<span class="price" data-price-type="finalPrice">$29.99</span>');
    expect(page.headers.get('cache-control')).toContain('no-store');
    const cookie = page.headers.getSetCookie().find((line) => line.startsWith('PHPSESSID='));
    expect(cookie).toMatch(/^PHPSESSID=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  it('renders the no-JS fallback with the special price and the struck-through regular price', async () => {
    const page = await new Browser().get(`/catalog/product/view/id/${ids.MH01}`);
    expect(page.text).toContain('<span class="price" data-price-type="finalPrice">$45.00</span>');
    expect(page.text).toMatch(/<span class="old-price" data-price-type="oldPrice">Regular Price <span class="price">\$52.00<\/span>/);
  });
});

describe('the cart', () => {
  it('adds a product with the form key (302 to the cart) and shows the line, its price and the total', async () => {
    const browser = new Browser();
    const product = await browser.get(`/catalog/product/view/id/${ids.MH01}`);
    const added = await browser.post('/checkout/cart/add', { product: String(ids.MH01), qty: '1', form_key: formKeyIn(product.text) });
    expect(added.status).toBe(302);
    expect(added.headers.get('location')).toBe('/checkout/cart');

    const cart = await browser.get('/checkout/cart');
    expect(cart.status).toBe(200);
    expect(cartRows(cart.text)).toEqual([{ sku: 'MH01', price: '$45.00', qty: '1', subtotal: '$45.00' }]);
    expect(grandTotal(cart.text)).toBe('$45.00');
    expect(cart.text).toContain('<span class="counter-number">1</span>');
  });

  it('adding more of the same product raises the quantity and reprices the line with the tier it reaches', async () => {
    const browser = new Browser();
    const formKey = formKeyIn((await browser.get(`/catalog/product/view/id/${ids.MH01}`)).text);
    await browser.post('/checkout/cart/add', { product: String(ids.MH01), qty: '2', form_key: formKey });
    await browser.post('/checkout/cart/add', { product: String(ids.MH01), qty: '3', form_key: formKey });
    await browser.post('/checkout/cart/add', { product: String(ids.MT02), qty: '', form_key: formKey });
    const cart = await browser.get('/checkout/cart');
    expect(cartRows(cart.text)).toEqual([
      { sku: 'MH01', price: '$40.00', qty: '5', subtotal: '$200.00' },
      { sku: 'MT02', price: '$29.99', qty: '1', subtotal: '$29.99' },
    ]);
    expect(grandTotal(cart.text)).toBe('$229.99');
    const { rows } = await shop.pool.query<{ grand_total: string; items_qty: string }>(
      "SELECT grand_total::text, items_qty::text FROM quote WHERE session_id = $1",
      [browser.cookies.get('PHPSESSID')],
    );
    expect(rows).toEqual([{ grand_total: '229.9900', items_qty: '6.0000' }]);
  });

  it('refuses an add without the right form key, and the cart stays as it was', async () => {
    const browser = new Browser();
    await browser.get(`/catalog/product/view/id/${ids.MH01}`);
    const forged = await browser.post('/checkout/cart/add', { product: String(ids.MH01), qty: '1', form_key: 'AAAAAAAAAAAAAAAA' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('Invalid Form Key. Please refresh the page.');
    const missing = await browser.post('/checkout/cart/add', { product: String(ids.MH01), qty: '1' });
    expect(missing.status).toBe(403);
    const stranger = await new Browser().post('/checkout/cart/add', { product: String(ids.MH01), qty: '1', form_key: 'AAAAAAAAAAAAAAAA' });
    expect(stranger.status).toBe(403);
    expect((await browser.get('/checkout/cart')).text).toContain('You have no items in your shopping cart.');
  });

  it('refuses a bad quantity, an unknown product and a disabled one', async () => {
    const browser = new Browser();
    const formKey = formKeyIn((await browser.get(`/catalog/product/view/id/${ids.MT02}`)).text);
    for (const qty of ['0', '-1', 'two', '10001']) {
      const answer = await browser.post('/checkout/cart/add', { product: String(ids.MT02), qty, form_key: formKey });
      expect(answer.status, qty).toBe(400);
      expect(answer.text).toContain('Please enter a quantity greater than 0 to fix this.');
    }
    expect((await browser.post('/checkout/cart/add', { product: '99999', qty: '1', form_key: formKey })).status).toBe(404);
    expect((await browser.post('/checkout/cart/add', { product: String(ids.OFF05), qty: '1', form_key: formKey })).status).toBe(404);
    expect((await browser.get('/checkout/cart')).text).toContain('You have no items in your shopping cart.');
  });
});

describe('login changes prices', () => {
  it('a wrong password shows the form again with an error and changes nothing', async () => {
    const browser = new Browser();
    const form = await browser.get('/customer/account/login');
    expect(form.text).toContain('name="login[username]"');
    const before = browser.cookies.get('PHPSESSID');
    const answer = await browser.post('/customer/account/loginPost', {
      form_key: formKeyIn(form.text),
      'login[username]': 'wholesale@example.com',
      'login[password]': 'not the password',
    });
    expect(answer.status).toBe(401);
    expect(answer.text).toContain('The account sign-in was incorrect or your account is disabled temporarily.');
    expect(answer.text).toContain('value="wholesale@example.com"');
    expect(browser.cookies.get('PHPSESSID')).toBe(before);
    expect((await browser.get('/customer/account')).status).toBe(302);
  });

  it('a login without the form key is refused', async () => {
    const browser = new Browser();
    await browser.get('/customer/account/login');
    const answer = await browser.post('/customer/account/loginPost', { 'login[username]': 'wholesale@example.com', 'login[password]': FIXTURE_PASSWORD });
    expect(answer.status).toBe(403);
    expect((await browser.get('/customer/account')).status).toBe(302);
  });

  it('signing in as a wholesale customer renews the session, keeps the cart and reprices it for the group', async () => {
    const browser = new Browser();
    const product = await browser.get(`/catalog/product/view/id/${ids.MH01}`);
    await browser.post('/checkout/cart/add', { product: String(ids.MH01), qty: '1', form_key: formKeyIn(product.text) });
    expect(cartRows((await browser.get('/checkout/cart')).text)).toEqual([{ sku: 'MH01', price: '$45.00', qty: '1', subtotal: '$45.00' }]);
    const guestSession = browser.cookies.get('PHPSESSID');

    const form = await browser.get('/customer/account/login');
    const login = await browser.post('/customer/account/loginPost', {
      form_key: formKeyIn(form.text),
      'login[username]': 'Wholesale@Example.com',
      'login[password]': FIXTURE_PASSWORD,
    });
    expect(login.status).toBe(302);
    expect(login.headers.get('location')).toBe('/customer/account');
    expect(browser.cookies.get('PHPSESSID')).toMatch(/^[0-9a-f]{64}$/);
    expect(browser.cookies.get('PHPSESSID')).not.toBe(guestSession);

    const account = await browser.get('/customer/account');
    expect(account.text).toContain('Welcome, Walter!');
    expect(account.text).toContain('<span class="customer-group">Wholesale</span>');

    // 25% off for Wholesale beats the special price.
    const cart = await browser.get('/checkout/cart');
    expect(cartRows(cart.text)).toEqual([{ sku: 'MH01', price: '$39.00', qty: '1', subtotal: '$39.00' }]);
    expect(cart.text).toContain('<span class="customer-group">Wholesale</span>');
    const page = await browser.get(`/catalog/product/view/id/${ids.MH01}`);
    expect(page.text).toContain('data-sku="MH01" data-customer-group-id="2"');
    expect(page.text).toContain('<span class="price" data-price-type="finalPrice">$39.00</span>');

    // The old session id no longer opens anything.
    const planted = new Browser();
    planted.cookies.set('PHPSESSID', guestSession!);
    expect((await planted.get('/checkout/cart')).text).toContain('You have no items in your shopping cart.');
  });

  it('signing out forgets the session and its cart', async () => {
    const browser = new Browser();
    const form = await browser.get('/customer/account/login');
    await browser.post('/customer/account/loginPost', { form_key: formKeyIn(form.text), 'login[username]': 'general@example.com', 'login[password]': FIXTURE_PASSWORD });
    const product = await browser.get(`/catalog/product/view/id/${ids.MT02}`);
    expect(product.text).toContain('Welcome, Gina!');
    await browser.post('/checkout/cart/add', { product: String(ids.MT02), qty: '1', form_key: formKeyIn(product.text) });
    const logout = await browser.get('/customer/account/logout');
    expect(logout.status).toBe(302);
    expect(logout.headers.get('location')).toBe('/');
    expect(browser.cookies.has('PHPSESSID')).toBe(false);
    const cart = await browser.get('/checkout/cart');
    expect(cart.text).toContain('You have no items in your shopping cart.');
    expect(cart.text).toContain('Sign In');
  });
});

describe('static assets and compression', () => {
  function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      http
        .get(`${shop.baseUrl}${path}`, { headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
  }

  it('serves the stylesheet and the price-box script under /static/', async () => {
    const css = await rawGet('/static/styles.css', {});
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.headers['cache-control']).toBe('public, max-age=3600');
    const js = await rawGet('/static/price-box.js', {});
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.body.toString()).toContain('/final-price?customerGroupId=');
  });

  it('gzips pages and assets when the browser asks, and not otherwise', async () => {
    for (const path of ['/', '/static/styles.css']) {
      const zipped = await rawGet(path, { 'accept-encoding': 'gzip' });
      expect(zipped.headers['content-encoding'], path).toBe('gzip');
      expect(zipped.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const plain = await rawGet(path, { 'accept-encoding': 'identity' });
      expect(plain.headers['content-encoding'], path).toBeUndefined();
    }
  });
});

describe('the price box in the browser', () => {
  /** Runs static/price-box.js against a minimal DOM holding one price box, with fetch pointed at `origin`. */
  async function runPriceBox(origin: string, box: { sku: string; group: number; finalText: string }) {
    const attributes = new Map<string, string>([
      ['data-sku', box.sku],
      ['data-customer-group-id', String(box.group)],
      ['data-qty', '1'],
      ['data-price-source', 'server'],
    ]);
    const finalSpan = { textContent: box.finalText };
    const oldInner = { textContent: '' };
    const oldSpan = { hidden: true, querySelector: () => oldInner };
    const element = {
      getAttribute: (name: string) => attributes.get(name) ?? null,
      setAttribute: (name: string, value: string) => attributes.set(name, value),
      querySelector: (selector: string) => (selector.includes('finalPrice') ? finalSpan : oldSpan),
    };
    const requested: string[] = [];
    const sandbox = {
      window: {} as { priceBoxes?: { ready: Promise<unknown> } },
      document: { readyState: 'complete', querySelectorAll: () => [element], addEventListener() {} },
      fetch: (url: string, init: RequestInit) => {
        requested.push(url);
        return fetch(`${origin}${url}`, init);
      },
    };
    vm.runInNewContext(await readFile(new URL('./static/price-box.js', import.meta.url), 'utf8'), sandbox);
    await sandbox.window.priceBoxes!.ready;
    return { requested, finalText: finalSpan.textContent, oldText: oldInner.textContent, oldHidden: oldSpan.hidden, source: attributes.get('data-price-source') };
  }

  it('asks the final-price endpoint for the session group and shows its answer', async () => {
    const result = await runPriceBox(shop.baseUrl, { sku: 'MH01', group: 2, finalText: '$52.00' });
    expect(result).toEqual({
      requested: ['/rest/V1/products/MH01/final-price?customerGroupId=2&qty=1'],
      finalText: '$39.00',
      oldText: '$52.00',
      oldHidden: false,
      source: 'rest',
    });
  });

  it('shows whatever the endpoint answers, so a cutover to another pricing service is what the shopper sees', async () => {
    const extracted = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sku: 'MJ/04 x', customer_group_id: 0, qty: 1, regular_price: 42, final_price: 24.525 }));
    });
    await new Promise<void>((resolve) => extracted.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(extracted.address() as AddressInfo).port}`;
      const result = await runPriceBox(origin, { sku: 'MJ/04 x', group: 0, finalText: '$42.00' });
      expect(result.requested).toEqual(['/rest/V1/products/MJ%2F04%20x/final-price?customerGroupId=0&qty=1']);
      // Rounded half-up on the decimal text, as the server rounds its fallback (a float would give $24.52).
      expect(result.finalText).toBe('$24.53');
      expect(result.source).toBe('rest');
    } finally {
      await new Promise((resolve) => extracted.close(resolve));
    }
  });

  it('keeps the server-rendered price when the endpoint fails', async () => {
    const result = await runPriceBox(shop.baseUrl, { sku: 'NOPE', group: 0, finalText: '$9.99' });
    expect(result.finalText).toBe('$9.99');
    expect(result.source).toBe('fallback');
  });
});
