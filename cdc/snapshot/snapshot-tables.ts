import type pg from 'pg';
import { SIGNAL_TABLE, SNAPSHOT_STATE_TABLE } from './snapshot-protocol.ts';

/**
 * The two tables incremental snapshots need in the legacy database, created by the capture
 * setup (idempotent):
 *
 * - `strangler_cdc_signal`: requests (`execute-snapshot`, `stop-snapshot`). Added to the
 *   publication, so a request is ordered in the WAL with the changes around it. Its rows are
 *   never published to consumers: the bridge consumes them itself.
 * - `strangler_cdc_snapshot`: the bridge's bookkeeping — one row per snapshot with its state,
 *   the table in progress and the last key of the last completed chunk (the resume point),
 *   rows per table, estimates, rate and error. Not captured.
 */
export async function ensureSnapshotTables(client: Pick<pg.ClientBase, 'query'>): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS public.${SIGNAL_TABLE} (
    id text PRIMARY KEY,
    type text NOT NULL,
    data jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`);
  await client.query(`CREATE TABLE IF NOT EXISTS public.${SNAPSHOT_STATE_TABLE} (
    id text PRIMARY KEY,
    target text NOT NULL,
    tables text[] NOT NULL,
    where_clause text,
    keys jsonb,
    chunk_size integer NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'cancelled', 'failed')),
    current_table text,
    last_key jsonb,
    chunk_seq integer NOT NULL DEFAULT 0,
    rows_emitted jsonb NOT NULL DEFAULT '{}',
    rows_estimated jsonb NOT NULL DEFAULT '{}',
    done_tables text[] NOT NULL DEFAULT '{}',
    rows_per_second double precision NOT NULL DEFAULT 0,
    eta_seconds double precision,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
  )`);
}
