import type { Logger } from '../../../platform/logger.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import type { CatalogProjector } from './catalog-projector.ts';
import type { CatalogSync } from './catalog-sync.ts';
import type { SeedSnapshotStatus } from '../../../cdc/consumer/store-seeding.ts';

export interface FreshnessStatus {
  /**
   * `starting` until the sync has started and read its seeding marker,
   * `seeding` while an empty store fills from its snapshot (then `snapshot` says how far),
   * `seed-failed` when that snapshot failed, `catching-up` while the queue holds messages, `ready`.
   */
  status: 'starting' | 'seeding' | 'seed-failed' | 'catching-up' | 'ready';
  snapshot: SeedSnapshotStatus | null;
  /** The commit LSN of the newest change folded into the documents. */
  appliedLsn: string | null;
  /** Commit time in the legacy of that change (ISO), when known in this process. */
  appliedCommitTime: string | null;
  /** Messages waiting in the PIM's queue. */
  queueDepth: number | null;
  /** Seconds the documents are behind the legacy: 0 when the queue is drained, else age of the newest applied change. */
  lagSeconds: number;
  /** What the bridge reports (GET CDC_URL), when reachable. */
  bridge: { state: string; flushedLsn: string | null; lagBytes: number | null } | null;
  /** The store is seeded (an empty store's snapshot has completed). */
  initialFillDone: boolean;
  caughtUp: boolean;
}

export interface FreshnessDeps {
  projector: CatalogProjector;
  sync: () => CatalogSync | undefined;
  /** The bridge's health endpoint (cdc/health-server.ts: GET /healthz → BridgeStatus). */
  bridgeHealthUrl?: string;
  logger: Logger;
  now?: () => number;
}

/**
 * How fresh the documents are, for X-Data-Lsn, /healthz and /readyz. Ready means: the store is
 * seeded (an empty store's snapshot has completed and its documents are built) and the queue is drained — reads then reflect the legacy up to
 * the bridge's last publish (plus at most the changes being handled).
 */
export class Freshness {
  private persistedLsn: string | null = null;

  constructor(private readonly deps: FreshnessDeps) {}

  /** Reads the LSN recorded in the PIM database, for the time before this process applied anything. */
  async load(): Promise<void> {
    this.persistedLsn = await this.deps.projector.lastAppliedLsn();
  }

  appliedLsn(): string | null {
    const live = this.deps.projector.lastApplied?.position.commitLsn;
    if (!live) return this.persistedLsn;
    if (!this.persistedLsn) return live.toString();
    return live.compare(Lsn.parse(this.persistedLsn)) >= 0 ? live.toString() : this.persistedLsn;
  }

  async status(): Promise<FreshnessStatus> {
    const sync = this.deps.sync();
    const [queueDepth, bridge] = await Promise.all([sync ? sync.queueDepth() : Promise.resolve(null), this.bridge()]);
    const applied = this.deps.projector.lastApplied;
    const now = (this.deps.now ?? Date.now)();
    const behind = queueDepth === null || queueDepth > 0 || !sync?.initialFillDone;
    const lagSeconds = behind && applied ? Math.max(0, (now - applied.commitTimeMs) / 1000) : 0;
    const appliedLsn = this.appliedLsn();
    let lagBytes: number | null = null;
    if (bridge?.flushedLsn && appliedLsn) {
      lagBytes = Math.max(0, Number(Lsn.parse(bridge.flushedLsn).minus(Lsn.parse(appliedLsn))));
    }
    const initialFillDone = sync?.initialFillDone ?? false;
    const seed = sync?.seed;
    const caughtUp = initialFillDone && queueDepth === 0;
    const status = !sync || !sync.seedKnown ? 'starting' : seed && seed.state !== 'seeded' ? seed.state : caughtUp ? 'ready' : 'catching-up';
    return {
      status,
      snapshot: seed?.snapshot ?? null,
      appliedLsn,
      appliedCommitTime: applied ? new Date(applied.commitTimeMs).toISOString() : null,
      queueDepth,
      lagSeconds,
      bridge: bridge ? { ...bridge, lagBytes } : null,
      initialFillDone,
      caughtUp,
    };
  }

  private async bridge(): Promise<{ state: string; flushedLsn: string | null } | null> {
    if (!this.deps.bridgeHealthUrl) return null;
    try {
      const response = await fetch(this.deps.bridgeHealthUrl, { signal: AbortSignal.timeout(500) });
      const body = (await response.json()) as { state?: unknown; flushedLsn?: unknown };
      return {
        state: typeof body.state === 'string' ? body.state : 'unknown',
        flushedLsn: typeof body.flushedLsn === 'string' ? body.flushedLsn : null,
      };
    } catch {
      return null;
    }
  }
}
