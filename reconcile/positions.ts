import { Lsn } from '../cdc/offsets/lsn.ts';
import type { Queryable, SidePosition } from './projection.ts';

/** The legacy's current WAL position: every commit visible to a read made before it lies below it. */
export async function legacyWalPosition(db: Queryable): Promise<SidePosition> {
  const { rows } = await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const lsn = Lsn.parse(rows[0]!.lsn).toBigInt();
  return { lsn, activity: String(lsn), busy: false };
}

/**
 * How far a store has applied the stream, from the consumer kit's cdc_applied table: the newest
 * commit LSN, the newest applied_at as its activity (it moves with every committed batch, also
 * inside one large source transaction), and whether a write transaction is open in the store's
 * database (a batch being applied: applied_at is its start time, visible only at its commit).
 * `pendingWork`: a query that finds work the store has received but not finished (rows applied,
 * documents not yet rebuilt) for the products `$1` (int[], null: any product); while it finds
 * any, the store is busy.
 */
export async function appliedPosition(
  db: Queryable,
  options: { table?: string; pendingWork?: string; keys?: readonly number[] | undefined } = {},
): Promise<SidePosition> {
  const pending = options.pendingWork ? ` OR EXISTS (${options.pendingWork})` : '';
  const { rows } = await db.query<{ lsn: string | null; at: string | null; busy: boolean }>(
    `SELECT max(commit_lsn)::text AS lsn, max(applied_at)::text AS at,
            (EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL)${pending}) AS busy
       FROM ${options.table ?? 'cdc_applied'}`,
    options.pendingWork ? [options.keys ? [...options.keys] : null] : [],
  );
  const lsn = rows[0]?.lsn ? Lsn.parse(rows[0].lsn).toBigInt() : null;
  return { lsn, activity: `${lsn ?? '-'}@${rows[0]?.at ?? '-'}`, busy: rows[0]?.busy ?? false };
}
