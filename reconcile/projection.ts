import type pg from 'pg';

/**
 * Renders the condition that selects the compared keys, for one key column of one table
 * (`keys('v.entity_id')` → `v.entity_id >= $1 AND v.entity_id < $2`). A projection calls it once
 * for every table it reads, so that each of them is filtered by its own index instead of the
 * whole projection being computed and filtered afterwards.
 */
export type KeyCondition = (column: string) => string;

/**
 * One side of a Reconciliation: the canonical, comparable form of every product, computed inside
 * its own database, so that only checksums cross the network until a range differs.
 *
 * Both sides of one comparison must produce, for the same product, the same `doc` (a jsonb
 * value: its text form is canonical — keys sorted, no insignificant whitespace — so its md5 is
 * equal exactly when the content is).
 */
export interface Projection {
  /** For the report: `legacy`, or the service's store. */
  readonly name: string;
  /** `SELECT entity_id, doc` (int, jsonb) of the products whose key satisfies `keys`. */
  select(keys: KeyCondition): string;
  /** `SELECT entity_id` of every product this side knows (for the key space's bounds). */
  readonly allKeys: string;
  /**
   * Where this side stands in the legacy's change history (see SidePosition); `keys`: the
   * products being re-checked, for a store that can tell which of them still await work.
   */
  position(db: Queryable, keys?: readonly number[]): Promise<SidePosition>;
}

/**
 * A position in the legacy's change history: the legacy's current WAL position, or the newest
 * commit LSN a store has applied (null: nothing yet). `activity` changes whenever the side applies
 * anything — the LSN alone does not, while a store works through the rows of one large
 * transaction, which all share its commit LSN.
 */
export interface SidePosition {
  lsn: bigint | null;
  activity: string;
  /** A write transaction is open on this side right now (its rows show only at its commit). */
  busy: boolean;
}

export type Queryable = Pick<pg.Pool, 'query'>;
