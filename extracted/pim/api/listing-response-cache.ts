export interface ListingResponseCacheOptions {
  /**
   * The documents' write generation: any change of it makes every kept listing stale. The PIM
   * passes the get-by-sku cache's (ProductResponseCache.generation), which every document write of
   * the sync bumps once it has committed (invalidatingWrites).
   */
  generation: () => number;
  /** Bytes of answers kept at most (least recently used go first); default 32 MB (≈ 550 pages of 20 products). */
  maxBytes?: number;
  /** Query strings remembered as asked once (an answer is kept from its second read on); default 10,000. */
  maxSeen?: number;
  /** Milliseconds an answer is kept at most; default 10 s: a bound for a writer the PIM does not see, as for products. */
  maxAgeMs?: number;
  now?: () => number;
}

interface CachedListing {
  readonly body: Buffer;
  readonly generation: number;
  readonly expiresAt: number;
}

/**
 * The bytes of `GET /rest/V1/products?searchCriteria…` answers, by their query string, while no
 * document changes — the idea of Elasticsearch's shard request cache, kept until the next refresh.
 *
 * Why: a storefront asks the same listings (a category's pages, a price band) again and again,
 * and each answer costs a parse of the criteria, a planned PostgreSQL statement that reads and
 * de-TOASTs 20–24 documents, and ~60 kB of text decoded, joined and encoded again: bench:pim
 * (100k products, 2026-12-07, load 3–9) measured 580–1,063 µs of node and 517–1,849 µs of
 * PostgreSQL CPU per answer, which ten concurrent clients queue for on two cores (p99 20–47 ms).
 *
 * Freshness: a listing may hold any product, so any document write makes all listings stale —
 * an answer is served only while `generation` is the one it was read at, and is kept only if
 * no write committed while it was read (the same rule as the get-by-sku cache, so a change shows
 * as soon as its write has returned). A query string that was rejected (a bad criterion) is never
 * kept: only answers the store gave are, from the second time their query string is read. The key is the raw query string, so two spellings of one
 * query are two entries (bounded by `maxBytes`).
 */
export class ListingResponseCache {
  private readonly answers = new Map<string, CachedListing>();
  private bytes = 0;
  /** Query strings read once and not kept (insertion order: the oldest go first). */
  private readonly seen = new Set<string>();
  private readonly maxSeen: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(private readonly options: ListingResponseCacheOptions) {
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.maxSeen = options.maxSeen ?? 10_000;
    this.maxAgeMs = options.maxAgeMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Take before reading the store; hand to `fill` with what was read. */
  get generation(): number {
    return this.options.generation();
  }

  /** The answer to this query string, if kept and no document changed since it was read. */
  get(query: string): Buffer | undefined {
    const cached = this.answers.get(query);
    if (cached === undefined || cached.generation !== this.options.generation() || this.now() > cached.expiresAt) {
      if (cached !== undefined) this.drop(query, cached);
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    // Most recently used goes last.
    this.answers.delete(query);
    this.answers.set(query, cached);
    return cached.body;
  }

  /**
   * The answer's bytes, kept unless a document write committed since `generation` was taken, and
   * only from the second read of its query string on: a query asked once (a filter a shopper
   * typed, a crawler's walk) would otherwise push out the listings asked again and again, and
   * churn ~60 kB buffers per request — bench:pim's never-repeated price bands cost the PIM
   * 631–814 → 950–1,421 µs of node CPU per answer when each was kept (load 4–7).
   */
  fill(query: string, json: string, generation: number): Buffer {
    const body = Buffer.from(json);
    if (generation !== this.options.generation() || body.length > this.maxBytes) return body;
    if (!this.answers.has(query) && !this.seen.delete(query)) {
      this.seen.add(query);
      if (this.seen.size > this.maxSeen) this.seen.delete(this.seen.values().next().value!);
      return body;
    }
    const previous = this.answers.get(query);
    if (previous !== undefined) this.drop(query, previous);
    this.answers.set(query, { body, generation, expiresAt: this.now() + this.maxAgeMs });
    this.bytes += body.length;
    for (const [oldest, cached] of this.answers) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(oldest, cached);
    }
    return body;
  }

  get size(): number {
    return this.answers.size;
  }

  get hitRatio(): number {
    const lookups = this.hits + this.misses;
    return lookups === 0 ? 0 : this.hits / lookups;
  }

  private drop(query: string, cached: CachedListing): void {
    this.answers.delete(query);
    this.bytes -= cached.body.length;
  }
}
