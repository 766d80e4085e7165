import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The bridge's Prometheus metrics, on a registry of its own (two bridges in one test process
 * must not share counters).
 */
export class CdcMetrics {
  /** One confirmed event of `table` (`schema.name`) and `op`. */
  countEvent(table: string, op: string): void {
    this.eventCounters.of(table, op).count += 1;
  }

  /**
   * Confirmed events by table and op, as plain counters handed to prom-client at scrape time:
   * prom-client hashes the label set on every inc(), a few microseconds per event. The bridge
   * takes a counter per event without building a key string.
   */
  readonly eventCounters = new EventCounters();

  readonly registry = new Registry();
  readonly events: Counter<'table' | 'op'>;
  readonly publishLatency = new Histogram({
    name: 'cdc_publish_latency_seconds',
    help: 'From publishing an event to the broker confirm',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly commitToConfirm = new Histogram({
    name: 'cdc_commit_to_confirm_seconds',
    help: 'From the commit in PostgreSQL to the broker confirm of the transaction\'s last event',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly slotLagBytes = new Gauge({
    name: 'cdc_slot_lag_bytes',
    help: 'WAL bytes between the server\'s current position and the slot\'s confirmed position',
    registers: [this.registry],
  });
  readonly slotLagSeconds = new Gauge({
    name: 'cdc_slot_lag_seconds',
    help: 'Age of the oldest committed transaction not yet confirmed by the broker',
    registers: [this.registry],
  });
  readonly retainedWalBytes = new Gauge({
    name: 'cdc_retained_wal_bytes',
    help: 'WAL bytes the server keeps for the slot',
    registers: [this.registry],
  });
  readonly active = new Gauge({
    name: 'cdc_active',
    help: '1 when this bridge streams, 0 when it waits as a standby or reconnects',
    registers: [this.registry],
  });
  readonly reconnects = new Counter({
    name: 'cdc_reconnects_total',
    help: 'Streaming sessions ended by a transient failure',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly snapshotRows = new Gauge({
    name: 'cdc_snapshot_rows',
    help: 'Rows an incremental snapshot published (confirmed), by snapshot and table',
    labelNames: ['snapshot', 'target', 'table'] as const,
    registers: [this.registry],
  });
  readonly snapshotRowsEstimated = new Gauge({
    name: 'cdc_snapshot_rows_estimated',
    help: 'Rows of the table when the snapshot started (pg_class.reltuples), for the ETA',
    labelNames: ['snapshot', 'target', 'table'] as const,
    registers: [this.registry],
  });
  readonly snapshotRowsPerSecond = new Gauge({
    name: 'cdc_snapshot_rows_per_second',
    help: 'Rows per second of an incremental snapshot since it (re)started in this process',
    labelNames: ['snapshot', 'target'] as const,
    registers: [this.registry],
  });
  readonly snapshotEtaSeconds = new Gauge({
    name: 'cdc_snapshot_eta_seconds',
    help: 'Estimated seconds until the snapshot completes (-1 while unknown)',
    labelNames: ['snapshot', 'target'] as const,
    registers: [this.registry],
  });
  readonly snapshotRunning = new Gauge({
    name: 'cdc_snapshot_running',
    help: '1 while the snapshot runs, 0 once it completed, was cancelled or failed',
    labelNames: ['snapshot', 'target'] as const,
    registers: [this.registry],
  });

  /** Records an incremental snapshot's progress (cdc/snapshot/incremental-snapshot.ts). */
  recordSnapshot(progress: { snapshotId: string; target: string; state: string; rowsPerSecond: number; etaSeconds: number | null; tables: Array<{ table: string; rowsEmitted: number; rowsEstimated: number }> }): void {
    const labels = { snapshot: progress.snapshotId, target: progress.target };
    for (const table of progress.tables) {
      this.snapshotRows.set({ ...labels, table: table.table }, table.rowsEmitted);
      this.snapshotRowsEstimated.set({ ...labels, table: table.table }, table.rowsEstimated);
    }
    this.snapshotRowsPerSecond.set(labels, progress.rowsPerSecond);
    this.snapshotEtaSeconds.set(labels, progress.etaSeconds ?? -1);
    this.snapshotRunning.set(labels, progress.state === 'running' ? 1 : 0);
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const counters = this.eventCounters;
    this.events = new Counter({
      name: 'cdc_events_total',
      help: 'Change events confirmed by the broker, by table and operation',
      labelNames: ['table', 'op'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [table, byOp] of counters.tables) {
          for (const [op, counter] of byOp) if (counter.count > 0) this.inc({ table, op }, counter.count);
        }
      },
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}

/** Event counts by table, then op: two map lookups and no allocation per event. */
export class EventCounters {
  readonly tables = new Map<string, Map<string, { count: number }>>();

  of(table: string, op: string): { count: number } {
    let byOp = this.tables.get(table);
    if (!byOp) {
      byOp = new Map();
      this.tables.set(table, byOp);
    }
    let counter = byOp.get(op);
    if (!counter) {
      counter = { count: 0 };
      byOp.set(op, counter);
    }
    return counter;
  }
}
