import { driftCount, driftedKeys, type DriftReport } from './drift-report.ts';
import { MAX_REPAIR_PRODUCTS, requestRepair, type RepairTable } from './drift-repair.ts';
import { ProjectionReader } from './projection-reader.ts';
import type { Projection, Queryable } from './projection.ts';
import { reconcile, type ReconcileOptions } from './reconciliation.ts';
import { ReconcileErrors } from './errors.ts';

/** What a service contributes: its canonical form on both sides, and how to re-send its rows. */
export interface ServiceReconciliation {
  service: string;
  legacy: Projection;
  store: Projection;
  repairTables: readonly RepairTable[];
}

export type ReconcileTuning = Pick<
  ReconcileOptions,
  'bucketSize' | 'segmentSize' | 'concurrency' | 'settleMs' | 'graceMs' | 'idleMs' | 'maxWaitMs' | 'examples' | 'now' | 'sleep'
>;

export interface RunReconciliationOptions extends ReconcileTuning {
  legacy: Queryable;
  store: Queryable;
  /** Request a targeted snapshot of the drifted products, wait for it, and re-check them. */
  repair?: { target: string; timeoutMs: number };
  onProgress?: (text: string) => void;
}

/**
 * Reconciles one service's store with the legacy and, with `repair`, repairs the drift through a
 * targeted snapshot: the report then says what was requested and how many products still differ
 * after the service applied it (`repair.remaining`; the report's own lists are emptied of the
 * repaired keys).
 */
export async function runReconciliation(service: ServiceReconciliation, options: RunReconciliationOptions): Promise<DriftReport> {
  const legacy = new ProjectionReader(service.legacy, options.legacy);
  const store = new ProjectionReader(service.store, options.store);
  const { repair, onProgress, legacy: _l, store: _s, ...tuning } = options;
  const report = await reconcile({ ...tuning, service: service.service, legacy, store });
  if (!repair || driftCount(report) === 0) return report;
  const keys = driftedKeys(report);
  if (keys.length > MAX_REPAIR_PRODUCTS) throw ReconcileErrors.tooMuchDrift(service.service, keys.length, MAX_REPAIR_PRODUCTS);
  onProgress?.(`repairing ${keys.length} product(s) through a targeted snapshot to ${repair.target}`);
  const snapshots = await requestRepair({
    legacy: options.legacy,
    store: options.store,
    target: repair.target,
    tables: service.repairTables,
    entityIds: keys,
    timeoutMs: repair.timeoutMs,
    ...(onProgress ? { onProgress } : {}),
  });
  const after = await reconcile({ ...tuning, service: service.service, legacy, store, onlyKeys: keys });
  return {
    ...report,
    durationMs: report.durationMs + after.durationMs,
    missing: after.missing,
    extra: after.extra,
    different: after.different,
    settledByLag: report.settledByLag + after.settledByLag,
    unsettled: [...new Set([...report.unsettled, ...after.unsettled])].sort((a, b) => a - b),
    rounds: report.rounds + after.rounds,
    examples: after.examples,
    repair: { snapshots, requestedFor: keys.length, remaining: driftCount(after) },
  };
}
