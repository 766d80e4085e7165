/**
 * Latency quantiles in constant memory: log-spaced buckets (10% apart, 0.05 ms to ~2 min), so a
 * p99 is exact to within 10% whatever the number of samples.
 */
const MIN_MS = 0.05;
const GROWTH = 1.1;
const BUCKETS = 160;
const LOG_GROWTH = Math.log(GROWTH);

export class LatencyHistogram {
  readonly #counts: number[];
  #total = 0;

  constructor(counts?: readonly number[]) {
    this.#counts = new Array<number>(BUCKETS).fill(0);
    if (counts) counts.forEach((count, index) => {
      if (index < BUCKETS && Number.isFinite(count) && count > 0) {
        this.#counts[index] = count;
        this.#total += count;
      }
    });
  }

  record(ms: number): void {
    const index = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#total++;
  }

  get count(): number {
    return this.#total;
  }

  /** The upper bound of the bucket holding quantile q (0..1), in ms; null with no samples. */
  quantile(q: number): number | null {
    if (this.#total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.#counts[index] ?? 0;
      if (seen >= rank) return Math.round(MIN_MS * GROWTH ** index * 100) / 100;
    }
    return null;
  }

  /** Sparse for the journal: trailing zeros dropped. */
  toJSON(): number[] {
    let end = BUCKETS;
    while (end > 0 && this.#counts[end - 1] === 0) end--;
    return this.#counts.slice(0, end);
  }
}
