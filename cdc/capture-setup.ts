import pg from 'pg';
import type { Logger } from '../platform/logger.ts';
import { CdcErrors, classifyDatabaseError } from './errors.ts';
import {
  DEFAULT_CAPTURED_TABLES,
  DEFAULT_PUBLICATION,
  DEFAULT_SLOT,
  parseCaptureTable,
  type CaptureTable,
} from './capture-table.ts';
import { SIGNAL_TABLE } from './snapshot/snapshot-protocol.ts';
import { ensureSnapshotTables } from './snapshot/snapshot-tables.ts';

export interface PrepareCaptureOptions {
  databaseUrl: string;
  logger: Logger;
  /** Tables to capture (`name` or `schema.name`); default: the legacy catalog, price, category and stock tables. */
  tables?: string[];
  publication?: string;
  slot?: string;
  /**
   * Set REPLICA IDENTITY FULL on the captured tables (default true) so that updates and deletes
   * carry the complete old row, and an unchanged TOASTed value can be taken from it.
   */
  replicaIdentityFull?: boolean;
}

/**
 * Creates the snapshot signal and bookkeeping tables (cdc/snapshot/snapshot-tables.ts), then the
 * publication (captured tables + the signal table) and then the pgoutput replication slot when they are missing and
 * reuses them when present. The launcher calls it after the schema migration and before the
 * seed, so that every row ever written is retained for the stream.
 *
 * The publication comes first: pgoutput reads it through the slot's historic snapshot, and a
 * publication created after the slot is invisible to changes decoded before it existed.
 */
export async function prepareCapture(options: PrepareCaptureOptions): Promise<void> {
  const log = options.logger.child({ component: 'cdc-capture-setup' });
  const publication = options.publication ?? DEFAULT_PUBLICATION;
  const slot = options.slot ?? DEFAULT_SLOT;
  const tables = (options.tables ?? [...DEFAULT_CAPTURED_TABLES]).map(parseCaptureTable);
  const client = new pg.Client({ connectionString: options.databaseUrl });
  try {
    await client.connect();
  } catch (error) {
    throw classifyDatabaseError(options.databaseUrl, error) ?? error;
  }
  try {
    const { rows: walRows } = await client.query<{ wal_level: string }>('SHOW wal_level');
    const walLevel = walRows[0]?.wal_level ?? 'unknown';
    if (walLevel !== 'logical') throw CdcErrors.walLevelNotLogical(walLevel);

    await assertTablesExist(client, tables);
    // Before anything changes: a slot of this name in another database is refused, not reused.
    await existingSlot(client, slot);
    if (options.replicaIdentityFull ?? true) await setReplicaIdentityFull(client, tables, log);
    // Incremental snapshots: the signal table is published like the catalog (a request is
    // ordered in the WAL with the changes around it); the bookkeeping table is not.
    await ensureSnapshotTables(client);
    const signalTable = { schema: 'public', name: SIGNAL_TABLE };
    const published = tables.some((table) => table.schema === 'public' && table.name === SIGNAL_TABLE) ? tables : [...tables, signalTable];
    await ensurePublication(client, publication, published, log);
    await ensureSlot(client, slot, log);
  } catch (error) {
    throw classifyDatabaseError(options.databaseUrl, error) ?? error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function qualified(table: CaptureTable): string {
  return `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
}

async function assertTablesExist(client: pg.Client, tables: CaptureTable[]): Promise<void> {
  const { rows } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')`,
  );
  const present = new Set(rows.map((row) => `${row.schema}.${row.name}`));
  const missing = tables.filter((table) => !present.has(`${table.schema}.${table.name}`));
  if (missing.length > 0) throw CdcErrors.tableMissing(missing.map((table) => `${table.schema}.${table.name}`));
}

async function setReplicaIdentityFull(client: pg.Client, tables: CaptureTable[], log: Logger): Promise<void> {
  for (const table of tables) {
    const { rows } = await client.query<{ relreplident: string }>(
      `SELECT c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [table.schema, table.name],
    );
    // ALTER TABLE takes an ACCESS EXCLUSIVE lock: only when the setting actually changes.
    if (rows[0]?.relreplident === 'f') continue;
    await client.query(`ALTER TABLE ${qualified(table)} REPLICA IDENTITY FULL`);
    log.info({ table: `${table.schema}.${table.name}` }, 'set REPLICA IDENTITY FULL');
  }
}

async function ensurePublication(client: pg.Client, publication: string, tables: CaptureTable[], log: Logger): Promise<void> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  if (!rowCount) {
    try {
      await client.query(`CREATE PUBLICATION ${pg.escapeIdentifier(publication)} FOR TABLE ${tables.map(qualified).join(', ')}`);
      log.info({ publication, tables: tables.length }, 'created publication');
      return;
    } catch (error) {
      // A concurrent starter won the race: fall through and reuse its publication.
      if ((error as { code?: string }).code !== '42710') throw error;
    }
  }
  const { rows } = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [publication],
  );
  const included = new Set(rows.map((row) => `${row.schemaname}.${row.tablename}`));
  const missing = tables.filter((table) => !included.has(`${table.schema}.${table.name}`));
  if (missing.length > 0) {
    await client.query(`ALTER PUBLICATION ${pg.escapeIdentifier(publication)} ADD TABLE ${missing.map(qualified).join(', ')}`);
    log.info({ publication, added: missing.map((table) => table.name) }, 'added tables to the existing publication');
  } else {
    log.info({ publication }, 'reusing publication');
  }
}

/**
 * The slot of this name, when there is one this database can use. Slot names are cluster-wide,
 * but a logical slot decodes only the database it was created in: reusing another database's
 * slot would stream that database's changes (or none of ours), so it is refused.
 */
async function existingSlot(client: pg.Client, slot: string): Promise<{ plugin: string } | undefined> {
  const { rows } = await client.query<{ plugin: string; database: string | null; current: string }>(
    'SELECT plugin, database, current_database() AS current FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  const existing = rows[0];
  if (!existing) return undefined;
  if (existing.database !== existing.current) throw CdcErrors.slotOtherDatabase(slot, existing.database ?? '(none, a physical slot)', existing.current);
  if (existing.plugin !== 'pgoutput') throw CdcErrors.slotPluginMismatch(slot, existing.plugin);
  return existing;
}

async function ensureSlot(client: pg.Client, slot: string, log: Logger): Promise<void> {
  if (await existingSlot(client, slot)) {
    log.info({ slot }, 'reusing replication slot');
    return;
  }
  try {
    const created = await client.query<{ lsn: string }>(
      "SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
      [slot],
    );
    log.info({ slot, lsn: created.rows[0]?.lsn }, 'created replication slot');
  } catch (error) {
    if ((error as { code?: string }).code !== '42710') throw error;
    // Created concurrently by another process: it still has to be ours to reuse.
    await existingSlot(client, slot);
  }
}
