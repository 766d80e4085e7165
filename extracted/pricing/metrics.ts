import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The pricing service's Prometheus metrics, on its own registry (GET /metrics). */
export class PricingMetrics {
  readonly registry = new Registry();
  readonly cacheLookups: Counter<'result'>;
  readonly changes: Counter<'table' | 'outcome'>;
  readonly backfilled: Counter<'outcome'>;
  readonly appliedLsn: Gauge;
  readonly lagSeconds: Gauge;
  readonly queueMessages: Gauge<'queue'>;
  readonly finalPriceSeconds: Histogram<'status'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'pricing_' });
    this.cacheLookups = new Counter({
      name: 'pricing_cache_lookups_total',
      help: 'Final-price fact lookups by result (hit: answered from node-cache; miss: read from the store)',
      labelNames: ['result'],
      registers,
    });
    const lookups = this.cacheLookups;
    new Gauge({
      name: 'pricing_cache_hit_ratio',
      help: 'Share of final-price lookups answered from the cache since the start (0 before any lookup)',
      registers,
      async collect() {
        const { values } = await lookups.get();
        const hits = values.find((value) => value.labels.result === 'hit')?.value ?? 0;
        const misses = values.find((value) => value.labels.result === 'miss')?.value ?? 0;
        this.set(hits + misses === 0 ? 0 : hits / (hits + misses));
      },
    });
    this.changes = new Counter({
      name: 'pricing_changes_total',
      help: 'CDC changes handled, by source table and outcome (applied, or skipped as a duplicate or older than what the row holds)',
      labelNames: ['table', 'outcome'],
      registers,
    });
    this.backfilled = new Counter({
      name: 'pricing_backfill_messages_total',
      help: 'Messages read from the CDC history stream while filling a new store, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.appliedLsn = new Gauge({ name: 'pricing_applied_lsn_bytes', help: 'Last applied commit LSN, as a byte position in the legacy WAL', registers });
    this.lagSeconds = new Gauge({ name: 'pricing_lag_seconds', help: 'How far the store is behind the legacy (0 when caught up)', registers });
    this.queueMessages = new Gauge({ name: 'pricing_queue_messages', help: 'Messages waiting in the pricing queues', labelNames: ['queue'], registers });
    this.finalPriceSeconds = new Histogram({
      name: 'pricing_final_price_seconds',
      help: 'Time to answer GET /rest/V1/products/:sku/final-price',
      labelNames: ['status'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    });
  }
}
