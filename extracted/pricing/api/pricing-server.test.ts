import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import querystring from 'node:querystring';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRootLogger } from '../../../platform/logger.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import { PricingMetrics } from '../metrics.ts';
import type { PriceStore, ProductFacts } from '../store/price-store.ts';
import type { ProductPriceFacts } from '../domain/price-rule.ts';
import { FactsCache } from './facts-cache.ts';
import { finalPriceAnswer } from './final-price.ts';
import { createPricingServer } from './pricing-server.ts';

// The hot path answers a cached sku from the body text remembered for its query string and day:
// that must never differ from computing the answer afresh, across midnights and changes.

const DAY_MS = 86_400_000;
const BASE = Date.UTC(2026, 2, 14, 23, 0, 0);

let server: http.Server | undefined;
let cache: FactsCache | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  cache?.close();
  server = undefined;
});

function start(products: Map<string, ProductFacts>, clock: () => Date): Promise<string> {
  const metrics = new PricingMetrics();
  cache = new FactsCache({ ttlSeconds: 600, metrics });
  const store = { factsOf: async (sku: string) => products.get(sku) ?? null } as unknown as PriceStore;
  const created = createPricingServer({
    store,
    cache,
    metrics,
    logger: createRootLogger({ name: 'pricing-server-test', level: 'silent' }),
    clock,
    appliedLsn: () => Lsn.parse('0/16B3748'),
    progress: () => Promise.reject(new Error('not used')),
    bridgeStatus: async () => null,
  });
  server = created;
  return new Promise((resolve) => created.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(created.address() as AddressInfo).port}`)));
}

const product = (sku: string, facts: ProductPriceFacts): ProductFacts => ({ entityId: 1, sku, facts });

async function ask(base: string, sku: string, query: string): Promise<{ status: number; text: string; lsn: string | null; length: string | null }> {
  const response = await fetch(`${base}/rest/V1/products/${encodeURIComponent(sku)}/final-price${query ? `?${query}` : ''}`);
  return { status: response.status, text: await response.text(), lsn: response.headers.get('x-data-lsn'), length: response.headers.get('content-length') };
}

describe('the final-price hot path remembers answers per query string and day', () => {
  it('when midnight UTC opens a special-price window, then a remembered answer gives way to the special price', async () => {
    let now = new Date(BASE); // 23:00 on the 14th
    const products = new Map([
      ['A', product('A', { price: '100.000000', specialPrice: '80.000000', specialFrom: '2026-03-15 00:00:00', specialTo: null, tiers: [] })],
    ]);
    const base = await start(products, () => now);
    const before = await ask(base, 'A', 'qty=1');
    expect(JSON.parse(before.text)).toMatchObject({ final_price: 100 });
    expect(await ask(base, 'A', 'qty=1')).toEqual(before);
    now = new Date(BASE + 3_600_000); // 00:00 on the 15th
    expect(JSON.parse((await ask(base, 'A', 'qty=1')).text)).toMatchObject({ final_price: 80 });
  });

  it('when a change for the sku is applied, then its remembered answers are forgotten with its facts', async () => {
    const products = new Map([['A', product('A', { price: '10.000000', specialPrice: null, specialFrom: null, specialTo: null, tiers: [] })]]);
    const base = await start(products, () => new Date(BASE));
    expect(JSON.parse((await ask(base, 'A', '')).text)).toMatchObject({ final_price: 10 });
    products.set('A', product('A', { price: '12.500000', specialPrice: null, specialFrom: null, specialTo: null, tiers: [] }));
    expect(JSON.parse((await ask(base, 'A', '')).text)).toMatchObject({ final_price: 10 });
    cache!.invalidate({ skus: new Set(['A']), all: false });
    expect(JSON.parse((await ask(base, 'A', '')).text)).toMatchObject({ final_price: 12.5 });
  });

  it('for random products, repeated query strings (bad ones too) and moments over several days, every answer is the one computed afresh', async () => {
    let now = new Date(BASE);
    const products = new Map<string, ProductFacts>();
    const base = await start(products, () => now);
    const decimal = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 99 })).map(([whole, cents]) => `${whole}.${String(cents).padStart(2, '0')}0000`);
    const day = fc.integer({ min: -2, max: 3 }).map((offset) => new Date(BASE + offset * DAY_MS).toISOString().slice(0, 10) + ' 00:00:00');
    const facts: fc.Arbitrary<ProductPriceFacts> = fc.record({
      price: decimal,
      specialPrice: fc.option(decimal, { nil: null }),
      specialFrom: fc.option(day, { nil: null }),
      specialTo: fc.option(day, { nil: null }),
      tiers: fc.array(
        fc.record({ allGroups: fc.boolean(), customerGroupId: fc.integer({ min: 0, max: 3 }), qty: fc.constantFrom('1.0000', '5.0000', '10.0000'), value: decimal, percentageValue: fc.option(fc.constantFrom('10.000000', '12.500000'), { nil: null }) }),
        { maxLength: 3 },
      ),
    });
    const query = fc.constantFrom('', 'qty=1', 'qty=5', 'qty=10&customerGroupId=1', 'customerGroupId=2&qty=2.5', 'customerGroupId=x', 'qty=0', 'qty=1&qty=2');
    const requests = fc.array(fc.record({ sku: fc.constantFrom('A', 'B', 'C', 'NONE'), query, hours: fc.integer({ min: 0, max: 4 * 24 }) }), { minLength: 1, maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(fc.tuple(facts, facts, facts), requests, async ([a, b, c], asked) => {
        cache!.invalidate({ skus: new Set(), all: true });
        products.clear();
        for (const [sku, item] of [['A', a], ['B', b], ['C', c]] as const) products.set(sku, product(sku, item));
        for (const request of asked) {
          now = new Date(BASE + request.hours * 3_600_000);
          const expected = finalPriceAnswer(products.get(request.sku) ?? null, querystring.parse(request.query), now);
          const text = JSON.stringify(expected.body);
          const answer = await ask(base, request.sku, request.query);
          expect(answer).toEqual({ status: expected.status, text, lsn: '0/16B3748', length: String(Buffer.byteLength(text)) });
        }
      }),
      { numRuns: 60 },
    );
  });
});
