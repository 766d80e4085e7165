import type pg from 'pg';
import { Lsn } from '../offsets/lsn.ts';
import { comparePositions, type ReceivedChange } from './received-change.ts';

type Queryable = pg.ClientBase | pg.Pool;

/**
 * The per-row "last applied position" that makes duplicate and out-of-order deliveries
 * harmless: a service records, in its own database and inside the same transaction as its
 * write, the position of the last change it applied to each source row, and skips any change
 * that is not newer. An older change can never overwrite a newer one; a duplicate is a no-op.
 *
 * A truncate is recorded for the whole table (row key ''), so a change older than the truncate
 * is skipped too.
 */
export class AppliedPositions {
  readonly tableName: string;

  constructor(options: { tableName?: string } = {}) {
    this.tableName = options.tableName ?? 'cdc_applied';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.tableName)) throw new RangeError(`not a plain table name: ${this.tableName}`);
  }

  /** Creates the bookkeeping table when missing (or put the same DDL in the service's migrations). */
  async ensureTable(db: Queryable): Promise<void> {
    await db.query(`CREATE TABLE IF NOT EXISTS ${this.tableName} (
      source_table text COLLATE "C" NOT NULL,
      row_key text COLLATE "C" NOT NULL,
      commit_lsn pg_lsn NOT NULL,
      position integer NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source_table, row_key)
    )`);
  }

  /**
   * Call inside the service's transaction before applying `change`. Returns true (and records
   * the change's position) when the change is newer than everything applied to its row; false
   * for a duplicate or an older change, which the service must then skip.
   */
  async claim(client: pg.ClientBase, change: ReceivedChange): Promise<boolean> {
    const rowKey = change.event.op === 't' ? '' : rowKeyOf(change);
    const { rowCount } = await client.query(
      `INSERT INTO ${this.tableName} AS applied (source_table, row_key, commit_lsn, position)
       SELECT $1, $2, $3::pg_lsn, $4
        WHERE NOT EXISTS (
          SELECT 1 FROM ${this.tableName} t
           WHERE t.source_table = $1 AND t.row_key = '' AND (t.commit_lsn, t.position) >= ($3::pg_lsn, $4))
       ON CONFLICT (source_table, row_key) DO UPDATE
          SET commit_lsn = EXCLUDED.commit_lsn, position = EXCLUDED.position, applied_at = now()
        WHERE (applied.commit_lsn, applied.position) < (EXCLUDED.commit_lsn, EXCLUDED.position)
       RETURNING 1`,
      [change.table, rowKey, change.position.commitLsn.toString(), change.position.index],
    );
    return rowCount === 1;
  }

  /**
   * `claim` for many changes in one round trip (a snapshot batch, a fill): returns, per change,
   * whether it is newer than everything applied to its row — and records those positions. Within
   * the batch, only the newest change of a row can be fresh. A truncate in the batch makes it
   * fall back to one `claim` per change, in order (a truncate changes what follows it).
   */
  async claimMany(client: pg.ClientBase, changes: readonly ReceivedChange[]): Promise<boolean[]> {
    const fresh = new Array<boolean>(changes.length).fill(false);
    if (changes.some((change) => change.event.op === 't')) {
      for (let i = 0; i < changes.length; i += 1) fresh[i] = await this.claim(client, changes[i]!);
      return fresh;
    }
    // The newest change per row; ON CONFLICT cannot touch one row twice in one statement.
    const newest = new Map<string, number>();
    const keys: string[] = [];
    for (let i = 0; i < changes.length; i += 1) {
      const change = changes[i]!;
      const key = rowKeyOf(change);
      keys.push(key);
      const id = `${change.table}\u0000${key}`;
      const seen = newest.get(id);
      if (seen === undefined || comparePositions(change.position, changes[seen]!.position) > 0) newest.set(id, i);
    }
    // A truncate recorded for a table (row key '') outdates every older change of it: read those
    // marks once for the batch instead of probing for one per row.
    const tables = [...new Set(changes.map((change) => change.table))];
    const { rows: truncates } = await client.query<{ source_table: string; commit_lsn: string; position: number }>(
      `SELECT source_table, commit_lsn::text AS commit_lsn, position FROM ${this.tableName} WHERE row_key = '' AND source_table = ANY($1::text[])`,
      [tables],
    );
    const truncatedAt = new Map(truncates.map((row) => [row.source_table, { commitLsn: Lsn.parse(row.commit_lsn), index: row.position }]));
    const chosen = [...newest.values()].filter((i) => {
      const mark = truncatedAt.get(changes[i]!.table);
      return mark === undefined || comparePositions(changes[i]!.position, mark) > 0;
    });
    if (chosen.length === 0) return fresh;
    const { rows } = await client.query<{ source_table: string; row_key: string }>(
      `INSERT INTO ${this.tableName} AS applied (source_table, row_key, commit_lsn, position)
       SELECT c.source_table, c.row_key, c.commit_lsn, c.position
         FROM unnest($1::text[], $2::text[], $3::pg_lsn[], $4::int[]) AS c(source_table, row_key, commit_lsn, position)
       ON CONFLICT (source_table, row_key) DO UPDATE
          SET commit_lsn = EXCLUDED.commit_lsn, position = EXCLUDED.position, applied_at = now()
        WHERE (applied.commit_lsn, applied.position) < (EXCLUDED.commit_lsn, EXCLUDED.position)
       RETURNING source_table, row_key`,
      [
        chosen.map((i) => changes[i]!.table),
        chosen.map((i) => keys[i]!),
        chosen.map((i) => changes[i]!.position.commitLsn.toString()),
        chosen.map((i) => changes[i]!.position.index),
      ],
    );
    for (const row of rows) {
      const i = newest.get(`${row.source_table}\u0000${row.row_key}`);
      if (i !== undefined) fresh[i] = true;
    }
    return fresh;
  }

  /** Forgets every applied position (the service's store is being emptied, to be seeded again). */
  async clear(db: Queryable): Promise<void> {
    await db.query(`TRUNCATE ${this.tableName}`);
  }

  /**
   * Runs `apply` in a transaction on a client from `pool`, only when `change` is newer than
   * what was applied to its row. Returns whether it applied. The position is recorded in the
   * same transaction, so a crash between the write and the acknowledgement is harmless.
   */
  async applyOnce(pool: pg.Pool, change: ReceivedChange, apply: (client: pg.PoolClient) => Promise<void>): Promise<boolean> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const fresh = await this.claim(client, change);
      if (fresh) await apply(client);
      await client.query('COMMIT');
      return fresh;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The newest commit LSN applied to any row: how far the service's store has caught up. */
  async lastAppliedLsn(db: Queryable): Promise<Lsn | null> {
    const { rows } = await db.query<{ lsn: string | null }>(`SELECT max(commit_lsn)::text AS lsn FROM ${this.tableName}`);
    return rows[0]?.lsn ? Lsn.parse(rows[0].lsn) : null;
  }
}

/** A stable text key for a row: its primary key columns as sorted JSON. */
export function rowKeyOf(change: ReceivedChange): string {
  const key = change.key ?? change.event.after ?? change.event.before ?? {};
  return JSON.stringify(Object.keys(key).sort().map((column) => [column, key[column] ?? null]));
}
