import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ComparableSide } from './comparable-side.ts';
import type { SidePosition } from './projection.ts';
import { reconcile } from './reconciliation.ts';

// The algorithm on sides held in memory, on a clock the specs move: what is compared, and how
// replication lag is told from drift. (The SQL of each service is specified against real
// databases in extracted/<service>/reconcile/.)

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** A side whose products are a map (entity id → canonical text), with a position the spec moves. */
class MemorySide implements ComparableSide {
  readonly rows = new Map<number, string>();
  lsn: bigint | null = 100n;
  activity = 0;
  busy = false;
  rangeReads: Array<[number, number]> = [];
  /** Called before every hashesOf: a re-check round (lets a spec change the side between rounds). */
  onRecheck: ((round: number) => void) | undefined;
  private round = 0;

  constructor(readonly name: string) {}

  async bounds() {
    const keys = [...this.rows.keys()];
    return keys.length === 0 ? null : { min: Math.min(...keys), max: Math.max(...keys) };
  }

  async bucketChecksums(from: number, to: number, bucketSize: number) {
    const sums = new Map<number, { rows: number; sum: string }>();
    for (const [key, text] of this.rows) {
      if (key < from || key >= to) continue;
      const bucket = Math.floor(key / bucketSize);
      const current = sums.get(bucket) ?? { rows: 0, sum: '0' };
      sums.set(bucket, { rows: current.rows + 1, sum: String(BigInt(current.sum) + BigInt(`0x${md5(text).slice(0, 15)}`)) });
    }
    return sums;
  }

  async rangeHashes(from: number, to: number) {
    this.rangeReads.push([from, to]);
    return new Map([...this.rows].filter(([key]) => key >= from && key < to).map(([key, text]) => [key, md5(text)] as [number, string]));
  }

  async hashesOf(keys: readonly number[]) {
    this.onRecheck?.(++this.round);
    return new Map(keys.filter((key) => this.rows.has(key)).map((key) => [key, md5(this.rows.get(key)!)] as [number, string]));
  }

  async documentsOf(keys: readonly number[]) {
    return new Map(keys.filter((key) => this.rows.has(key)).map((key) => [key, JSON.parse(this.rows.get(key)!) as Record<string, unknown>] as [number, Record<string, unknown>]));
  }

  async position(): Promise<SidePosition> {
    return { lsn: this.lsn, activity: String(this.activity), busy: this.busy };
  }
}

function sides(products: number): { legacy: MemorySide; store: MemorySide } {
  const legacy = new MemorySide('legacy');
  const store = new MemorySide('store');
  for (let id = 1; id <= products; id += 1) {
    const text = JSON.stringify({ sku: `SKU-${id}`, price: String(id) });
    legacy.rows.set(id, text);
    store.rows.set(id, text);
  }
  return { legacy, store };
}

/** A clock that only moves when the reconciliation sleeps. */
function clock() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

const TIMING = { settleMs: 100, graceMs: 300, idleMs: 1000, maxWaitMs: 10_000 };

describe('reconcile (in memory)', () => {
  it('when both sides hold the same products, then only checksums are compared and nothing drifts', async () => {
    const { legacy, store } = sides(2500);
    const report = await reconcile({ service: 'test', legacy, store, bucketSize: 100, segmentSize: 1000, ...clock(), ...TIMING });
    expect(report).toMatchObject({ legacyProducts: 2500, storeProducts: 2500, missing: [], extra: [], different: [], settledByLag: 0, rounds: 0 });
    expect(report.buckets).toEqual({ size: 100, compared: 26, differing: 0 });
    expect(legacy.rangeReads).toEqual([]);
  });

  it('when products are missing, extra or different, then only their buckets are read row by row, and each is reported by kind with the fields that differ', async () => {
    const { legacy, store } = sides(2500);
    store.rows.delete(120);
    store.rows.set(3000, JSON.stringify({ sku: 'GHOST', price: '1' }));
    store.rows.set(1777, JSON.stringify({ sku: 'SKU-1777', price: '0.01' }));
    const report = await reconcile({ service: 'test', legacy, store, bucketSize: 100, segmentSize: 1000, examples: 1, ...clock(), ...TIMING });
    expect({ missing: report.missing, extra: report.extra, different: report.different }).toEqual({ missing: [120], extra: [3000], different: [1777] });
    expect(report.buckets.differing).toBe(3);
    expect(store.rangeReads.sort((a, b) => a[0] - b[0])).toEqual([[100, 200], [1700, 1800], [3000, 3100]]);
    expect(report.examples).toEqual([
      { entityId: 120, kind: 'missing', fields: ['price', 'sku'], legacy: { sku: 'SKU-120', price: '120' }, store: null },
      { entityId: 3000, kind: 'extra', fields: ['price', 'sku'], legacy: null, store: { sku: 'GHOST', price: '1' } },
      { entityId: 1777, kind: 'different', fields: ['price'], legacy: { sku: 'SKU-1777', price: '1777' }, store: { sku: 'SKU-1777', price: '0.01' } },
    ]);
  });

  it('when the store catches up with a change during the re-checks, then the difference was lag, not drift', async () => {
    const { legacy, store } = sides(300);
    legacy.rows.set(42, JSON.stringify({ sku: 'SKU-42', price: 'new' }));
    store.onRecheck = (round) => {
      if (round === 3) {
        store.rows.set(42, legacy.rows.get(42)!);
        store.activity += 1;
      }
    };
    const report = await reconcile({ service: 'test', legacy, store, ...clock(), ...TIMING });
    expect(report).toMatchObject({ different: [], settledByLag: 1, unsettled: [], rounds: 3 });
  });

  it('when a difference stands still while the store applies nothing, then it is drift once the store has been idle long enough', async () => {
    const { legacy, store } = sides(300);
    store.rows.set(7, JSON.stringify({ sku: 'SKU-7', price: 'corrupted' }));
    // The store never reaches the legacy's position: only its idleness says it has nothing in hand.
    legacy.lsn = 500n;
    const report = await reconcile({ service: 'test', legacy, store, ...clock(), ...TIMING });
    expect(report.different).toEqual([7]);
    // Not before the store had been quiet for idleMs (1000 ms, 10 rounds of 100 ms).
    expect(report.rounds).toBe(10);
  });

  it('when the store is far behind but applying, then a difference waits for the store to pass the moment it was seen', async () => {
    const { legacy, store } = sides(300);
    legacy.rows.set(7, JSON.stringify({ sku: 'SKU-7', price: 'new' }));
    legacy.lsn = 500n;
    store.lsn = 100n;
    store.onRecheck = (round) => {
      // Applying, one transaction after another, for 40 rounds (4 s: past graceMs and idleMs)…
      store.activity += 1;
      if (round < 40) store.lsn = 100n + BigInt(round);
      // …then it passes the legacy's position when the difference was seen, without the change:
      // that is drift (the change was lost on the way).
      else store.lsn = 600n;
    };
    const report = await reconcile({ service: 'test', legacy, store, ...clock(), ...TIMING });
    expect(report.different).toEqual([7]);
    expect(report.rounds).toBe(41);
  });

  it('when a write transaction is open in the store, then the store does not count as idle', async () => {
    const { legacy, store } = sides(300);
    legacy.rows.set(9, JSON.stringify({ sku: 'SKU-9', price: 'new' }));
    legacy.lsn = 500n;
    store.busy = true;
    store.onRecheck = (round) => {
      // A long transaction commits in round 30 with the change.
      if (round === 30) {
        store.busy = false;
        store.rows.set(9, legacy.rows.get(9)!);
      }
    };
    const report = await reconcile({ service: 'test', legacy, store, ...clock(), ...TIMING });
    expect(report).toMatchObject({ different: [], settledByLag: 1 });
  });

  it('when a product keeps changing in the legacy until the re-checks run out of time, then it is unsettled, not drift', async () => {
    const { legacy, store } = sides(300);
    legacy.onRecheck = (round) => {
      legacy.rows.set(11, JSON.stringify({ sku: 'SKU-11', price: `v${round}` }));
      legacy.lsn = 1000n + BigInt(round);
      store.activity += 1;
    };
    legacy.rows.set(11, JSON.stringify({ sku: 'SKU-11', price: 'v0' }));
    const report = await reconcile({ service: 'test', legacy, store, ...clock(), ...TIMING, maxWaitMs: 2000 });
    expect(report).toMatchObject({ missing: [], extra: [], different: [], unsettled: [11], rounds: 20 });
  });

  it('when asked for some keys only, then no checksum pass runs and those keys are compared', async () => {
    const { legacy, store } = sides(300);
    store.rows.set(5, JSON.stringify({ sku: 'SKU-5', price: 'x' }));
    store.rows.set(6, JSON.stringify({ sku: 'SKU-6', price: 'x' }));
    const report = await reconcile({ service: 'test', legacy, store, onlyKeys: [5, 8], ...clock(), ...TIMING });
    expect(report.different).toEqual([5]);
    expect(report.buckets.compared).toBe(0);
  });
});
