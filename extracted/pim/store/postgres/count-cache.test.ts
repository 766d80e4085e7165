import { describe, expect, it } from 'vitest';
import { CountCache } from './count-cache.ts';

describe('the total_count cache', () => {
  it('answers the count last remembered for a key, with the version it was counted at', () => {
    const cache = new CountCache();
    expect(cache.lookup('a')).toBeUndefined();
    cache.remember('a', { version: '7', total: 42 });
    expect(cache.lookup('a')).toEqual({ version: '7', total: 42 });
    cache.remember('a', { version: '8', total: 43 });
    expect(cache.lookup('a')).toEqual({ version: '8', total: 43 });
  });

  it('when full, forgets the least recently used key first', () => {
    const cache = new CountCache(2);
    cache.remember('a', { version: '1', total: 1 });
    cache.remember('b', { version: '1', total: 2 });
    cache.lookup('a');
    cache.remember('c', { version: '1', total: 3 });
    expect(cache.lookup('b')).toBeUndefined();
    expect(cache.lookup('a')?.total).toBe(1);
    expect(cache.lookup('c')?.total).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('reports the share of lookups whose count was reused', () => {
    const cache = new CountCache();
    cache.lookup('a');
    cache.remember('a', { version: '1', total: 1 });
    cache.lookup('a');
    cache.reused();
    expect(cache.hitRatio).toBe(0.5);
  });
});
