import type { ComparableSide } from './comparable-side.ts';
import { differingFields, type DriftExample, type DriftKind, type DriftReport } from './drift-report.ts';
import { recheckDifferences, type Difference } from './lag-recheck.ts';

export interface ReconcileOptions {
  service: string;
  legacy: ComparableSide;
  store: ComparableSide;
  /** Keys per checksum bucket: a differing bucket is compared product by product. */
  bucketSize?: number;
  /** Keys per checksum query (a whole number of buckets). */
  segmentSize?: number;
  /** Checksum queries in flight at once, per side. */
  concurrency?: number;
  settleMs?: number;
  graceMs?: number;
  idleMs?: number;
  maxWaitMs?: number;
  /** Examples shown per kind of drift. */
  examples?: number;
  /** Compare only these keys (a repair's re-check), skipping the checksum pass. */
  onlyKeys?: readonly number[];
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const RECONCILE_DEFAULTS = Object.freeze({
  bucketSize: 1_000,
  segmentSize: 10_000,
  concurrency: 2,
  settleMs: 1_000,
  graceMs: 2_000,
  idleMs: 5_000,
  maxWaitMs: 30_000,
  examples: 3,
});

/**
 * A Reconciliation of one service's store with the legacy, without stopping either:
 *
 * 1. The key space (entity ids, from the smaller to the larger bound of both sides) is read in
 *    segments; each side sums its products' hashes per bucket inside its own database.
 * 2. Only in buckets whose count or sum differ are the products' hashes fetched and compared one
 *    by one.
 * 3. The differing keys are re-checked until they settle (lag-recheck.ts): differences that go
 *    away were replication lag; the rest is Drift — missing, extra or different products, with a
 *    few examples of each showing which fields differ.
 */
export async function reconcile(options: ReconcileOptions): Promise<DriftReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const startedAt = new Date(started).toISOString();
  const bucketSize = options.bucketSize ?? RECONCILE_DEFAULTS.bucketSize;
  const segmentSize = Math.max(bucketSize, Math.ceil((options.segmentSize ?? RECONCILE_DEFAULTS.segmentSize) / bucketSize) * bucketSize);
  const { legacy, store } = options;

  const differences = new Map<number, Difference>();
  let legacyProducts = 0;
  let storeProducts = 0;
  let compared = 0;
  let differing = 0;

  if (options.onlyKeys) {
    const keys = [...new Set(options.onlyKeys)];
    const [legacyHashes, storeHashes] = await Promise.all([legacy.hashesOf(keys), store.hashesOf(keys)]);
    legacyProducts = legacyHashes.size;
    storeProducts = storeHashes.size;
    collect(keys, legacyHashes, storeHashes, differences);
  } else {
    const [legacyBounds, storeBounds] = await Promise.all([legacy.bounds(), store.bounds()]);
    const bounds = [legacyBounds, storeBounds].filter((b): b is { min: number; max: number } => b !== null);
    if (bounds.length > 0) {
      const min = Math.floor(Math.min(...bounds.map((b) => b.min)) / bucketSize) * bucketSize;
      const max = Math.max(...bounds.map((b) => b.max));
      const segments: number[] = [];
      for (let from = min; from <= max; from += segmentSize) segments.push(from);
      const compareSegment = async (from: number) => {
        const to = from + segmentSize;
        const [legacySums, storeSums] = await Promise.all([legacy.bucketChecksums(from, to, bucketSize), store.bucketChecksums(from, to, bucketSize)]);
        for (const sums of legacySums.values()) legacyProducts += sums.rows;
        for (const sums of storeSums.values()) storeProducts += sums.rows;
        const buckets = new Set([...legacySums.keys(), ...storeSums.keys()]);
        compared += buckets.size;
        for (const bucket of [...buckets].sort((a, b) => a - b)) {
          const a = legacySums.get(bucket);
          const b = storeSums.get(bucket);
          if (a && b && a.rows === b.rows && a.sum === b.sum) continue;
          differing += 1;
          const lo = bucket * bucketSize;
          const [legacyHashes, storeHashes] = await Promise.all([legacy.rangeHashes(lo, lo + bucketSize), store.rangeHashes(lo, lo + bucketSize)]);
          collect(new Set([...legacyHashes.keys(), ...storeHashes.keys()]), legacyHashes, storeHashes, differences);
        }
      };
      await inParallel(segments, options.concurrency ?? RECONCILE_DEFAULTS.concurrency, compareSegment);
    }
  }

  // Read after the first pass: every legacy commit it reflects lies before this position.
  const observedAt = differences.size > 0 ? (await legacy.position()).lsn : null;
  const recheck = await recheckDifferences(differences, observedAt, {
    legacy,
    store,
    settleMs: options.settleMs ?? RECONCILE_DEFAULTS.settleMs,
    graceMs: options.graceMs ?? RECONCILE_DEFAULTS.graceMs,
    idleMs: options.idleMs ?? RECONCILE_DEFAULTS.idleMs,
    maxWaitMs: options.maxWaitMs ?? RECONCILE_DEFAULTS.maxWaitMs,
    now,
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });

  const kinds: Record<DriftKind, number[]> = { missing: [], extra: [], different: [] };
  for (const [key, difference] of recheck.confirmed) kinds[kindOf(difference)].push(key);
  for (const keys of Object.values(kinds)) keys.sort((a, b) => a - b);
  const examples = await examplesOf(kinds, legacy, store, options.examples ?? RECONCILE_DEFAULTS.examples);

  return {
    service: options.service,
    startedAt,
    durationMs: now() - started,
    legacyProducts,
    storeProducts,
    buckets: { size: bucketSize, compared, differing },
    missing: kinds.missing,
    extra: kinds.extra,
    different: kinds.different,
    settledByLag: recheck.settled,
    unsettled: recheck.unsettled,
    rounds: recheck.rounds,
    examples,
  };
}

function collect(keys: Iterable<number>, legacyHashes: Map<number, string>, storeHashes: Map<number, string>, into: Map<number, Difference>): void {
  for (const key of keys) {
    const legacy = legacyHashes.get(key) ?? null;
    const store = storeHashes.get(key) ?? null;
    if (legacy !== store) into.set(key, { legacy, store });
  }
}

function kindOf(difference: Difference): DriftKind {
  if (difference.store === null) return 'missing';
  if (difference.legacy === null) return 'extra';
  return 'different';
}

async function examplesOf(kinds: Record<DriftKind, number[]>, legacy: ComparableSide, store: ComparableSide, perKind: number): Promise<DriftExample[]> {
  const picked = (Object.entries(kinds) as Array<[DriftKind, number[]]>).flatMap(([kind, keys]) => keys.slice(0, perKind).map((key) => ({ kind, key })));
  if (picked.length === 0) return [];
  const keys = picked.map((p) => p.key);
  const [legacyDocs, storeDocs] = await Promise.all([legacy.documentsOf(keys), store.documentsOf(keys)]);
  return picked.map(({ kind, key }) => {
    const legacyDoc = legacyDocs.get(key) ?? null;
    const storeDoc = storeDocs.get(key) ?? null;
    return { entityId: key, kind, fields: differingFields(legacyDoc, storeDoc), legacy: legacyDoc, store: storeDoc };
  });
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
