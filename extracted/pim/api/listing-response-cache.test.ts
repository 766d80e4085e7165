import { describe, expect, it } from 'vitest';
import { ListingResponseCache } from './listing-response-cache.ts';

/** The documents' write generation, as invalidatingWrites bumps it after each write. */
class Writes {
  generation = 0;
  write(): void {
    this.generation += 1;
  }
}

const listing = (items: string) => `{"items":[${items}],"search_criteria":{},"total_count":1}`;

describe('the searchCriteria answer cache', () => {
  it('when a listing was read twice, then the same query string is answered from the cache with the same bytes', () => {
    const writes = new Writes();
    const cache = new ListingResponseCache({ generation: () => writes.generation });
    expect(cache.get('q=1')).toBeUndefined();
    cache.fill('q=1', listing('{"sku":"A"}'), cache.generation);
    expect(cache.get('q=1')).toBeUndefined(); // asked once: not kept
    const body = cache.fill('q=1', listing('{"sku":"A"}'), cache.generation);
    expect(cache.get('q=1')).toEqual(body);
    expect(cache.get('q=1')!.toString()).toBe(listing('{"sku":"A"}'));
    expect(cache.get('q=2')).toBeUndefined(); // another query string is another listing
    expect([cache.hits, cache.misses]).toEqual([2, 3]);
  });

  it('keeps no query string asked only once, and remembers at most maxSeen of them', () => {
    const writes = new Writes();
    const cache = new ListingResponseCache({ generation: () => writes.generation, maxSeen: 2 });
    for (const query of ['a', 'b', 'c']) cache.fill(query, listing('{"sku":"A"}'), 0);
    expect(cache.size).toBe(0);
    cache.fill('a', listing('{"sku":"A"}'), 0); // 'a' was forgotten (the oldest of three): once again
    cache.fill('c', listing('{"sku":"A"}'), 0);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
  });

  it('when any document is written, then no listing read before is answered again', () => {
    const writes = new Writes();
    const cache = new ListingResponseCache({ generation: () => writes.generation });
    for (let read = 0; read < 2; read += 1) {
      cache.fill('q=1', listing('{"sku":"A"}'), cache.generation);
      cache.fill('q=2', listing('{"sku":"B"}'), cache.generation);
    }
    expect(cache.size).toBe(2);
    writes.write();
    expect(cache.get('q=1')).toBeUndefined();
    expect(cache.get('q=2')).toBeUndefined();
    expect(cache.size).toBe(0); // dropped when found stale
  });

  it('when a write committed while the listing was read, then its answer is sent but not kept', () => {
    const writes = new Writes();
    const cache = new ListingResponseCache({ generation: () => writes.generation });
    cache.fill('q=1', listing('{"sku":"older"}'), cache.generation); // asked before: the next answer would be kept
    const generation = cache.generation; // the read begins
    writes.write(); // a write commits before the read ends
    const body = cache.fill('q=1', listing('{"sku":"old"}'), generation);
    expect(body.toString()).toBe(listing('{"sku":"old"}'));
    expect(cache.get('q=1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxBytes of answers, the least recently used going first, and none older than maxAgeMs', () => {
    let now = 0;
    const writes = new Writes();
    const one = listing('{"sku":"A"}');
    const cache = new ListingResponseCache({ generation: () => writes.generation, maxBytes: Buffer.byteLength(one) * 2, maxAgeMs: 1000, now: () => now });
    const fillTwice = (query: string, json: string) => [cache.fill(query, json, 0), cache.fill(query, json, 0)][1]!;
    fillTwice('a', one);
    fillTwice('b', one);
    expect(cache.get('a')).toBeDefined(); // a is now the most recently used
    fillTwice('c', one);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    now = 1001;
    expect(cache.get('a')).toBeUndefined();
    // An answer larger than the whole budget is sent, not kept.
    const big = fillTwice('big', listing(`"${'x'.repeat(one.length * 2)}"`));
    expect(big.length).toBeGreaterThan(one.length * 2);
    expect(cache.get('big')).toBeUndefined();
  });
});
