import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The PIM's Prometheus metrics (GET /metrics). */
export class PimMetrics {
  readonly registry = new Registry();
  readonly changesApplied = new Counter({ name: 'pim_changes_applied_total', help: 'CDC changes folded into the raw rows', registers: [this.registry] });
  readonly changesSkipped = new Counter({
    name: 'pim_changes_skipped_total',
    help: 'CDC changes skipped as duplicates or older than what was applied to their row',
    registers: [this.registry],
  });
  readonly documentsWritten = new Counter({ name: 'pim_documents_written_total', help: 'documents written or removed in the store', registers: [this.registry] });
  readonly staleWrites = new Counter({
    name: 'pim_stale_writes_total',
    help: 'document writes the store refused because it holds a newer version (LSN)',
    registers: [this.registry],
  });
  readonly lagSeconds = new Gauge({ name: 'pim_lag_seconds', help: 'seconds between now and the commit of the newest applied change, while behind', registers: [this.registry] });
  readonly requestSeconds = new Histogram({
    name: 'pim_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
