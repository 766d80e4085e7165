import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../../platform/logger.ts';
import type { ControlKind, SnapshotProgress } from '../snapshot/snapshot-protocol.ts';

type Queryable = Pick<pg.Pool | pg.ClientBase, 'query'>;

/** What a service's /readyz says about seeding (issue 8: `{ status: "seeding", snapshot: {…} }`). */
export interface SeedSnapshotStatus {
  id: string;
  rowsEmitted: number;
  /** Sum of the bridge's per-table estimates (pg_class.reltuples); null before the first progress. */
  rowsEstimated: number | null;
  /** 0–100, from rowsEmitted / rowsEstimated (capped at 99 until completed: estimates are estimates). */
  percent: number | null;
  etaSeconds: number | null;
  error?: string;
}

export type SeedState = 'seeding' | 'seeded' | 'seed-failed';

export interface SeedStatus {
  state: SeedState;
  snapshot: SeedSnapshotStatus | null;
}

export interface StoreSeedingOptions {
  pool: pg.Pool;
  /** Asks the bridge for a snapshot of `tables` into the service's queue, with this id (idempotent per id). */
  request: (snapshotId: string, tables: readonly string[]) => Promise<void>;
  /** The source tables the service follows (what the snapshot reads). */
  tables: readonly string[];
  logger: Logger;
  /**
   * Called when the snapshot's `completed` control message arrives — every row of it has been
   * applied by then (it comes after them in the queue) — before the seed is recorded as done:
   * e.g. the PIM builds the documents of every seeded product here, in bulk.
   */
  beforeComplete?: () => Promise<void>;
  /** The bookkeeping table (default `cdc_seed`); put SEED_TABLE_DDL in the service's migrations. */
  tableName?: string;
}

/** The seed marker's DDL, for a service's migrations (one row: the snapshot that seeds the store). */
export function seedTableDdl(tableName = 'cdc_seed'): string {
  return `CREATE TABLE IF NOT EXISTS ${tableName} (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  snapshot_id text,
  tables text[] NOT NULL DEFAULT '{}',
  state text NOT NULL CHECK (state IN ('requested', 'completed', 'failed')),
  requested_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
)`;
}

/**
 * How a service with an empty store fills it (issue 8, "Service bootstrap"): it asks the CDC
 * bridge for an incremental snapshot of the tables it follows, for itself alone, and is `seeding`
 * until the snapshot's `completed` control message has been applied.
 *
 * The snapshot id is written to the service's own store (`cdc_seed`) before the request is sent:
 * a restart in the middle of seeding finds it and sends the SAME request again (the bridge
 * executes an id once), instead of starting a second snapshot. The request must go out only after
 * the service's queue is declared and bound (the bridge publishes the rows to the queue through the
 * default exchange; with no queue they would be dropped): call `start()` after the consumer kit
 * started, and feed its control messages to `onControl`.
 *
 * A store that holds data but no marker (filled before seeding existed) is taken as seeded. A
 * snapshot that failed or was cancelled is marked `failed`, so that the next start asks for a new
 * one; meanwhile the service says `seed-failed` and is not ready.
 */
export class StoreSeeding {
  private state: SeedState = 'seeded';
  /** Until `prepare()` has read the marker, `state` is only its default. */
  private markerRead = false;
  private snapshotId: string | null = null;
  private progress: SnapshotProgress | null = null;
  private error: string | undefined;
  private readonly log: Logger;
  private readonly table: string;

  constructor(private readonly options: StoreSeedingOptions) {
    this.log = options.logger.child({ component: 'store-seeding' });
    this.table = options.tableName ?? 'cdc_seed';
  }

  /**
   * Reads the marker; for an empty store without one, records a new snapshot id. Returns whether
   * the store is seeding (then call `start()` once the queue is bound).
   */
  async prepare(storeEmpty: boolean): Promise<SeedState> {
    const { rows } = await this.options.pool.query<{ snapshot_id: string | null; state: string }>(`SELECT snapshot_id, state FROM ${this.table}`);
    const row = rows[0];
    if (row?.state === 'completed') {
      this.state = 'seeded';
    } else if (row?.state === 'requested' && row.snapshot_id) {
      this.state = 'seeding';
      this.snapshotId = row.snapshot_id;
      this.log.info({ snapshotId: this.snapshotId }, 'seeding was under way when the service stopped; following the same snapshot');
    } else if (storeEmpty || row?.state === 'failed') {
      // A failed seed left a partial store: it is seeded again (the position guard keeps what is newer).
      this.snapshotId = randomUUID();
      await this.options.pool.query(
        `INSERT INTO ${this.table} (snapshot_id, tables, state) VALUES ($1, $2, 'requested')
         ON CONFLICT (id) DO UPDATE SET snapshot_id = EXCLUDED.snapshot_id, tables = EXCLUDED.tables, state = 'requested', requested_at = now(), completed_at = NULL`,
        [this.snapshotId, [...this.options.tables]],
      );
      this.state = 'seeding';
    } else {
      // Filled before seeding existed (from the history stream): nothing to ask for.
      await this.options.pool.query(`INSERT INTO ${this.table} (state, completed_at) VALUES ('completed', now()) ON CONFLICT (id) DO NOTHING`);
      this.state = 'seeded';
    }
    this.markerRead = true;
    return this.state;
  }

  /** Whether `prepare()` has read the marker: before it, whether the store is seeding is not known yet. */
  get prepared(): boolean {
    return this.markerRead;
  }

  /** Sends the snapshot request (again, after a restart: same id, executed once by the bridge). */
  async start(): Promise<void> {
    if (this.state !== 'seeding' || !this.snapshotId) return;
    await this.options.request(this.snapshotId, this.options.tables);
    this.log.info({ snapshotId: this.snapshotId, tables: this.options.tables }, 'the store is empty: requested a snapshot of the followed tables');
  }

  /** For the consumer kit's `onControl`. Control messages of other snapshots (targeted repairs) are ignored here. */
  onControl = async (kind: ControlKind, progress: SnapshotProgress): Promise<void> => {
    if (progress.snapshotId !== this.snapshotId) return;
    this.progress = progress;
    if (this.state !== 'seeding') return;
    if (kind === 'completed') {
      await this.options.beforeComplete?.();
      await this.options.pool.query(`UPDATE ${this.table} SET state = 'completed', completed_at = now() WHERE snapshot_id = $1`, [this.snapshotId]);
      this.state = 'seeded';
      this.log.info({ snapshotId: this.snapshotId, rows: progress.rowsEmitted }, 'seeded the store from the snapshot');
    } else if (kind === 'failed' || kind === 'cancelled') {
      await this.options.pool.query(`UPDATE ${this.table} SET state = 'failed' WHERE snapshot_id = $1`, [this.snapshotId]);
      this.state = 'seed-failed';
      this.error = progress.error ?? `the snapshot was ${kind}`;
      this.log.error({ snapshotId: this.snapshotId, error: this.error }, 'seeding the store failed; restart the service to request a new snapshot');
    }
  };

  get seeding(): boolean {
    return this.state !== 'seeded';
  }

  get pendingSnapshotId(): string | null {
    return this.state === 'seeded' ? null : this.snapshotId;
  }

  status(): SeedStatus {
    if (this.state === 'seeded' || !this.snapshotId) return { state: this.state, snapshot: null };
    const progress = this.progress;
    const rowsEmitted = progress?.rowsEmitted ?? 0;
    const estimated = progress ? progress.tables.reduce((sum, table) => sum + table.rowsEstimated, 0) : null;
    const percent = estimated ? Math.min(99, Math.floor((100 * rowsEmitted) / estimated)) : null;
    return {
      state: this.state,
      snapshot: {
        id: this.snapshotId,
        rowsEmitted,
        rowsEstimated: estimated,
        percent,
        etaSeconds: progress?.etaSeconds ?? null,
        ...(this.error ? { error: this.error } : {}),
      },
    };
  }
}

/** Forgets the seed (store reset): the next start finds an empty store and requests a snapshot. */
export async function clearSeed(db: Queryable, tableName = 'cdc_seed'): Promise<void> {
  await db.query(`DELETE FROM ${tableName}`);
}
