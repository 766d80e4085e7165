import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../../platform/logger.ts';
import { messageOf } from '../../platform/errors.ts';
import { CdcErrors } from '../errors.ts';
import { Lsn } from '../offsets/lsn.ts';
import type { PgoutputMessage } from '../source/stream-reader.ts';
import { ChunkReaderError, describeTable, estimateRows, keyString, keyStringOfValues, readChunk, type Chunk, type SnapshotTable } from './chunk-reader.ts';
import { buildBatches, buildControl, rowsPositionAt, type SnapshotEventContext, type SnapshotMessage } from './snapshot-message.ts';
import {
  SIGNAL_TABLE,
  SNAPSHOT_STATE_TABLE,
  SignalSchema,
  WATERMARK_PREFIX,
  targetQueue,
  type ControlKind,
  type Signal,
  type SnapshotProgress,
  type SnapshotState,
} from './snapshot-protocol.ts';
import { declareSignalQueue, writeSignal } from './snapshot-request.ts';

export interface IncrementalSnapshotOptions {
  databaseUrl: string;
  amqpUrl: string;
  serverName: string;
  database: string;
  logger: Logger;
  /** Rows per chunk unless the request says otherwise (CDC_SNAPSHOT_CHUNK_SIZE). */
  chunkSize: number;
  /** Rows per batch message. */
  batchRows: number;
  /** Name of the signal queue's AMQP connection as RabbitMQ lists it. */
  connectionName: string;
  /** The publication: only tables it captures can be snapshotted (their changes must reach the stream). */
  publication: string;
  /** The AMQP queue of requests (SIGNAL_QUEUE unless configured otherwise). */
  signalQueue: string;
  /**
   * Publishes on the bridge's confirm channel, counted by the flush coordinator like an event:
   * a transaction committed after the high watermark is acknowledged to PostgreSQL only once
   * the chunk's batches are confirmed. `onConfirm` runs on the broker's confirm. Returns a
   * promise when nothing more should be published before it settles (the channel's buffer is
   * full, or the in-flight window is): the live events' backpressure, which a chunk's batches
   * obey too while the stream waits at the chunk's high watermark.
   */
  publish: (message: SnapshotMessage, onConfirm: () => void) => Promise<void> | undefined;
  /** Ends the streaming session (a lost connection): the next session resumes the snapshot. */
  onFailure: (error: unknown) => void;
  /** Progress of the running snapshot, for metrics and /healthz. */
  onProgress?: (progress: SnapshotProgress) => void;
}

type WatermarkMessage = Extract<PgoutputMessage, { tag: 'message' }>;

const WatermarkSchema = z.object({ snapshotId: z.string(), chunk: z.string(), mark: z.enum(['low', 'high']) });

interface ChunkResult {
  retry: boolean;
  emitted: number;
  deleted: number;
  /** Settles once the broker confirmed every batch of the chunk. */
  confirmed: Promise<void>;
}

/**
 * The DBLog window of one chunk. Before the low watermark arrives in the stream it records the
 * transactions streamed meanwhile; between low and high it records the key of every streamed
 * change of the table — those rows are dropped from the chunk, since the stream already carries
 * a state at least as new.
 */
interface ChunkWindow {
  id: string;
  snapshotId: string;
  table: SnapshotTable;
  phase: 'before-low' | 'open';
  xidsBeforeLow: Set<number>;
  touched: Set<string>;
  truncated: boolean;
  chunk: Chunk | undefined;
  context: SnapshotEventContext;
  resolve: (result: ChunkResult) => void;
  reject: (error: unknown) => void;
}

interface SnapshotRow {
  id: string;
  target: string;
  tables: string[];
  where_clause: string | null;
  keys: Array<Record<string, string | number>> | null;
  chunk_size: number;
  state: SnapshotState;
  current_table: string | null;
  last_key: { after?: string[]; index?: number } | null;
  rows_emitted: Record<string, number>;
  rows_estimated: Record<string, number>;
  done_tables: string[];
}

/** A run of one snapshot in this process: counters for progress, rate and ETA. */
interface Run {
  row: SnapshotRow;
  context: SnapshotEventContext;
  emitted: Record<string, number>;
  estimated: Record<string, number>;
  done: Set<string>;
  startedAt: number;
  emittedAtStart: number;
  lastProgressAt: number;
  controls: number;
}

class Stopped extends Error {
  constructor() {
    super('the snapshot runner stopped');
  }
}

class SnapshotFailed extends Error {}

const MAX_CHUNK_RETRIES = 20;

/**
 * Incremental snapshots in the bridge (Netflix DBLog's watermark algorithm, Debezium's
 * incremental snapshots): one per streaming session, fed by the stream reader's messages.
 *
 * For each table, in primary-key chunks: write a low watermark to the WAL
 * (`pg_logical_emit_message`, not transactional), read the chunk on an ordinary connection,
 * write a high watermark. The stream meanwhile goes on; when the low watermark arrives every
 * streamed change of the table removes its key from the chunk, and at the high watermark the
 * rest is published as `op: "r"` to the target's queue, positioned at the high watermark. A row
 * is thus never published with a state older than a change the consumer already has or will get.
 *
 * Requests arrive as inserts into the signal table, seen in the stream (ordered with every
 * change). Requests published to the AMQP signal queue are inserted there first. Progress and
 * the resume point (last key of the last completed chunk) live in the bookkeeping table, so a
 * restarted bridge resumes with the next chunk; watermarks of an abandoned chunk that the slot
 * replays carry another chunk id (a random per-process prefix) and are ignored.
 */
export class IncrementalSnapshots {
  private readonly log: Logger;
  private readonly pool: pg.Pool;
  private readonly nonce = randomBytes(4).toString('hex');
  private sequence = 0;
  private window: ChunkWindow | undefined;
  private stopped = false;
  private started = false;
  private wake: (() => void) | undefined;
  private signals: Promise<void> = Promise.resolve();
  private loopDone: Promise<void> = Promise.resolve();
  private connection: ChannelModel | undefined;
  /** Settles once the signal queue's connection is up (or failed): the target-queue check uses it. */
  private connecting: Promise<void> = Promise.resolve();
  private executing: string | undefined;
  private readonly cancelRequests = new Set<string>();

  constructor(private readonly options: IncrementalSnapshotOptions) {
    this.log = options.logger.child({ component: 'cdc-snapshot' });
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 3, application_name: 'strangler-cdc-snapshot' });
    this.pool.on('error', (error) => this.log.warn({ err: error }, 'snapshot database connection failed'));
  }

  /** True while a chunk window is pending: the bridge then hands every change to `observe`. */
  get watching(): boolean {
    return this.window !== undefined;
  }

  /** A change from the stream while a window is pending (cheap: one comparison per change otherwise). */
  observe(message: PgoutputMessage): void {
    const window = this.window;
    if (!window) return;
    if (window.phase === 'before-low') {
      if (message.tag === 'begin') window.xidsBeforeLow.add(message.xid);
      return;
    }
    const table = window.table;
    switch (message.tag) {
      case 'insert':
        if (message.relation.name === table.name && message.relation.schema === table.schema) window.touched.add(keyString(table, message.new));
        break;
      case 'update':
      case 'delete': {
        if (message.relation.name !== table.name || message.relation.schema !== table.schema) break;
        const old = message.old ?? message.key;
        if (old) window.touched.add(keyString(table, old));
        if (message.tag === 'update') window.touched.add(keyString(table, message.new));
        break;
      }
      case 'truncate':
        if (message.relations.some((relation) => relation.name === table.name && relation.schema === table.schema)) window.truncated = true;
        break;
      default:
        break;
    }
  }

  /** Whether `relation` is the signal table (whose changes are consumed here, never published). */
  static isSignalTable(relation: { schema: string; name: string }): boolean {
    return relation.name === SIGNAL_TABLE && relation.schema === 'public';
  }

  /** An insert into the signal table, in WAL order. */
  onSignalRow(tuple: Record<string, unknown>): void {
    let signal: Signal;
    try {
      signal = SignalSchema.parse(JSON.parse(String(tuple.data)));
    } catch (error) {
      this.log.warn({ err: error, id: tuple.id }, 'ignored an invalid row in the signal table');
      return;
    }
    this.signals = this.signals
      .then(() => this.handleSignal(signal))
      .catch((error: unknown) => this.log.error({ err: error, id: signal.id }, 'could not record a snapshot signal'));
  }

  /**
   * A logical decoding message. At a chunk's high watermark its batches are published; returns a
   * promise when they had to wait for room (see `publish`): the stream should wait at the high
   * watermark until it settles, so the changes after it are published after the chunk, within
   * the same in-flight window, and the flush coordinator numbers the batches before any later
   * commit. It never waits for the snapshot itself (only for broker confirms and the socket),
   * so holding the stream cannot stall the window of a next chunk.
   */
  onLogicalMessage(lsn: Lsn, message: WatermarkMessage): Promise<void> | undefined {
    if (message.prefix !== WATERMARK_PREFIX) return;
    const window = this.window;
    let mark: z.infer<typeof WatermarkSchema>;
    try {
      mark = WatermarkSchema.parse(JSON.parse(Buffer.from(message.content).toString('utf8')));
    } catch {
      return;
    }
    // A watermark of a chunk abandoned by an earlier process (replayed from the slot): ignored.
    if (!window || window.id !== mark.chunk) return undefined;
    if (mark.mark === 'low') {
      window.phase = 'open';
      return undefined;
    }
    if (window.phase !== 'open' || !window.chunk) return undefined;
    this.window = undefined;
    return this.closeWindow(window, rowsPositionAt(Lsn.parse(message.messageLsn ?? lsn.toString())));
  }

  private closeWindow(window: ChunkWindow, highWatermark: Lsn): Promise<void> | undefined {
    const chunk = window.chunk!;
    // A transaction whose commit the stream delivered before the low watermark but which the
    // chunk's read did not see yet (committed in the WAL, not yet visible): its change would be
    // outside the window and the row stale. Rare; the chunk is read again.
    const raced = chunk.inProgress.some((xid) => window.xidsBeforeLow.has(xid));
    if (window.truncated || raced) {
      window.resolve({ retry: true, emitted: 0, deleted: 0, confirmed: Promise.resolve() });
      return undefined;
    }
    const rows = window.touched.size === 0 ? chunk.rows : chunk.rows.filter((row) => !window.touched.has(keyStringOfValues(chunk.keyIndexes, row)));
    const deleted = chunk.missing.filter((row) => !window.touched.has(keyString(window.table, row)));
    const messages = buildBatches(window.context, window.table, chunk.columns, rows, deleted, highWatermark, this.options.batchRows);
    let pending = messages.length;
    let allConfirmed!: () => void;
    const confirmed = new Promise<void>((resolve) => {
      allConfirmed = resolve;
    });
    if (pending === 0) allConfirmed();
    const onConfirm = () => {
      pending -= 1;
      if (pending === 0) allConfirmed();
    };
    window.resolve({ retry: false, emitted: rows.length, deleted: deleted.length, confirmed });
    return this.publishFrom(messages, 0, onConfirm);
  }

  /** Publishes `messages` from `from` on, waiting whenever `publish` asks to; a promise only when it had to wait. */
  private publishFrom(messages: SnapshotMessage[], from: number, onConfirm: () => void): Promise<void> | undefined {
    for (let index = from; index < messages.length; index += 1) {
      // Stopping: the session ends; the chunk's resume point was never recorded, so it is read again.
      if (this.stopped) return undefined;
      const wait = this.options.publish(messages[index]!, onConfirm);
      if (wait) return wait.then(() => this.publishFrom(messages, index + 1, onConfirm));
    }
    return undefined;
  }

  /** Once the stream runs: consume the signal queue and run pending snapshots. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.loopDone = this.loop().catch((error: unknown) => {
      if (!this.stopped) this.options.onFailure(error);
    });
    this.connecting = this.consumeSignalQueue();
    this.connecting.catch((error: unknown) => {
      if (!this.stopped) this.options.onFailure(CdcErrors.brokerConnectionLost(error));
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.window?.reject(new Stopped());
    this.window = undefined;
    this.wake?.();
    await this.connection?.close().catch(() => undefined);
    await this.loopDone.catch(() => undefined);
    await this.signals.catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  private async consumeSignalQueue(): Promise<void> {
    const connection = await amqp.connect(this.options.amqpUrl, { clientProperties: { connection_name: this.options.connectionName } });
    this.connection = connection;
    connection.on('error', () => undefined);
    connection.on('close', () => {
      if (!this.stopped) this.options.onFailure(CdcErrors.brokerConnectionLost(new Error('the signal queue connection closed')));
    });
    if (this.stopped) {
      await connection.close().catch(() => undefined);
      return;
    }
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await declareSignalQueue(channel, this.options.signalQueue);
    await channel.prefetch(20);
    await channel.consume(this.options.signalQueue, (message: ConsumeMessage | null) => {
      if (!message) return;
      let signal: Signal;
      try {
        const parsed = SignalSchema.safeParse(JSON.parse(message.content.toString('utf8')));
        if (!parsed.success) throw parsed.error;
        signal = parsed.data;
      } catch (error) {
        // Nothing could make it valid: dropped with a warning, never retried.
        this.log.warn({ err: error, messageId: message.properties.messageId }, `dropped an invalid message from ${this.options.signalQueue}`);
        channel.ack(message);
        return;
      }
      writeSignal(this.pool, signal).then(
        () => channel.ack(message),
        (error: unknown) => {
          this.log.warn({ err: error, id: signal.id }, 'could not write a snapshot signal; retrying');
          setTimeout(() => {
            try {
              channel.nack(message, false, true);
            } catch {
              // the channel is gone; the broker redelivers
            }
          }, 1000).unref();
        },
      );
    });
  }

  private async handleSignal(signal: Signal): Promise<void> {
    if (signal.type === 'execute-snapshot') {
      const inserted = await this.pool.query(
        `INSERT INTO ${SNAPSHOT_STATE_TABLE} (id, target, tables, where_clause, keys, chunk_size, state)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, 'pending') ON CONFLICT (id) DO NOTHING`,
        [signal.id, signal.target, signal.tables, signal.where ?? null, signal.keys ? JSON.stringify(signal.keys) : null, signal.chunkSize ?? this.options.chunkSize],
      );
      if (inserted.rowCount) this.log.info({ snapshotId: signal.id, target: signal.target, tables: signal.tables }, 'snapshot requested');
      this.wake?.();
      return;
    }
    if (this.executing === signal.snapshotId) {
      this.cancelRequests.add(signal.snapshotId);
      return;
    }
    const { rows } = await this.pool.query<SnapshotRow>(
      `UPDATE ${SNAPSHOT_STATE_TABLE} SET state = 'cancelled', finished_at = now(), updated_at = now()
        WHERE id = $1 AND state IN ('pending', 'running') RETURNING *`,
      [signal.snapshotId],
    );
    const row = rows[0];
    if (!row) {
      this.log.info({ snapshotId: signal.snapshotId }, 'stop-snapshot for a snapshot that is not pending or running; ignored');
      return;
    }
    this.log.info({ snapshotId: row.id }, 'snapshot cancelled before it ran');
    const run = this.runOf(row);
    await this.control(run, 'cancelled').catch((error: unknown) => this.log.warn({ err: error }, 'could not publish the cancelled message'));
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const { rows } = await this.pool.query<SnapshotRow>(
        `SELECT * FROM ${SNAPSHOT_STATE_TABLE} WHERE state IN ('running', 'pending') ORDER BY state = 'running' DESC, created_at, id LIMIT 1`,
      );
      const row = rows[0];
      if (!row) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          // Also poll: a request inserted while the signal was already handled.
          setTimeout(resolve, 5000).unref();
        });
        this.wake = undefined;
        continue;
      }
      await this.execute(row);
    }
  }

  private runOf(row: SnapshotRow): Run {
    const emitted = { ...row.rows_emitted };
    return {
      row,
      context: {
        serverName: this.options.serverName,
        database: this.options.database,
        snapshotId: row.id,
        queue: targetQueue(row.target),
        now: Date.now,
      },
      emitted,
      estimated: { ...row.rows_estimated },
      done: new Set(row.done_tables),
      startedAt: Date.now(),
      emittedAtStart: Object.values(emitted).reduce((sum, value) => sum + Number(value), 0),
      lastProgressAt: 0,
      controls: 0,
    };
  }

  private progressOf(run: Run, state: SnapshotState, error?: string): SnapshotProgress {
    const tables = run.row.tables.map((table) => ({
      table,
      rowsEmitted: run.emitted[table] ?? 0,
      rowsEstimated: Math.max(0, Math.round(run.estimated[table] ?? 0)),
      done: run.done.has(table),
    }));
    const rowsEmitted = tables.reduce((sum, table) => sum + table.rowsEmitted, 0);
    const seconds = (Date.now() - run.startedAt) / 1000;
    const rowsPerSecond = seconds > 0 ? Math.max(0, (rowsEmitted - run.emittedAtStart) / seconds) : 0;
    const remaining = tables.reduce((sum, table) => sum + (table.done ? 0 : Math.max(0, table.rowsEstimated - table.rowsEmitted)), 0);
    const etaSeconds = state === 'running' ? (remaining === 0 ? 0 : rowsPerSecond > 0 ? remaining / rowsPerSecond : null) : state === 'completed' ? 0 : null;
    return {
      snapshotId: run.row.id,
      target: run.row.target,
      state,
      tables,
      rowsEmitted,
      rowsPerSecond: Math.round(rowsPerSecond * 10) / 10,
      etaSeconds: etaSeconds === null ? null : Math.round(etaSeconds * 10) / 10,
      ...(error ? { error } : {}),
    };
  }

  /** Publishes a control message to the target's queue and waits for the broker's confirm. */
  private control(run: Run, kind: ControlKind, error?: string): Promise<void> {
    const state: SnapshotState = kind === 'progress' ? 'running' : kind;
    const progress = this.progressOf(run, state, error);
    this.options.onProgress?.(progress);
    run.controls += 1;
    const message = buildControl(run.context, kind, progress, run.controls);
    return new Promise<void>((resolve) => this.options.publish(message, resolve));
  }

  /**
   * A table outside the publication has no streamed changes to drop rows for: a chunk could
   * carry a state older than the consumer's. Debezium likewise snapshots captured tables only.
   */
  private async assertCaptured(tables: SnapshotTable[]): Promise<void> {
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1`,
      [this.options.publication],
    );
    const captured = new Set(rows.map((row) => row.name));
    const missing = tables.filter((table) => !captured.has(table.qualified));
    if (missing.length > 0) {
      throw new SnapshotFailed(`${missing.map((table) => table.qualified).join(', ')} not captured (not in publication ${this.options.publication}); add it to CDC_TABLES and restart the bridge`);
    }
  }

  private async targetQueueExists(queue: string): Promise<boolean> {
    await this.connecting.catch(() => undefined);
    const connection = this.connection;
    if (!connection) throw new Error('no AMQP connection to check the target queue with');
    const probe = await connection.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.checkQueue(queue);
      await probe.close().catch(() => undefined);
      return true;
    } catch {
      return false;
    }
  }

  private async execute(row: SnapshotRow): Promise<void> {
    const run = this.runOf(row);
    this.executing = row.id;
    const log = this.log.child({ snapshotId: row.id, target: row.target });
    let bookkeeping: Promise<void> = Promise.resolve();
    try {
      const tables: SnapshotTable[] = [];
      for (const name of row.tables) tables.push(await describeTable(this.pool, name).catch((error: unknown) => rethrowPermanent(error)));
      if (row.keys) validateKeys(row.keys, tables);
      await this.assertCaptured(tables);
      if (row.state === 'pending') {
        if (!(await this.targetQueueExists(run.context.queue))) {
          throw new SnapshotFailed(`the target queue ${run.context.queue} does not exist; start the service (its consumer declares the queue) and request again`);
        }
        for (let index = 0; index < tables.length; index += 1) {
          run.estimated[row.tables[index]!] = row.keys ? row.keys.length : await estimateRows(this.pool, tables[index]!);
        }
        row.rows_estimated = run.estimated;
        const started = await this.pool.query(
          `UPDATE ${SNAPSHOT_STATE_TABLE} SET state = 'running', started_at = now(), updated_at = now(), rows_estimated = $2::jsonb, current_table = $3
            WHERE id = $1 AND state = 'pending'`,
          [row.id, JSON.stringify(run.estimated), row.tables[0]],
        );
        // Cancelled between being picked and starting: the stop signal already told the target.
        if (!started.rowCount) return;
        log.info({ tables: row.tables, estimated: run.estimated }, 'snapshot started');
      } else {
        log.info({ table: row.current_table, lastKey: row.last_key }, 'snapshot resumed after the last completed chunk');
      }
      for (let index = 0; index < tables.length; index += 1) {
        const table = tables[index]!;
        const name = row.tables[index]!;
        if (run.done.has(name)) continue;
        const resume = row.current_table === name ? row.last_key : null;
        let after: string[] | null = resume?.after ?? null;
        let keyIndex = resume?.index ?? 0;
        for (;;) {
          if (this.stopped) throw new Stopped();
          if (this.cancelRequests.has(row.id)) {
            await bookkeeping;
            await this.finish(run, 'cancelled');
            log.info({ rows: run.emitted }, 'snapshot cancelled');
            return;
          }
          const limit = row.chunk_size;
          const keys = row.keys ? row.keys.slice(keyIndex, keyIndex + limit) : undefined;
          if (keys && keys.length === 0) break;
          const { chunk, result, confirmed } = await this.chunk(run, table, { where: row.where_clause ?? undefined, after, limit, keys });
          if (!keys && chunk.rows.length === 0) break;
          run.emitted[name] = (run.emitted[name] ?? 0) + result.emitted + result.deleted;
          let lastKey: SnapshotRow['last_key'];
          if (keys) {
            keyIndex += keys.length;
            lastKey = { index: keyIndex };
          } else {
            const last = chunk.rows[chunk.rows.length - 1]!;
            after = chunk.keyIndexes.map((index) => last[index] ?? '');
            lastKey = { after };
          }
          // Pipelined: the next chunk is read while this one's batches await their confirms; its
          // resume point is recorded only once they are confirmed, and in chunk order.
          await bookkeeping;
          const emitted = JSON.stringify(run.emitted);
          bookkeeping = confirmed.then(() => this.recordChunk(run, name, lastKey, emitted));
          bookkeeping.catch(() => undefined);
          if (!keys && chunk.rows.length < limit) break;
        }
        await bookkeeping;
        if (this.cancelRequests.has(row.id)) {
          await this.finish(run, 'cancelled');
          log.info({ rows: run.emitted }, 'snapshot cancelled');
          return;
        }
        run.done.add(name);
        const next = row.tables[index + 1] ?? null;
        await this.pool.query(
          `UPDATE ${SNAPSHOT_STATE_TABLE} SET done_tables = array_append(done_tables, $2), current_table = $3, last_key = NULL, updated_at = now() WHERE id = $1`,
          [row.id, name, next],
        );
        row.current_table = next;
        // The resume point belonged to the table just finished; the next one starts at its first key.
        row.last_key = null;
        log.info({ table: name, rows: run.emitted[name] ?? 0 }, 'table snapshotted');
      }
      await this.finish(run, 'completed');
      log.info({ rows: run.emitted, rowsPerSecond: this.progressOf(run, 'completed').rowsPerSecond }, 'snapshot completed');
    } catch (error) {
      if (error instanceof Stopped || this.stopped) return;
      const permanent = error instanceof SnapshotFailed || (error instanceof ChunkReaderError && error.permanent);
      if (!permanent) throw error;
      log.error({ err: error }, 'snapshot failed');
      await this.finish(run, 'failed', messageOf(error));
    } finally {
      this.executing = undefined;
      this.cancelRequests.delete(row.id);
    }
  }

  /** After a chunk's batches are confirmed: its resume point, counters, rate; a progress message at most once a second. */
  private async recordChunk(run: Run, table: string, lastKey: SnapshotRow['last_key'], emitted: string): Promise<void> {
    const progress = this.progressOf(run, 'running');
    const updated = await this.pool.query(
      `UPDATE ${SNAPSHOT_STATE_TABLE} SET current_table = $2, last_key = $3::jsonb, chunk_seq = chunk_seq + 1, rows_emitted = $4::jsonb,
              rows_per_second = $5, eta_seconds = $6, updated_at = now()
        WHERE id = $1 AND state = 'running'`,
      [run.row.id, table, JSON.stringify(lastKey), emitted, progress.rowsPerSecond, progress.etaSeconds],
    );
    if (!updated.rowCount) {
      this.log.info({ snapshotId: run.row.id }, 'snapshot no longer running (cancelled); stopping');
      this.cancelRequests.add(run.row.id);
      return;
    }
    this.options.onProgress?.(progress);
    if (Date.now() - run.lastProgressAt >= 1000) {
      run.lastProgressAt = Date.now();
      await this.control(run, 'progress');
    }
  }

  private async finish(run: Run, state: 'completed' | 'cancelled' | 'failed', error?: string): Promise<void> {
    // The final message after every batch (each chunk waited for its confirms).
    await this.control(run, state, error);
    await this.pool.query(
      `UPDATE ${SNAPSHOT_STATE_TABLE} SET state = $2, error = $3, rows_emitted = $4::jsonb, finished_at = now(), updated_at = now(),
              eta_seconds = CASE WHEN $2 = 'completed' THEN 0 ELSE NULL END
        WHERE id = $1`,
      [run.row.id, state, error ?? null, JSON.stringify(run.emitted)],
    );
  }

  /** One chunk between a low and a high watermark; read again when the window says so. */
  private async chunk(
    run: Run,
    table: SnapshotTable,
    request: { where?: string | undefined; after: string[] | null; limit: number; keys?: Array<Record<string, string | number>> | undefined },
  ): Promise<{ chunk: Chunk; result: ChunkResult; confirmed: Promise<void> }> {
    for (let attempt = 1; ; attempt += 1) {
      if (this.stopped) throw new Stopped();
      this.sequence += 1;
      let resolve!: (result: ChunkResult) => void;
      let reject!: (error: unknown) => void;
      const done = new Promise<ChunkResult>((resolveDone, rejectDone) => {
        resolve = resolveDone;
        reject = rejectDone;
      });
      // Rejected by stop() possibly before anything awaits it.
      done.catch(() => undefined);
      const window: ChunkWindow = {
        id: `${this.nonce}:${this.sequence}`,
        snapshotId: run.row.id,
        table,
        phase: 'before-low',
        xidsBeforeLow: new Set(),
        touched: new Set(),
        truncated: false,
        chunk: undefined,
        context: run.context,
        resolve,
        reject,
      };
      this.window = window;
      try {
        await this.watermark(window, 'low');
        window.chunk = await readChunk(this.pool, table, request);
        await this.watermark(window, 'high');
      } catch (error) {
        if (this.window === window) this.window = undefined;
        throw error;
      }
      const result = await done;
      if (!result.retry) return { chunk: window.chunk, result, confirmed: this.untilStopped(result.confirmed) };
      if (attempt >= MAX_CHUNK_RETRIES) throw new SnapshotFailed(`chunk of ${table.qualified} had to be read again ${attempt} times (truncates or commits racing the read)`);
      this.log.debug({ table: table.qualified, attempt }, 'chunk read again');
    }
  }

  /** `promise`, or a rejection once the runner stops (a lost broker never confirms). */
  private untilStopped(promise: Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (this.stopped) {
          clearInterval(timer);
          reject(new Stopped());
        }
      }, 200);
      timer.unref();
      promise.then(
        () => {
          clearInterval(timer);
          resolve();
        },
        (error: unknown) => {
          clearInterval(timer);
          reject(error);
        },
      );
    });
  }

  private async watermark(window: ChunkWindow, mark: 'low' | 'high'): Promise<void> {
    await this.pool.query('SELECT pg_logical_emit_message(false, $1, $2)', [
      WATERMARK_PREFIX,
      JSON.stringify({ snapshotId: window.snapshotId, chunk: window.id, mark }),
    ]);
  }
}

function rethrowPermanent(error: unknown): never {
  if (error instanceof ChunkReaderError && error.permanent) throw new SnapshotFailed(error.message);
  throw error;
}

function validateKeys(keys: Array<Record<string, string | number>>, tables: SnapshotTable[]): void {
  for (const table of tables) {
    const expected = [...table.keyColumns].sort().join(',');
    const wrong = keys.find((key) => Object.keys(key).sort().join(',') !== expected);
    if (wrong) {
      throw new SnapshotFailed(`key ${JSON.stringify(wrong)} does not name exactly the primary key columns of ${table.qualified} (${table.keyColumns.join(', ')})`);
    }
  }
}

