import { buildSnapshotRequest, waitForSnapshot, writeSignal } from '../cdc/snapshot/snapshot-request.ts';
import type { RepairOutcome } from './drift-report.ts';
import type { Queryable } from './projection.ts';

/**
 * How to re-send one legacy table's rows of some products: the table's primary-key column and,
 * on each side, the query that lists the primary keys of those products' rows (`$1` = int[] of
 * entity ids). Keys from both sides are requested: a row the legacy has is published again
 * (op `r`), a row only the store still has is published as a delete — so one targeted snapshot
 * both restores what is missing or wrong and removes what is extra.
 */
export interface RepairTable {
  table: string;
  keyColumn: string;
  legacyKeys: string;
  storeKeys: string | null;
}

export interface RepairOptions {
  legacy: Queryable;
  store: Queryable;
  /** The snapshot's target: a service name (`pricing` → queue `pricing.cdc`) or a queue name. */
  target: string;
  tables: readonly RepairTable[];
  entityIds: readonly number[];
  /** How long to wait for each snapshot to complete. */
  timeoutMs: number;
  /** Keys per request (a request is one row in the legacy's signal table). */
  keysPerRequest?: number;
  onProgress?: (text: string) => void;
}

/** The most drifted products --repair takes on; beyond it, re-seeding the store is the better tool. */
export const MAX_REPAIR_PRODUCTS = 20_000;

/**
 * Requests targeted snapshots of the drifted products (one request per table and batch of keys,
 * written to the legacy's signal table so that each is ordered in the WAL) and waits until the
 * bridge has published them all. The caller then re-checks: the snapshot is published, and the
 * service applies it a moment later.
 */
export async function requestRepair(options: RepairOptions): Promise<RepairOutcome['snapshots']> {
  const ids = [...new Set(options.entityIds)];
  const perRequest = options.keysPerRequest ?? 5_000;
  const requests: Array<{ id: string; table: string; keys: number }> = [];
  for (const spec of options.tables) {
    const [legacyRows, storeRows] = await Promise.all([
      options.legacy.query<{ key: number }>(`SELECT k AS key FROM (${spec.legacyKeys}) AS x(k)`, [ids]),
      spec.storeKeys ? options.store.query<{ key: number }>(`SELECT k AS key FROM (${spec.storeKeys}) AS x(k)`, [ids]) : Promise.resolve({ rows: [] }),
    ]);
    const keys = [...new Set([...legacyRows.rows, ...storeRows.rows].map((row) => Number(row.key)))].sort((a, b) => a - b);
    for (let start = 0; start < keys.length; start += perRequest) {
      const batch = keys.slice(start, start + perRequest);
      const request = buildSnapshotRequest({ target: options.target, tables: [spec.table], keys: batch.map((key) => ({ [spec.keyColumn]: key })) });
      await writeSignal(options.legacy, request);
      requests.push({ id: request.id, table: spec.table, keys: batch.length });
    }
  }
  const outcome: RepairOutcome['snapshots'] = [];
  for (const request of requests) {
    const final = await waitForSnapshot(options.legacy, request.id, {
      timeoutMs: options.timeoutMs,
      onProgress: (record) => options.onProgress?.(`snapshot ${request.table} (${request.keys} keys): ${record?.state ?? 'waiting for the bridge'}`),
    });
    outcome.push({ ...request, state: final.state, ...(final.error ? { error: final.error } : {}) });
  }
  return outcome;
}
