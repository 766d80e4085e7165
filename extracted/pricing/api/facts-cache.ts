import NodeCache from 'node-cache';
import type { ProductFacts } from '../store/price-store.ts';
import type { Invalidation } from '../sync/change-applier.ts';
import type { PricingMetrics } from '../metrics.ts';
import { AnswerMemo } from './answer-memo.ts';

/** A cache entry: a sku's facts (null: no such sku) and the answers already computed from them. */
export interface CachedFacts {
  readonly facts: ProductFacts | null;
  readonly answers: AnswerMemo;
  /** When the facts were read from the store (ms, the cache's clock). */
  readonly loadedAt: number;
}

type Load = (sku: string) => Promise<ProductFacts | null>;

/**
 * Background refreshes at a time: a catalog read at once comes due at once, and thousands of
 * reads together would compete with the requests; an entry not refreshed now is on its next hit
 * (¼ of the TTL is left for it).
 */
const MAX_REFRESHES = 2;

/**
 * node-cache in front of the store for the final-price hot path. It caches a sku's price facts
 * (or "no such sku"), not answers: the rule runs on every request with the request's "now", so a
 * special-price window still opens and closes at midnight for a cached product.
 *
 * Staleness: every applied change invalidates its skus after its transaction committed; the TTL
 * bounds anything missed. A load that started before an invalidation of its sku is not cached
 * (generation check), so a read racing a commit cannot put the old facts back.
 *
 * An entry also holds the final-price answers computed from its facts (AnswerMemo), so they are
 * dropped with the facts. `peek` reads an entry synchronously: the hot path answers a hit without
 * a promise.
 *
 * Refresh ahead: a hit on an entry older than `refreshAfterSeconds` (¾ of the TTL by default)
 * still answers from it and reloads it in the background, one read per sku. Without it every
 * entry expired a TTL after it was read, and the requests for it then waited for the store: the
 * whole catalog, filled at about the same time, came due together every minute (the benchmark's
 * hit ratio fell to 0.94 in its third minute). At most MAX_REFRESHES run at a time. The TTL still
 * bounds how old the facts can be.
 */
export class FactsCache {
  private readonly cache: NodeCache;
  private readonly generations = new Map<string, number>();
  private flushes = 0;
  private readonly loading = new Map<string, Promise<ProductFacts | null>>();
  // Bound label children: inc() on them skips hashing the labels on every request.
  private readonly hits;
  private readonly misses;
  private readonly refreshAfterMs: number;
  private refreshing = 0;
  private readonly now: () => number;

  constructor(
    private readonly options: { ttlSeconds: number; refreshAfterSeconds?: number; maxKeys?: number; metrics: PricingMetrics; now?: () => number },
  ) {
    this.refreshAfterMs = (options.refreshAfterSeconds ?? options.ttlSeconds * 0.75) * 1000;
    this.now = options.now ?? Date.now;
    this.hits = options.metrics.cacheLookups.labels({ result: 'hit' });
    this.misses = options.metrics.cacheLookups.labels({ result: 'miss' });
    this.cache = new NodeCache({ stdTTL: options.ttlSeconds, checkperiod: Math.max(1, options.ttlSeconds), useClones: false, maxKeys: options.maxKeys ?? -1 });
  }

  /** The entry of a cached sku (a hit), or undefined: then `get` reads it. */
  peek(sku: string, load: Load): CachedFacts | undefined {
    const cached = this.cache.get<CachedFacts>(sku);
    if (cached !== undefined) this.hit(sku, cached, load);
    return cached;
  }

  async get(sku: string, load: Load): Promise<ProductFacts | null> {
    const cached = this.cache.get<CachedFacts>(sku);
    if (cached !== undefined) {
      this.hit(sku, cached, load);
      return cached.facts;
    }
    this.misses.inc();
    // Concurrent misses for one sku share one store read (or join a refresh in flight).
    return this.loading.get(sku) ?? this.load(sku, load);
  }

  private hit(sku: string, cached: CachedFacts, load: Load): void {
    this.hits.inc();
    if (this.now() - cached.loadedAt >= this.refreshAfterMs && this.refreshing < MAX_REFRESHES && !this.loading.has(sku)) {
      // A failed refresh leaves the entry to its TTL; the read after that reports the error.
      this.refreshing += 1;
      this.load(sku, load)
        .catch(() => undefined)
        .finally(() => (this.refreshing -= 1));
    }
  }

  private load(sku: string, load: Load): Promise<ProductFacts | null> {
    const generation = this.generations.get(sku) ?? 0;
    const flushes = this.flushes;
    const loaded = load(sku)
      .then((facts) => {
        if ((this.generations.get(sku) ?? 0) === generation && this.flushes === flushes) {
          try {
            this.cache.set<CachedFacts>(sku, { facts, answers: new AnswerMemo(), loadedAt: this.now() });
          } catch {
            // maxKeys reached: answer without caching.
          }
        }
        return facts;
      })
      .finally(() => {
        if (this.loading.get(sku) === loaded) this.loading.delete(sku);
      });
    this.loading.set(sku, loaded);
    return loaded;
  }

  invalidate(invalidation: Invalidation): void {
    if (invalidation.all) {
      this.flushes += 1;
      this.cache.flushAll();
      this.loading.clear();
      return;
    }
    for (const sku of invalidation.skus) {
      this.generations.set(sku, (this.generations.get(sku) ?? 0) + 1);
      this.cache.del(sku);
      // A load in flight read before the commit; the next request must not join it.
      this.loading.delete(sku);
    }
  }

  get size(): number {
    return this.cache.keys().length;
  }

  close(): void {
    this.cache.close();
  }
}
