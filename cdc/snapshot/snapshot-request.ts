import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Channel } from 'amqplib';
import type pg from 'pg';
import { StranglerError, messageOf, redactUrl } from '../../platform/errors.ts';
import {
  SIGNAL_QUEUE,
  SIGNAL_TABLE,
  SNAPSHOT_STATE_TABLE,
  SignalSchema,
  SnapshotProgressSchema,
  type Signal,
  type SnapshotProgress,
  type SnapshotRequest,
  type SnapshotState,
  type StopSnapshot,
} from './snapshot-protocol.ts';

/**
 * How a snapshot is asked for and followed, for every process that is not the bridge:
 *
 * - `requestSnapshot` / `requestSnapshotStop` publish the request to the AMQP queue
 *   `SIGNAL_QUEUE` (broker-confirmed) — for services, which never touch the legacy database;
 *   the bridge inserts it into the signal table, which orders it in the WAL.
 * - `writeSignal` inserts the request into the signal table directly — for the CLI and anything
 *   else holding LEGACY_DATABASE_URL (the bridge uses it too).
 * - `readSnapshot` / `waitForSnapshot` follow a snapshot in the bridge's bookkeeping table
 *   (legacy database). A service follows its own snapshot through the control messages in its
 *   queue instead (consumer kit `onControl`).
 */

type Queryable = Pick<pg.Pool | pg.ClientBase, 'query'>;

/** What a requester gives: `id` and `type` are filled in. */
export type SnapshotRequestInput = Omit<SnapshotRequest, 'id' | 'type'> & { id?: string };

const TERMINAL: ReadonlySet<SnapshotState> = new Set(['completed', 'cancelled', 'failed']);

export function isTerminal(state: SnapshotState): boolean {
  return TERMINAL.has(state);
}

export const SnapshotRequestErrors = {
  invalid: (detail: string, cause?: unknown) =>
    new StranglerError('CDC_SNAPSHOT_REQUEST_INVALID', `invalid snapshot request: ${detail}`, {
      remedy: 'Give at least one table (name or schema.name), a target (service or queue name) and, for keys, one object per row of primary-key columns.',
      cause,
    }),
  brokerUnavailable: (url: string, cause: unknown) =>
    new StranglerError('CDC_SNAPSHOT_REQUEST_UNDELIVERED', `could not hand the snapshot request to RabbitMQ at ${redactUrl(url)}: ${messageOf(cause)}`, {
      remedy: 'Check that RabbitMQ runs and AMQP_URL is right, then request again (a request with the same id is executed once).',
      cause,
    }),
  signalTableMissing: (cause: unknown) =>
    new StranglerError('CDC_SIGNAL_TABLE_MISSING', `the legacy database has no ${SIGNAL_TABLE} table: ${messageOf(cause)}`, {
      remedy: 'Start the CDC bridge once (npm start, or `strangler db setup`): its capture setup creates the signal table and adds it to the publication.',
      cause,
    }),
  databaseUnavailable: (url: string, cause: unknown) =>
    new StranglerError('CDC_SIGNAL_UNWRITABLE', `cannot reach the legacy database at ${redactUrl(url)} to write or read a snapshot signal: ${messageOf(cause)}`, {
      remedy: 'Check that PostgreSQL runs (npm start starts the embedded one) and that the URL is right; for another database pass --database-url or set LEGACY_DATABASE_URL.',
      cause,
    }),
  timeout: (id: string, state: string) =>
    new StranglerError('CDC_SNAPSHOT_TIMEOUT', `snapshot ${id} did not finish in time (last state: ${state})`, {
      remedy: 'Look at `strangler cdc status` for its progress; is the bridge running? The snapshot goes on in the bridge regardless.',
    }),
} as const;

/** Fills in id and type and validates (zod): throws CDC_SNAPSHOT_REQUEST_INVALID. */
export function buildSnapshotRequest(input: SnapshotRequestInput): SnapshotRequest {
  return parseSignal({ ...input, id: input.id ?? randomUUID(), type: 'execute-snapshot' }) as SnapshotRequest;
}

export function buildStopSnapshot(snapshotId: string, id: string = randomUUID()): StopSnapshot {
  return parseSignal({ id, type: 'stop-snapshot', snapshotId }) as StopSnapshot;
}

export function parseSignal(value: unknown): Signal {
  const result = SignalSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw SnapshotRequestErrors.invalid(`${issue?.path.join('.') || 'signal'}: ${issue?.message ?? 'invalid'}`, result.error);
  }
  return result.data;
}

/** The signal queue's declaration; the bridge and every requester declare it identically. */
export async function declareSignalQueue(channel: Channel, queue: string = SIGNAL_QUEUE): Promise<void> {
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
}

/**
 * Publishes a snapshot request to `SIGNAL_QUEUE` and resolves once the broker confirmed it; the
 * bridge executes it (once per id, also when sent twice). Returns the request with its id — the
 * `snapshotId` of the control messages that will arrive in the target's queue.
 */
export async function requestSnapshot(options: {
  amqpUrl: string;
  request: SnapshotRequestInput;
  connectionName?: string;
  /** The bridge's signal queue (CDC_SIGNAL_QUEUE); default SIGNAL_QUEUE. */
  queue?: string;
}): Promise<SnapshotRequest> {
  const request = buildSnapshotRequest(options.request);
  await publishSignal(options.amqpUrl, request, options.connectionName, options.queue);
  return request;
}

/** Asks the bridge to cancel snapshot `snapshotId` (through `SIGNAL_QUEUE`, confirmed). */
export async function requestSnapshotStop(options: { amqpUrl: string; snapshotId: string; connectionName?: string; queue?: string }): Promise<StopSnapshot> {
  const stop = buildStopSnapshot(options.snapshotId);
  await publishSignal(options.amqpUrl, stop, options.connectionName, options.queue);
  return stop;
}

async function publishSignal(amqpUrl: string, signal: Signal, connectionName = 'strangler-snapshot-request', queue: string = SIGNAL_QUEUE): Promise<void> {
  let connection: amqp.ChannelModel | undefined;
  try {
    connection = await amqp.connect(amqpUrl, { clientProperties: { connection_name: connectionName } });
    connection.on('error', () => undefined);
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    await declareSignalQueue(channel, queue);
    channel.sendToQueue(queue, Buffer.from(JSON.stringify(signal)), {
      persistent: true,
      contentType: 'application/json',
      messageId: signal.id,
      type: signal.type,
    });
    await channel.waitForConfirms();
  } catch (error) {
    throw SnapshotRequestErrors.brokerUnavailable(amqpUrl, error);
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/**
 * Inserts `signal` into the legacy database's signal table (idempotent: a second insert of the
 * same id does nothing). Returns whether the row is new.
 */
export async function writeSignal(db: Queryable, signal: Signal): Promise<boolean> {
  try {
    const result = await db.query(
      `INSERT INTO ${SIGNAL_TABLE} (id, type, data) VALUES ($1, $2, $3::jsonb) ON CONFLICT (id) DO NOTHING`,
      [signal.id, signal.type, JSON.stringify(signal)],
    );
    return result.rowCount === 1;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') throw SnapshotRequestErrors.signalTableMissing(error);
    throw error;
  }
}

/** A snapshot as the bridge's bookkeeping table holds it. */
export interface SnapshotRecord extends SnapshotProgress {
  tablesRequested: string[];
  where: string | null;
  keyCount: number | null;
  currentTable: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

interface SnapshotRow {
  id: string;
  target: string;
  tables: string[];
  where_clause: string | null;
  key_count: number | null;
  state: string;
  current_table: string | null;
  rows_emitted: Record<string, number>;
  rows_estimated: Record<string, number>;
  done_tables: string[];
  rows_per_second: number;
  eta_seconds: number | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const SELECT_SNAPSHOT = `SELECT id, target, tables, where_clause, CASE WHEN keys IS NULL THEN NULL ELSE jsonb_array_length(keys) END AS key_count,
       state, current_table, rows_emitted, rows_estimated, done_tables, rows_per_second, eta_seconds, error,
       created_at, updated_at, finished_at
  FROM ${SNAPSHOT_STATE_TABLE}`;

function recordOf(row: SnapshotRow): SnapshotRecord {
  const tables = row.tables.map((table) => ({
    table,
    rowsEmitted: Number(row.rows_emitted[table] ?? 0),
    rowsEstimated: Math.max(0, Math.round(Number(row.rows_estimated[table] ?? 0))),
    done: row.done_tables.includes(table),
  }));
  const progress = SnapshotProgressSchema.parse({
    snapshotId: row.id,
    target: row.target,
    state: row.state,
    tables,
    rowsEmitted: tables.reduce((sum, table) => sum + table.rowsEmitted, 0),
    rowsPerSecond: Math.max(0, Number(row.rows_per_second)),
    etaSeconds: row.eta_seconds === null ? null : Math.max(0, Number(row.eta_seconds)),
    ...(row.error ? { error: row.error } : {}),
  });
  return {
    ...progress,
    tablesRequested: row.tables,
    where: row.where_clause,
    keyCount: row.key_count,
    currentTable: row.current_table,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    finishedAt: row.finished_at ? row.finished_at.toISOString() : null,
  };
}

/** The snapshot `id`, or undefined while the bridge has not picked the request up yet. */
export async function readSnapshot(db: Queryable, id: string): Promise<SnapshotRecord | undefined> {
  try {
    const { rows } = await db.query<SnapshotRow>(`${SELECT_SNAPSHOT} WHERE id = $1`, [id]);
    return rows[0] ? recordOf(rows[0]) : undefined;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return undefined;
    throw error;
  }
}

/** Recent snapshots, newest first (running ones first). */
export async function listSnapshots(db: Queryable, limit = 20): Promise<SnapshotRecord[]> {
  try {
    const { rows } = await db.query<SnapshotRow>(
      `${SELECT_SNAPSHOT} ORDER BY (state IN ('pending', 'running')) DESC, created_at DESC LIMIT $1`,
      [limit],
    );
    return rows.map(recordOf);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return [];
    throw error;
  }
}

/**
 * Polls the bookkeeping table until snapshot `id` is completed, cancelled or failed and returns
 * its final record (check `.state`). `onProgress` sees every change; throws CDC_SNAPSHOT_TIMEOUT
 * after `timeoutMs` (default: no limit) or when `signal` aborts.
 */
export async function waitForSnapshot(
  db: Queryable,
  id: string,
  options: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal; onProgress?: (record: SnapshotRecord | undefined) => void } = {},
): Promise<SnapshotRecord> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const record = await readSnapshot(db, id);
    const fingerprint = record ? `${record.state}:${record.rowsEmitted}:${record.updatedAt}` : 'none';
    if (fingerprint !== last) {
      last = fingerprint;
      options.onProgress?.(record);
    }
    if (record && isTerminal(record.state)) return record;
    if (Date.now() > deadline || options.signal?.aborted) throw SnapshotRequestErrors.timeout(id, record?.state ?? 'not picked up by the bridge yet');
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}
