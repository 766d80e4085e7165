import type { ProductDocument, ProductRemoval } from '../domain/product-document.ts';
import type { ProductStore } from '../store/product-store.ts';

export interface ProductResponseCacheOptions {
  /** Products kept (least recently used go first); default 10,000 (≈ 30 MB of 3 kB answers). */
  maxEntries?: number;
  /**
   * Milliseconds an answer is kept at most; default 10 s. Not what keeps answers fresh (the
   * invalidation does): only a bound for a writer the PIM does not see (a hand-made UPDATE).
   */
  maxAgeMs?: number;
  now?: () => number;
  /** In [0, 1): where in (maxAgeMs/2, maxAgeMs] each answer's own age limit falls (Math.random by default). */
  random?: () => number;
  /** Store reads refreshing answers ahead of their age limit at one time (`get` with a reader); default 2. */
  maxRefreshes?: number;
}

/** Reads a product's JSON afresh (null: no such sku any more), for a refresh ahead of the age limit. */
export type ProductReader = (sku: string) => Promise<string | null>;

/** A product's answer: its JSON bytes, and the same compressed for clients that accept it (made on first use). */
export interface ProductAnswer {
  readonly body: Buffer;
  /** By content coding ('br', 'gzip'); dropped with the answer. */
  readonly encoded: Map<string, Buffer>;
}

interface CachedAnswer extends ProductAnswer {
  readonly entityId: number;
  /** When this answer stops being served: its own limit, so answers filled together do not expire together. */
  readonly expiresAt: number;
  /** From when a hit also reads it afresh in the background: ¾ of the way to `expiresAt`. */
  readonly refreshAt: number;
}

/** Where in an answer's life a hit starts reading it afresh (as the pricing FactsCache does). */
const REFRESH_AHEAD = 0.75;

/** A product's legacy JSON starts with its entity id (legacy-stub/catalog/magento-product.ts). */
const LEADING_ID = /^\{"id":(\d+),/;

/**
 * The bytes of `GET /rest/V1/products/:sku` answers, by sku, so a product page read costs no
 * PostgreSQL round trip and no encoding while its document does not change.
 *
 * Freshness: every document write of this process goes through `invalidatingWrites` (the store
 * the projector writes to), which drops, once the write has committed, the answers of every sku
 * written and of every entity written or removed (a product whose sku changed, a deleted one).
 * An answer read from the store while a write was in flight is sent but not kept: `fill` keeps it
 * only if no invalidation happened since the read began (`generation`), so a read that saw the
 * document before a commit can never be cached after that commit's invalidation. The sync is the
 * only writer of the documents while the PIM runs (`strangler store reset` refuses to run beside
 * it); `maxAgeMs` bounds what a writer outside the process (a hand-made fix) can leave stale.
 */
export class ProductResponseCache {
  private readonly answers = new Map<string, CachedAnswer>();
  private readonly skuOfEntity = new Map<number, string>();
  private invalidations = 0;
  /** Skus being read afresh ahead of their age limit. */
  private readonly refreshing = new Set<string>();
  private readonly maxRefreshes: number;
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  hits = 0;
  misses = 0;
  /** Answers replaced by a read ahead of their age limit. */
  refreshes = 0;

  constructor(options: ProductResponseCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxAgeMs = options.maxAgeMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxRefreshes = options.maxRefreshes ?? 2;
  }

  /**
   * The answer, if kept and young enough. With `read`, a hit on an answer past ¾ of its age limit
   * also reads it afresh in the background (at most `maxRefreshes` reads at a time, one per sku),
   * so a product asked often is replaced before it expires and its shoppers never wait on the
   * store. Before (bench:pim, 1,000 requests/s over 500 skus, 2026-12-02), each answer expired
   * and the next shopper to ask paid a PostgreSQL round trip (~0.3 ms of PostgreSQL, more in
   * the queue behind it): p99 5.9–8.3 ms against 5.0–7.5 ms with no expiry at all. An answer not
   * refreshed now (the reads busy) is on a later hit while a quarter of its life is left.
   */
  get(sku: string, read?: ProductReader): ProductAnswer | undefined {
    const cached = this.answers.get(sku);
    if (cached === undefined) {
      this.misses += 1;
      return undefined;
    }
    const now = this.now();
    if (now > cached.expiresAt) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    // Most recently used goes last.
    this.answers.delete(sku);
    this.answers.set(sku, cached);
    if (read !== undefined && now >= cached.refreshAt) this.refresh(sku, read);
    return cached;
  }

  /**
   * Reads the sku afresh and keeps the result by `fill`'s rule (not if a write committed since
   * the read began: the answer in place, if any, was then dropped or is dropped by that write's
   * invalidation). A sku the store no longer has is dropped; a failed read leaves the answer to
   * its age limit.
   */
  private refresh(sku: string, read: ProductReader): void {
    if (this.refreshing.has(sku) || this.refreshing.size >= this.maxRefreshes) return;
    this.refreshing.add(sku);
    const generation = this.invalidations;
    read(sku)
      .then(
        (json) => {
          if (generation !== this.invalidations) return;
          if (json === null) return this.drop(sku);
          this.fill(sku, json, generation);
          this.refreshes += 1;
        },
        () => undefined,
      )
      .finally(() => this.refreshing.delete(sku));
  }

  /** Take before reading the store; hand to `fill` with what was read. */
  get generation(): number {
    return this.invalidations;
  }

  /** The answer to send for a product read from the store, kept unless a write committed since `generation` was taken. */
  fill(sku: string, json: string, generation: number): ProductAnswer {
    const body = Buffer.from(json);
    const id = LEADING_ID.exec(json);
    if (generation !== this.invalidations || id === null) return { body, encoded: new Map() };
    const entityId = Number(id[1]);
    this.drop(sku);
    // An entity kept under another sku (cannot be current if this one is): drop that too.
    const previous = this.skuOfEntity.get(entityId);
    if (previous !== undefined) this.drop(previous);
    // Each answer's age limit is drawn from (maxAgeMs/2, maxAgeMs]: a catalog read all at once
    // (a warm-up, a burst of traffic) would otherwise expire all at once, and the misses of that
    // moment queue on the store together — at 1,000 requests/s over 500 skus that stampede every
    // 10 s put the open-loop p99 at 62–175 ms, against 5–7.5 ms with no expiry (bench:pim, 2026-12-02).
    const now = this.now();
    const lifetime = this.maxAgeMs * (1 - this.random() / 2);
    const answer: CachedAnswer = { body, encoded: new Map(), entityId, expiresAt: now + lifetime, refreshAt: now + lifetime * REFRESH_AHEAD };
    this.answers.set(sku, answer);
    this.skuOfEntity.set(entityId, sku);
    if (this.answers.size > this.maxEntries) this.drop(this.answers.keys().next().value!);
    return answer;
  }

  /** After documents were written (or a write failed somewhere): their skus and entities are read afresh. */
  invalidate(skus: Iterable<string>, entityIds: Iterable<number>): void {
    this.invalidations += 1;
    for (const sku of skus) this.drop(sku);
    for (const entityId of entityIds) {
      const sku = this.skuOfEntity.get(entityId);
      if (sku !== undefined) this.drop(sku);
    }
  }

  get size(): number {
    return this.answers.size;
  }

  get hitRatio(): number {
    const lookups = this.hits + this.misses;
    return lookups === 0 ? 0 : this.hits / lookups;
  }

  private drop(sku: string): void {
    const cached = this.answers.get(sku);
    if (cached === undefined) return;
    this.answers.delete(sku);
    if (this.skuOfEntity.get(cached.entityId) === sku) this.skuOfEntity.delete(cached.entityId);
  }
}

/**
 * The store with every write followed by the cache's invalidation of what it wrote — whether it
 * succeeded or failed (a failure after the commit must not leave old answers). The result is
 * the store itself underneath (a prototype delegate, not a wrapper class), so what code asks of
 * its class still holds: the projector builds a seeded catalog's indexes only for
 * `instanceof PostgresProductStore`.
 */
export function invalidatingWrites<S extends ProductStore>(store: S, cache: ProductResponseCache): S {
  const observed = Object.create(store) as S;
  observed.upsert = async (documents: readonly ProductDocument[]) => {
    try {
      return await store.upsert(documents);
    } finally {
      cache.invalidate(
        documents.map((doc) => doc.sku),
        documents.map((doc) => doc.entityId),
      );
    }
  };
  observed.remove = async (removals: readonly ProductRemoval[]) => {
    try {
      return await store.remove(removals);
    } finally {
      cache.invalidate(
        [],
        removals.map((removal) => removal.entityId),
      );
    }
  };
  return observed;
}
