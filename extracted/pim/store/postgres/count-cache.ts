/**
 * total_count of searchCriteria queries, kept while the documents do not change.
 *
 * Counting is most of a listing's cost at 100,000 products (the page itself is an index range of
 * 20 rows; the count reads every match), and a storefront repeats the same listings — the pages
 * of one category, one price band — far more often than the catalog changes. A count is keyed by
 * its SQL and parameters and valid for one version of pim_document_version
 * (schema/005-document-version.sql), which triggers bump on every write. The query reads the
 * version in the same statement as the page and counts only when the version is not the one the
 * cached count belongs to, so page and total always come from one snapshot.
 *
 * Bounded: least recently used keys go first (a Map iterates in insertion order; a hit re-inserts).
 */
export interface CachedCount {
  /** pim_document_version.version when it was counted (bigint as text). */
  readonly version: string;
  readonly total: number;
}

export class CountCache {
  private readonly counts = new Map<string, CachedCount>();
  private hits = 0;
  private lookups = 0;

  constructor(private readonly maxEntries = 10_000) {}

  /**
   * The count last remembered for `key`, if any. The caller sends its version with the query,
   * and uses its total when the statement says the version still holds.
   */
  lookup(key: string): CachedCount | undefined {
    this.lookups += 1;
    const cached = this.counts.get(key);
    if (cached) {
      // Most recently used goes last.
      this.counts.delete(key);
      this.counts.set(key, cached);
    }
    return cached;
  }

  /** A count the statement had to make (no count cached, or the documents changed since). */
  remember(key: string, count: CachedCount): void {
    this.counts.delete(key);
    this.counts.set(key, count);
    if (this.counts.size > this.maxEntries) this.counts.delete(this.counts.keys().next().value!);
  }

  /** A count that was reused: counted for the hit ratio. */
  reused(): void {
    this.hits += 1;
  }

  /** Share of lookups answered from the cache. */
  get hitRatio(): number {
    return this.lookups === 0 ? 0 : this.hits / this.lookups;
  }

  get size(): number {
    return this.counts.size;
  }
}
