import { afterEach, describe, expect, it } from 'vitest';
import { FactsCache } from './facts-cache.ts';
import { PricingMetrics } from '../metrics.ts';
import type { ProductFacts } from '../store/price-store.ts';

const facts = (price: string): ProductFacts => ({ entityId: 1, sku: 'A', facts: { price, specialPrice: null, specialFrom: null, specialTo: null, tiers: [] } });

let cache: FactsCache;
afterEach(() => cache?.close());

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

describe('the final-price facts cache', () => {
  it('answers a second lookup from the cache, and concurrent misses share one store read', async () => {
    cache = new FactsCache({ ttlSeconds: 60, metrics: new PricingMetrics() });
    let reads = 0;
    const load = async () => {
      reads += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return facts('1');
    };
    await Promise.all([cache.get('A', load), cache.get('A', load), cache.get('A', load)]);
    await cache.get('A', load);
    expect(reads).toBe(1);
  });

  it('when a change for the sku is applied while a read is in flight, then that read\'s (old) facts are not cached', async () => {
    cache = new FactsCache({ ttlSeconds: 60, metrics: new PricingMetrics() });
    const slow = deferred<ProductFacts>();
    const first = cache.get('A', () => slow.promise);
    cache.invalidate({ skus: new Set(['A']), all: false });
    slow.resolve(facts('1'));
    expect((await first)?.facts.price).toBe('1');
    expect((await cache.get('A', async () => facts('2')))?.facts.price).toBe('2');
  });

  it('when a change for another sku or everything is applied, then only what it names is dropped', async () => {
    cache = new FactsCache({ ttlSeconds: 60, metrics: new PricingMetrics() });
    await cache.get('A', async () => facts('1'));
    await cache.get('B', async () => facts('1'));
    cache.invalidate({ skus: new Set(['B']), all: false });
    expect((await cache.get('A', async () => facts('2')))?.facts.price).toBe('1');
    expect((await cache.get('B', async () => facts('2')))?.facts.price).toBe('2');
    cache.invalidate({ skus: new Set(), all: true });
    expect((await cache.get('A', async () => facts('3')))?.facts.price).toBe('3');
  });

  it('when a hit finds an entry older than the refresh age, then it answers from it and reloads it in the background, once', async () => {
    let now = 1_000_000;
    const metrics = new PricingMetrics();
    cache = new FactsCache({ ttlSeconds: 60, refreshAfterSeconds: 45, metrics, now: () => now });
    let reads = 0;
    const reload = deferred<ProductFacts>();
    const load = () => (reads += 1) === 1 ? Promise.resolve(facts('1')) : reload.promise;
    await cache.get('A', load);
    now += 44_000;
    expect(cache.peek('A', load)?.facts?.facts.price).toBe('1');
    expect(reads).toBe(1);
    now += 1_000;
    expect(cache.peek('A', load)?.facts?.facts.price).toBe('1');
    expect(cache.peek('A', load)?.facts?.facts.price).toBe('1');
    expect(reads).toBe(2);
    reload.resolve(facts('2'));
    await reload.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.peek('A', load)?.facts?.facts.price).toBe('2');
    expect(reads).toBe(2);
    const lookups = (await metrics.cacheLookups.get()).values;
    expect(lookups.find((value) => value.labels.result === 'miss')?.value).toBe(1);
  });

  it('refreshes at most two entries at a time; the others on a later hit', async () => {
    let now = 1_000_000;
    cache = new FactsCache({ ttlSeconds: 60, metrics: new PricingMetrics(), now: () => now });
    for (const sku of ['A', 'B', 'C']) await cache.get(sku, async () => facts('1'));
    now += 50_000;
    const started: string[] = [];
    const reloads = [deferred<ProductFacts>(), deferred<ProductFacts>(), deferred<ProductFacts>()];
    const load = (sku: string) => reloads[started.push(sku) - 1]!.promise;
    for (const sku of ['A', 'B', 'C']) cache.peek(sku, load);
    expect(started).toEqual(['A', 'B']);
    reloads[0]!.resolve(facts('2'));
    await reloads[0]!.promise;
    await new Promise((resolve) => setImmediate(resolve));
    cache.peek('C', load);
    expect(started).toEqual(['A', 'B', 'C']);
  });

  it('when a change for the sku is applied while a background refresh is in flight, then the refreshed (old) facts are not cached', async () => {
    let now = 1_000_000;
    cache = new FactsCache({ ttlSeconds: 60, metrics: new PricingMetrics(), now: () => now });
    await cache.get('A', async () => facts('1'));
    now += 50_000;
    const slow = deferred<ProductFacts>();
    cache.peek('A', () => slow.promise);
    cache.invalidate({ skus: new Set(['A']), all: false });
    slow.resolve(facts('1-old'));
    await slow.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.get('A', async () => facts('2')))?.facts.price).toBe('2');
  });

  it('remembers an unknown sku until a change names it', async () => {
    cache = new FactsCache({ ttlSeconds: 60, metrics: new PricingMetrics() });
    expect(await cache.get('NEW', async () => null)).toBeNull();
    expect(await cache.get('NEW', async () => facts('5'))).toBeNull();
    cache.invalidate({ skus: new Set(['NEW']), all: false });
    expect((await cache.get('NEW', async () => facts('5')))?.facts.price).toBe('5');
  });
});
