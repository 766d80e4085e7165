import type { ComparableSide } from './comparable-side.ts';

/** A key whose two sides differed: each side's hash (null: absent on that side). */
export interface Difference {
  legacy: string | null;
  store: string | null;
}

export interface LagRecheckOptions {
  legacy: ComparableSide;
  store: ComparableSide;
  /** Pause between two re-checks. */
  settleMs: number;
  /** A difference must stay the same at least this long before it counts as drift. */
  graceMs: number;
  /**
   * A store that applied nothing for this long counts as caught up (idle, or stuck). Longer than
   * any one transaction of the service: rows applied inside a transaction show only at its commit.
   */
  idleMs: number;
  /** Re-checking stops after this long; what still moves is reported as unsettled. */
  maxWaitMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface LagRecheckResult {
  /** Differences that stood still long enough, with the store caught up: drift. */
  confirmed: Map<number, Difference>;
  /** Keys whose sides became equal: they were replication lag. */
  settled: number;
  /** Keys still moving (or waiting for the store) when time ran out. */
  unsettled: number[];
  rounds: number;
}

interface Watch extends Difference {
  /** When this pair of hashes was first seen. */
  since: number;
  /** The legacy's WAL position when it was seen: every legacy commit it reflects is before it. */
  observedAt: bigint | null;
}

/**
 * Tells drift from replication lag. A change committed in the legacy reaches the store a moment
 * later, so a difference seen once proves nothing. Each differing key is re-read on both sides
 * every `settleMs`:
 *
 * - equal now → it was lag (settled);
 * - a side changed → still in flight: watch the new pair from now;
 * - the same pair for `graceMs`, the store not busy (no write transaction open, no work pending
 *   for these products), and the store caught up with the moment the pair was seen
 *   (its newest applied commit LSN passed the legacy's WAL position at that moment, or it has
 *   applied nothing at all for `idleMs`, with no write transaction open — idle, or stuck) → drift.
 *
 * A store that is far behind but still applying is waited for (up to `maxWaitMs`), instead of
 * calling every change it has not reached yet drift.
 */
export async function recheckDifferences(
  initial: ReadonlyMap<number, Difference>,
  observedAt: bigint | null,
  options: LagRecheckOptions,
): Promise<LagRecheckResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  const watching = new Map<number, Watch>();
  for (const [key, difference] of initial) watching.set(key, { ...difference, since: started, observedAt });
  const confirmed = new Map<number, Difference>();
  let settled = 0;
  let rounds = 0;
  let storeActivity = watching.size > 0 ? (await options.store.position()).activity : null;
  let storeActiveAt = started;
  while (watching.size > 0 && now() - started < options.maxWaitMs) {
    await sleep(options.settleMs);
    rounds += 1;
    const keys = [...watching.keys()];
    // The store's position BEFORE its hashes: the hashes reflect at least that much of the stream.
    // (Read after them, the store could have caught up in between, and a stale hash would pass
    // for one read from a caught-up store.)
    const storePosition = await options.store.position(keys);
    const [legacyHashes, storeHashes] = await Promise.all([options.legacy.hashesOf(keys), options.store.hashesOf(keys)]);
    // The legacy's position AFTER its hashes: every commit they reflect lies before it.
    const legacyPosition = await options.legacy.position();
    const at = now();
    if (storePosition.activity !== storeActivity || storePosition.busy) storeActiveAt = at;
    storeActivity = storePosition.activity;
    // Quiet for a long while: nothing in hand (or stuck) — waiting longer changes nothing.
    const storeIdle = at - storeActiveAt >= options.idleMs;
    for (const key of keys) {
      const watch = watching.get(key)!;
      const legacy = legacyHashes.get(key) ?? null;
      const store = storeHashes.get(key) ?? null;
      if (legacy === store) {
        watching.delete(key);
        settled += 1;
      } else if (legacy !== watch.legacy || store !== watch.store) {
        watching.set(key, { legacy, store, since: at, observedAt: legacyPosition.lsn });
      } else if (at - watch.since >= options.graceMs) {
        // Busy (a write transaction open, or these products' work unfinished): what it holds may not show yet.
        const caughtUp = !storePosition.busy && (storeIdle || (storePosition.lsn !== null && watch.observedAt !== null && storePosition.lsn >= watch.observedAt));
        if (caughtUp) {
          watching.delete(key);
          confirmed.set(key, { legacy, store });
        }
      }
    }
  }
  return { confirmed, settled, unsettled: [...watching.keys()].sort((a, b) => a - b), rounds };
}
