import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PimMetrics } from '../metrics.ts';
import { call, eventually, PimStack } from '../testing/pim-stack.ts';
import { createProductReads } from './product-reads.ts';

// The legacy's product API is the contract: for the same data, the PIM must answer the same
// bytes — items, order, paging, total_count, search_criteria echo — and the same error bodies.
let stack: PimStack;

beforeAll(async () => {
  stack = await PimStack.start({ products: 100, label: 'pim_parity' });
  await eventually(() => call(stack.pimBase, '/readyz'), (answer) => answer.status === 200, 60_000, 'readyz');
});

afterAll(async () => {
  await stack?.stop();
});

const f = (group: number, index: number, field: string, value?: string, condition?: string): Record<string, string> => {
  const prefix = `searchCriteria[filter_groups][${group}][filters][${index}]`;
  return {
    [`${prefix}[field]`]: field,
    ...(value === undefined ? {} : { [`${prefix}[value]`]: value }),
    ...(condition === undefined ? {} : { [`${prefix}[condition_type]`]: condition }),
  };
};
const sort = (index: number, field: string, direction?: string): Record<string, string> => ({
  [`searchCriteria[sortOrders][${index}][field]`]: field,
  ...(direction === undefined ? {} : { [`searchCriteria[sortOrders][${index}][direction]`]: direction }),
});
const page = (size: number, current?: number): Record<string, string> => ({
  'searchCriteria[pageSize]': String(size),
  ...(current === undefined ? {} : { 'searchCriteria[currentPage]': String(current) }),
});

const queries: Array<[string, Record<string, string>]> = [
  ['the first page, default size', { ...f(0, 0, 'sku', '%', 'like') }],
  ['a price range sorted by price, page 2 of 7', { ...f(0, 0, 'price', '20', 'from'), ...f(1, 0, 'price', '80', 'to'), ...sort(0, 'price', 'ASC'), ...page(7, 2) }],
  ['name like, case-insensitive, sorted by name descending', { ...f(0, 0, 'name', '%TEE%', 'like'), ...sort(0, 'name', 'DESC'), ...page(50) }],
  ['in and nin on an int attribute (color)', { ...f(0, 0, 'color', '1,2,3,4,5,6,7,8,9,10,11,12', 'in'), ...f(1, 0, 'color', '3,4', 'nin'), ...page(100) }],
  ['a category, newest first', { ...f(0, 0, 'category_id', '3,5', 'in'), ...sort(0, 'created_at', 'DESC'), ...page(10) }],
  ['not in a category (neq), by entity id', { ...f(0, 0, 'category_id', '5', 'neq'), ...sort(0, 'entity_id', 'ASC'), ...page(15, 3) }],
  ['null and notnull: without a special price, with a material', { ...f(0, 0, 'special_price', undefined, 'null'), ...f(1, 0, 'material', undefined, 'notnull'), ...page(100) }],
  ['ORed filters in one group, sorted by special price (NULLs first ascending)', { ...f(0, 0, 'status', '2'), ...f(0, 1, 'special_price', '30', 'gt'), ...sort(0, 'special_price', 'ASC'), ...page(30) }],
  ['dates: updated after a day, gteq/lt on created_at', { ...f(0, 0, 'created_at', '2024-06-01', 'gteq'), ...f(1, 0, 'updated_at', '2025-01-01 00:00:00', 'lt'), ...sort(0, 'updated_at'), ...page(25) }],
  ['two sorts: visibility descending then price ascending', { ...sort(0, 'visibility', 'desc'), ...sort(1, 'price', 'ASC'), ...page(40, 2) }],
  ['finset and eq on text', { ...f(0, 0, 'size', '14,15,16', 'finset'), ...f(0, 1, 'type_id', 'simple'), ...page(5) }],
  ['neq, lteq and like on a decimal text form', { ...f(0, 0, 'weight', '0.3', 'neq'), ...f(1, 0, 'price', '50', 'lteq'), ...f(2, 0, 'price', '%.99%', 'like'), ...page(100) }],
  ['a page past the end', { ...page(20, 50) }],
  ['snake_case keys and a sort without direction', { 'searchCriteria[page_size]': '3', 'searchCriteria[current_page]': '4', ...sort(0, 'name') }],
];

const errors: Array<[string, string]> = [
  ['no searchCriteria', ''],
  ['an unknown field', new URLSearchParams(f(0, 0, 'colour', '1')).toString()],
  ['a static attribute', new URLSearchParams(f(0, 0, 'sku_static', '1')).toString()],
  ['a bad number', new URLSearchParams(f(0, 0, 'price', 'cheap', 'gt')).toString()],
  ['a bad date', new URLSearchParams(f(0, 0, 'created_at', '2024-02-30', 'gt')).toString()],
  ['an unknown condition', new URLSearchParams(f(0, 0, 'price', '1', 'between')).toString()],
  ['a category with like', new URLSearchParams(f(0, 0, 'category_id', '3', 'like')).toString()],
  ['sorting by category', new URLSearchParams(sort(0, 'category_id')).toString()],
  ['a page size over the limit', 'searchCriteria[pageSize]=301'],
  ['a value missing', new URLSearchParams(f(0, 0, 'price', undefined, 'gt')).toString()],
  ['empty brackets', 'searchCriteria[filter_groups][][filters][0][field]=sku'],
];


/**
 * The PIM's node:http product reads alone on a port, express replaced by a 599 (a 598 for what
 * the reads decline): `use` gets the base URL and how many requests were handed to express.
 */
async function withReadsAlone(
  options: { productCache?: PimStack['pim']['productCache'] },
  use: (base: string, handedToExpress: () => number) => Promise<void>,
): Promise<void> {
  let handedToExpress = 0;
  const reads = createProductReads(
    { store: stack.pim.store, dictionary: () => stack.pim.projector.currentDictionary(), freshness: stack.pim.freshness, metrics: new PimMetrics(), ...options },
    (_req, res) => {
      handedToExpress += 1;
      res.writeHead(599).end();
    },
  );
  const server = http.createServer((req, res) => {
    if (!reads(req, res)) res.writeHead(598).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, () => handedToExpress);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('GET /rest/V1/products?searchCriteria answers like the legacy', () => {
  for (const [what, params] of queries) {
    it(`${what}: same items in the same order, same total_count and echo`, async () => {
      const path = `/rest/V1/products?${new URLSearchParams(params).toString()}`;
      const [expected, actual] = await Promise.all([call(stack.legacyBase, path), call(stack.pimBase, path)]);
      expect(expected.status, expected.text).toBe(200);
      expect(actual.status).toBe(200);
      // A query that matches nothing would prove little.
      if (!what.includes('past the end')) expect(expected.body.items.length).toBeGreaterThan(0);
      expect(actual.body.total_count).toBe(expected.body.total_count);
      expect(actual.body.items.map((item: { sku: string }) => item.sku)).toEqual(expected.body.items.map((item: { sku: string }) => item.sku));
      expect(actual.text).toBe(expected.text);
    });
  }

  for (const [what, query] of errors) {
    it(`when the query has ${what}, then the status and error body are the legacy's`, async () => {
      const path = `/rest/V1/products${query ? `?${query}` : ''}`;
      const [expected, actual] = await Promise.all([call(stack.legacyBase, path), call(stack.pimBase, path)]);
      expect(expected.status).toBe(400);
      expect(actual.status).toBe(400);
      expect(actual.body).toEqual(expected.body);
    });
  }
});

describe('GET /rest/V1/products/:sku answers like the legacy', () => {
  it('when the sku does not exist, then 404 with the same body', async () => {
    const [expected, actual] = await Promise.all([call(stack.legacyBase, '/rest/V1/products/NOPE-1'), call(stack.pimBase, '/rest/V1/products/NOPE-1')]);
    expect(actual.status).toBe(404);
    expect(actual.text).toBe(expected.text);
  });

  it('every response carries X-Data-Lsn, the newest legacy change the data includes', async () => {
    const health = await call(stack.pimBase, '/healthz');
    for (const path of ['/rest/V1/products/NOPE-1', '/rest/V1/products?searchCriteria[pageSize]=1', '/search?q=tee', '/readyz']) {
      const answer = await call(stack.pimBase, path);
      expect(answer.headers.get('x-data-lsn'), path).toBe(health.body.appliedLsn);
    }
  });
});

describe('without Accept-Encoding, the storefront reads are answered before express with the same bytes and headers', () => {
  /** A GET as a client that does not ask for compression sends it (node:http adds only Host and Connection). */
  const rawGet = (base: string, path: string) =>
    new Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      http
        .get(`${base}${path}`, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
        })
        .on('error', reject);
    });
  // What differs between any two servers, and the PIM's own freshness header.
  const comparable = (headers: Record<string, string | string[] | undefined>) =>
    Object.fromEntries(Object.entries(headers).filter(([name]) => !['date', 'connection', 'keep-alive', 'x-data-lsn'].includes(name)));
  let skus: string[] = [];
  beforeAll(async () => {
    const some = await call(stack.legacyBase, '/rest/V1/products?searchCriteria[pageSize]=3');
    skus = (some.body as { items: Array<{ sku: string }> }).items.map((item) => item.sku);
  });
  const paths = () => [
    ...queries.map(([, params]) => `/rest/V1/products?${new URLSearchParams(params).toString()}`),
    '/rest/V1/products/NOPE-1',
    ...skus.map((sku) => `/rest/V1/products/${encodeURIComponent(sku)}`),
  ];

  it('the PIM answers every query, product and unknown sku like the legacy, header for header', async () => {
    // Three times: a product's second answer comes from the PIM's answer cache (product-response-cache.ts), a listing's third from its own (listing-response-cache.ts).
    for (const path of [...paths(), ...paths(), ...paths(), ...errors.map(([, query]) => `/rest/V1/products${query ? `?${query}` : ''}`)]) {
      const [expected, actual] = await Promise.all([rawGet(stack.legacyBase, path), rawGet(stack.pimBase, path)]);
      expect(actual.status, path).toBe(expected.status);
      expect(actual.text, path).toBe(expected.text);
      expect(comparable(actual.headers), path).toEqual(comparable(expected.headers));
      expect(actual.headers['x-data-lsn'], path).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    }
    expect(stack.pim.productCache?.hits).toBeGreaterThanOrEqual(skus.length);
  });

  it('those answers come from the node:http path, not from express', async () => {
    await withReadsAlone({}, async (base, handedToExpress) => {
      for (const path of paths()) {
        const [expected, actual] = await Promise.all([rawGet(stack.legacyBase, path), rawGet(base, path)]);
        expect(actual.text, path).toBe(expected.text);
      }
      expect(handedToExpress()).toBe(0);
      // A compressing client's listing, an Accept-Encoding outside the known ones, and a query the legacy refuses, are left to express.
      const listing = await fetch(`${base}${paths()[0]}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(listing.status).toBe(598);
      const weighted = await fetch(`${base}/rest/V1/products/NOPE-1`, { headers: { 'accept-encoding': 'gzip;q=0.5, identity' } });
      expect(weighted.status).toBe(598);
      const refused = await rawGet(base, `/rest/V1/products?${errors[1]![1]}`);
      expect(refused.status).toBe(599);
    });
  });
});

describe('with the Accept-Encoding of browsers and HTTP clients, a product is answered compressed before express as express would', () => {
  /** A GET with that Accept-Encoding, the body decoded by its Content-Encoding. */
  const encodedGet = (base: string, path: string, acceptEncoding: string) =>
    new Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      http
        .get(`${base}${path}`, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            const coding = res.headers['content-encoding'];
            const body = coding === 'br' ? brotliDecompressSync(raw) : coding === 'gzip' ? gunzipSync(raw) : raw;
            resolve({ status: res.statusCode ?? 0, text: body.toString('utf8'), headers: res.headers });
          });
        })
        .on('error', reject);
    });
  const comparable = (headers: Record<string, string | string[] | undefined>) =>
    Object.fromEntries(Object.entries(headers).filter(([name]) => !['date', 'connection', 'keep-alive', 'x-data-lsn'].includes(name)));

  it('the same coding, headers and decoded bytes as the legacy, the first time and from the cache, and none of it through express', async () => {
    const some = await call(stack.legacyBase, '/rest/V1/products?searchCriteria[pageSize]=3');
    const skus = (some.body as { items: Array<{ sku: string }> }).items.map((item) => item.sku);
    await withReadsAlone({ productCache: stack.pim.productCache }, async (base, handedToExpress) => {
      for (const acceptEncoding of ['gzip, deflate, br, zstd', 'gzip, deflate, br', 'br', 'gzip, deflate', 'gzip']) {
        for (const path of [...skus.map((sku) => `/rest/V1/products/${encodeURIComponent(sku)}`), '/rest/V1/products/NOPE-1']) {
          for (const round of [1, 2]) {
            const [expected, actual] = await Promise.all([encodedGet(stack.legacyBase, path, acceptEncoding), encodedGet(base, path, acceptEncoding)]);
            const what = `${path} with ${acceptEncoding}, read ${round}`;
            expect(actual.status, what).toBe(expected.status);
            expect(actual.text, what).toBe(expected.text);
            expect(comparable(actual.headers), what).toEqual(comparable(expected.headers));
            if (expected.status === 200) expect(actual.headers['content-encoding'], what).toBe(acceptEncoding.includes('br') ? 'br' : 'gzip');
          }
        }
      }
      expect(handedToExpress()).toBe(0);
    });
  });
});

describe('a product answered from the answer cache', () => {
  const rawGet = (path: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      http
        .get(`${stack.pimBase}${path}`, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        })
        .on('error', reject);
    });

  // Last in this file: it changes the catalog the parity specs above compare.
  it('when the product changes in the legacy, then the PIM answers the change within two seconds, and a delete within two seconds too', async () => {
    const listingPath = '/rest/V1/products?searchCriteria[pageSize]=1';
    const some = await call(stack.legacyBase, listingPath);
    const sku = (some.body as { items: Array<{ sku: string }> }).items[0]!.sku;
    const path = `/rest/V1/products/${encodeURIComponent(sku)}`;
    // The listing that holds it, read three times: kept from the second read on, the third answer comes from the listing cache (listing-response-cache.ts).
    for (let i = 0; i < 3; i += 1) expect((await rawGet(listingPath)).text).toBe(some.text);
    await rawGet(path);
    const hitsBefore = stack.pim.productCache!.hits;
    expect((await rawGet(path)).status).toBe(200);
    expect(stack.pim.productCache!.hits).toBe(hitsBefore + 1); // the cache holds it now

    const updated = await call(stack.legacyBase, path, { method: 'PUT', body: { product: { name: 'Cached Then Changed', price: '42' } } });
    expect(updated.status, updated.text).toBe(200);
    const expected = await call(stack.legacyBase, path);
    const changedAt = Date.now();
    const fresh = await eventually(() => rawGet(path), (answer) => answer.text === expected.text, 2000, `${sku} changed in the PIM`);
    expect(JSON.parse(fresh.text).name).toBe('Cached Then Changed');
    expect(Date.now() - changedAt).toBeLessThan(2000);
    // Asked again at once: still the new bytes (now from the cache again), never the old.
    for (let i = 0; i < 5; i += 1) expect((await rawGet(path)).text).toBe(expected.text);
    // The listing that held the old product shows the change too, and keeps showing it.
    const expectedListing = (await call(stack.legacyBase, listingPath)).text;
    expect(expectedListing).toContain('Cached Then Changed');
    await eventually(() => rawGet(listingPath), (answer) => answer.text === expectedListing, 2000, 'the listing changed in the PIM');
    expect(Date.now() - changedAt).toBeLessThan(2000);
    for (let i = 0; i < 5; i += 1) expect((await rawGet(listingPath)).text).toBe(expectedListing);

    const deleted = await call(stack.legacyBase, path, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    const gone = await call(stack.legacyBase, path);
    const after = await eventually(() => rawGet(path), (answer) => answer.status === 404, 2000, `${sku} deleted in the PIM`);
    expect(after.text).toBe(gone.text);
    for (let i = 0; i < 5; i += 1) expect((await rawGet(path)).status).toBe(404);
    const listingAfterDelete = (await call(stack.legacyBase, listingPath)).text;
    await eventually(() => rawGet(listingPath), (answer) => answer.text === listingAfterDelete, 2000, 'the listing without the deleted product');
    expect(listingAfterDelete).not.toContain(`"sku":${JSON.stringify(sku)}`);
  });
});
