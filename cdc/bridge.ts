import pg from 'pg';
import type { Logger } from '../platform/logger.ts';
import { StranglerError, messageOf } from '../platform/errors.ts';
import type { BridgeConfig } from './bridge-config.ts';
import { prepareCapture } from './capture-setup.ts';
import { CdcErrors, classifyBrokerError, classifyDatabaseError, isPermanent } from './errors.ts';
import { CdcMetrics } from './metrics.ts';
import { FlushCoordinator } from './offsets/flush-coordinator.ts';
import { Lsn } from './offsets/lsn.ts';
import { Publisher } from './publish/publisher.ts';
import { Heartbeat, type SlotPosition } from './source/heartbeat.ts';
import { StreamWatermarks } from './source/stream-watermark.ts';
import { StandbyLock } from './source/standby-lock.ts';
import { StreamReader, type PgoutputMessage } from './source/stream-reader.ts';
import { TransactionContext, type TransactionOutput } from './source/transaction-context.ts';
import { IncrementalSnapshots } from './snapshot/incremental-snapshot.ts';
import type { SnapshotProgress } from './snapshot/snapshot-protocol.ts';

export type BridgeState = 'starting' | 'standby' | 'active' | 'reconnecting' | 'stopping' | 'stopped' | 'failed';

export interface BridgeDeps {
  config: BridgeConfig;
  logger: Logger;
  metrics?: CdcMetrics;
  /** Called when a transaction's events are all confirmed (benchmarks measure commit → confirm with it). */
  onTransactionConfirmed?: (info: { commitTimeMs: number; lsn: Lsn; events: number }) => void;
}

export interface BridgeStatus {
  state: BridgeState;
  server: string;
  slot: string;
  publication: string;
  exchange: string;
  streamQueue: string;
  receivedLsn: string | null;
  flushedLsn: string | null;
  eventsConfirmed: number;
  eventsPerSecond: number;
  inFlight: number;
  slotLagBytes: number | null;
  slotLagSeconds: number;
  retainedWalBytes: number | null;
  lastError: { code: string; message: string } | null;
  sessions: number;
  /** Incremental snapshots this process ran or runs (newest last), with progress. */
  snapshots: SnapshotProgress[];
}

type RelationMessage = Extract<PgoutputMessage, { tag: 'relation' }>;

/**
 * The coordinator: one streaming session at a time — advisory lock (or wait as standby), slot
 * and publication, broker connection, replication stream, heartbeat — and a fresh session with
 * backoff whenever PostgreSQL or RabbitMQ goes away. A session never outlives a lost connection
 * half-working: broker loss pauses streaming by ending the session, and the next one resumes
 * from the slot, re-publishing the unconfirmed tail with the same message ids.
 */
export class CdcBridge {
  private state: BridgeState = 'starting';
  private readonly log: Logger;
  readonly metrics: CdcMetrics;
  private stopping = false;
  private readonly stopController = new AbortController();
  private stopRequested: (() => void) | undefined;
  private readonly stopSignal: Promise<void>;
  private lastError: StranglerError | Error | null = null;
  private sessions = 0;
  private eventsConfirmed = 0;
  private rateSamples: number[] = [];
  private rateTimer: NodeJS.Timeout | undefined;
  private slotPosition: SlotPosition | undefined;
  private current: { reader?: StreamReader; coordinator?: FlushCoordinator; watermarks?: StreamWatermarks } = {};
  private readonly database: string;
  private activeWaiters: Array<() => void> = [];
  private finished: Promise<void> | undefined;
  private readonly snapshotProgress = new Map<string, SnapshotProgress>();

  constructor(private readonly deps: BridgeDeps) {
    this.log = deps.logger.child({ component: 'cdc-bridge', slot: deps.config.slot });
    this.metrics = deps.metrics ?? new CdcMetrics();
    this.database = decodeURIComponent(new URL(deps.config.databaseUrl).pathname.replace(/^\//, '')) || 'postgres';
    this.stopSignal = new Promise((resolve) => {
      this.stopRequested = resolve;
    });
  }

  /** Runs until `stop()` (resolves) or a permanent error (rejects with a StranglerError). */
  start(): Promise<void> {
    this.finished ??= this.loop();
    return this.finished;
  }

  /** Resolves once this bridge streams (not while it waits as a standby). */
  waitUntilActive(): Promise<void> {
    if (this.state === 'active') return Promise.resolve();
    return new Promise((resolve) => this.activeWaiters.push(resolve));
  }

  /** SIGTERM: stop reading, wait for the outstanding confirms, flush the LSN, close. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.setState('stopping');
      this.stopController.abort();
      this.stopRequested?.();
    }
    await this.finished?.catch(() => undefined);
  }

  /**
   * The commit LSN of the last captured transaction committed before this call (see
   * StreamWatermarks): what a CDC-fed service must have applied to have seen every change the
   * legacy held a moment ago. Null while not streaming, before anything was captured, or when the
   * stream did not answer within `timeoutMs`.
   */
  async watermark(timeoutMs = 1000): Promise<string | null> {
    const watermarks = this.current.watermarks;
    if (!watermarks || this.state !== 'active') return null;
    return (await watermarks.take(timeoutMs))?.toString() ?? null;
  }

  status(): BridgeStatus {
    const coordinator = this.current.coordinator;
    const oldest = coordinator?.oldestPendingCommitMs;
    return {
      state: this.state,
      server: this.deps.config.serverName,
      slot: this.deps.config.slot,
      publication: this.deps.config.publication,
      exchange: this.deps.config.exchange,
      streamQueue: this.deps.config.streamQueue,
      receivedLsn: this.current.reader?.receivedLsn.toString() ?? null,
      flushedLsn: coordinator?.reportedLsn.toString() ?? null,
      eventsConfirmed: this.eventsConfirmed,
      eventsPerSecond: this.rate(),
      inFlight: coordinator?.outstanding ?? 0,
      slotLagBytes: this.slotPosition?.lagBytes ?? null,
      slotLagSeconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
      retainedWalBytes: this.slotPosition?.retainedWalBytes ?? null,
      lastError: this.lastError
        ? { code: (this.lastError as StranglerError).code ?? 'CDC_UNEXPECTED', message: this.lastError.message }
        : null,
      sessions: this.sessions,
      snapshots: [...this.snapshotProgress.values()],
    };
  }

  private recordSnapshot(progress: SnapshotProgress): void {
    this.snapshotProgress.delete(progress.snapshotId);
    this.snapshotProgress.set(progress.snapshotId, progress);
    if (this.snapshotProgress.size > 20) this.snapshotProgress.delete(this.snapshotProgress.keys().next().value!);
    this.metrics.recordSnapshot(progress);
  }

  private rate(): number {
    const samples = this.rateSamples;
    if (samples.length < 2) return 0;
    return (samples[samples.length - 1]! - samples[0]!) / (samples.length - 1);
  }

  private setState(state: BridgeState): void {
    if (this.state === state) return;
    this.state = state;
    this.metrics.active.set(state === 'active' ? 1 : 0);
    if (state === 'active') {
      const waiters = this.activeWaiters;
      this.activeWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async loop(): Promise<void> {
    const { config } = this.deps;
    this.rateTimer = setInterval(() => {
      this.rateSamples.push(this.eventsConfirmed);
      if (this.rateSamples.length > 11) this.rateSamples.shift();
      const oldest = this.current.coordinator?.oldestPendingCommitMs;
      this.metrics.slotLagSeconds.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    }, 1000);
    this.rateTimer.unref();
    let delay = config.backoffInitialMs;
    try {
      while (!this.stopping) {
        let reachedActive = false;
        try {
          this.sessions += 1;
          reachedActive = await this.runSession();
          if (this.stopping) break;
        } catch (error) {
          if (this.stopping) break;
          const permanent = this.permanentOf(error);
          if (permanent) {
            this.lastError = permanent;
            this.setState('failed');
            this.log.error({ code: permanent.code, remedy: permanent.remedy, err: permanent.cause }, permanent.message);
            throw permanent;
          }
          const inUse = (error as { code?: unknown } | null)?.code === '55006' ? CdcErrors.slotInUse(config.slot, error) : undefined;
          this.lastError = inUse ?? (error instanceof Error ? error : new Error(String(error)));
          const reason = this.lastError instanceof StranglerError ? this.lastError.code : 'unexpected';
          this.metrics.reconnects.inc({ reason });
          this.log.warn({ err: this.lastError, code: reason, retryInMs: delay }, 'streaming session ended; reconnecting');
        }
        if (this.stopping) break;
        this.setState('reconnecting');
        if (reachedActive) delay = config.backoffInitialMs;
        await this.sleep(delay * (0.8 + Math.random() * 0.4));
        delay = Math.min(config.backoffMaxMs, delay * 2);
      }
      this.setState('stopped');
    } finally {
      clearInterval(this.rateTimer);
    }
  }

  private permanentOf(error: unknown): StranglerError | undefined {
    if (isPermanent(error)) return error as StranglerError;
    return classifyDatabaseError(this.deps.config.databaseUrl, error) ?? classifyBrokerError(this.deps.config.amqpUrl, error);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stopController.signal;
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** One session; returns whether it got to stream. Throws what ended it. */
  private async runSession(): Promise<boolean> {
    const { config, logger } = this.deps;
    let fail!: (error: unknown) => void;
    const failed = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    failed.catch(() => undefined);

    const client = new pg.Client({ connectionString: config.databaseUrl, application_name: `strangler-cdc-control:${config.slot}` });
    client.on('error', (error) => fail(CdcErrors.replicationLost(error)));
    let lock: StandbyLock | undefined;
    let publisher: Publisher | undefined;
    let reader: StreamReader | undefined;
    let heartbeat: Heartbeat | undefined;
    let snapshots: IncrementalSnapshots | undefined;
    let flushTimer: NodeJS.Timeout | undefined;
    let reachedActive = false;
    let holdReading: (() => void) | undefined;
    try {
      await client.connect();
      lock = new StandbyLock(client, config.lockName);
      const acquired = await lock.acquire(config.standbyPollMs, this.stopController.signal, () => {
        this.setState('standby');
        this.log.info({ lock: config.lockName }, 'another bridge is active on this slot; waiting as hot standby');
      });
      if (!acquired) return false;
      this.setState('starting');

      await prepareCapture({
        databaseUrl: config.databaseUrl,
        logger,
        tables: [...config.tables],
        publication: config.publication,
        slot: config.slot,
        replicaIdentityFull: config.replicaIdentityFull,
      });

      publisher = await Publisher.connect({
        amqpUrl: config.amqpUrl,
        topology: config,
        logger,
        connectionName: config.connectionName,
        onFailure: (error) => fail(error),
      });

      const { rows } = await client.query<{ lsn: string | null }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [config.slot],
      );
      const startLsn = rows[0]?.lsn ? Lsn.parse(rows[0].lsn) : Lsn.ZERO;

      const keyColumns = new Map<number, string[]>();
      const context = new TransactionContext(
        { serverName: config.serverName, database: this.database, transactionMetadata: config.transactionMetadata, now: Date.now },
        (relation) => keyColumns.get(relation.relationOid) ?? [],
      );
      const coordinator = new FlushCoordinator({
        startLsn,
        report: (lsn) => reader?.sendStatus(lsn),
        onTransactionSafe: (commitTimeMs, lsn, events) => {
          if (events === 0) return; // a heartbeat
          this.metrics.commitToConfirm.observe(Math.max(0, Date.now() - commitTimeMs) / 1000);
          this.deps.onTransactionConfirmed?.({ commitTimeMs, lsn, events });
        },
      });
      const publisherRef = publisher;
      let reading = true;
      const holding = new Promise<void>((resolve) => {
        holdReading = resolve;
      });

      /** Publishes `outputs` from index `from` on; returns a promise only when it had to wait. */
      const publishFrom = (outputs: TransactionOutput[], from: number): Promise<void> | undefined => {
        for (let index = from; index < outputs.length; index += 1) {
          const output = outputs[index]!;
          if (output.kind === 'commit') {
            coordinator.commit(output.endLsn, output.commitTimeMs, output.events);
            if (output.events > 0) watermarks.committed(output.commitLsn);
            continue;
          }
          if (coordinator.outstanding > config.maxInFlight) {
            return coordinator.waitForOutstandingAtMost(config.maxInFlight).then(() => publishFrom(outputs, index));
          }
          const id = coordinator.register();
          const publishedAt = performance.now();
          const counter = eventCounters.of(output.event.headersTable, output.event.op);
          const writable = publisherRef.publish(output.event, () => {
            coordinator.confirm(id);
            this.eventsConfirmed += 1;
            counter.count += 1;
            this.metrics.publishLatency.observe((performance.now() - publishedAt) / 1000);
          });
          if (!writable) return publisherRef.drained().then(() => publishFrom(outputs, index + 1));
        }
        return undefined;
      };
      const eventCounters = this.metrics.eventCounters;
      const watermarks = new StreamWatermarks(async (prefix, token) => {
        await client.query('SELECT pg_logical_emit_message(false, $1, $2)', [prefix, token]);
      });

      // Incremental snapshots: their batches are counted by the flush coordinator like events, so
      // the slot moves past a high watermark only once the chunk's batches are confirmed.
      const snapshotRunner = new IncrementalSnapshots({
        databaseUrl: config.databaseUrl,
        amqpUrl: config.amqpUrl,
        serverName: config.serverName,
        database: this.database,
        logger,
        chunkSize: config.snapshotChunkSize,
        batchRows: config.snapshotBatchRows,
        // Not containing config.connectionName: that name means the publishing connection.
        connectionName: `strangler-cdc-signals:${config.slot}`,
        signalQueue: config.signalQueue,
        publication: config.publication,
        // The live events' backpressure: a full channel buffer (drain) or in-flight window makes
        // the runner wait before its next batch, the stream held at the chunk's high watermark.
        publish: (message, onConfirm) => {
          const id = coordinator.register();
          const writable = publisherRef.publishRaw('', message.routingKey, message.body, message.properties, () => {
            coordinator.confirm(id);
            onConfirm();
          });
          if (!writable) return publisherRef.drained();
          if (coordinator.outstanding > config.maxInFlight) return coordinator.waitForOutstandingAtMost(config.maxInFlight);
          return undefined;
        },
        onFailure: (error) => fail(error),
        onProgress: (progress) => this.recordSnapshot(progress),
      });
      snapshots = snapshotRunner;

      reader = new StreamReader({
        connectionString: config.databaseUrl,
        slot: config.slot,
        publication: config.publication,
        logger,
        onKeepalive: (_walEnd, shouldRespond) => {
          if (shouldRespond) coordinator.flush(true);
        },
        // Synchronous unless something must be waited for (a relation's key columns, the
        // in-flight limit, a full channel): a promise per change costs more than the change.
        onMessage: (lsn, message) => {
          if (!reading) {
            // Stopping: hold the stream paused; nothing more is published.
            return holding.then(() => new Promise<void>(() => undefined));
          }
          if (snapshotRunner.watching) snapshotRunner.observe(message);
          if (message.tag === 'message') {
            if (watermarks.onMessage(message.prefix, message.content)) return undefined;
            return snapshotRunner.onLogicalMessage(lsn, message);
          }
          if ((message.tag === 'insert' || message.tag === 'update' || message.tag === 'delete') && IncrementalSnapshots.isSignalTable(message.relation)) {
            // Snapshot requests are for the bridge, not for consumers: never published.
            if (message.tag === 'insert') snapshotRunner.onSignalRow(message.new);
            return undefined;
          }
          if (message.tag === 'relation') {
            return this.keyColumnsOf(client, message).then((columns) => {
              keyColumns.set(message.relationOid, columns);
              return publishFrom(context.accept(lsn, message), 0);
            });
          }
          return publishFrom(context.accept(lsn, message), 0);
        },
      });
      this.current = { reader, coordinator, watermarks };

      heartbeat = new Heartbeat({
        client,
        slot: config.slot,
        intervalMs: config.heartbeatIntervalMs,
        retainedWalWarningBytes: config.retainedWalWarningBytes,
        logger: this.log,
        onPosition: (position) => {
          this.slotPosition = position;
          this.metrics.slotLagBytes.set(position.lagBytes);
          this.metrics.retainedWalBytes.set(position.retainedWalBytes);
        },
      });

      flushTimer = setInterval(() => coordinator.flush(coordinator.msSinceLastReport > 10_000), config.flushIntervalMs);

      const streaming = reader.run(() => {
        reachedActive = true;
        this.lastError = null;
        this.setState('active');
        this.log.info({ startLsn: startLsn.toString(), publication: config.publication }, 'streaming');
        heartbeat?.start();
        snapshots?.start();
      });
      streaming.catch(() => undefined);

      await Promise.race([
        streaming.then(() => {
          if (!this.stopping) throw CdcErrors.replicationLost(new Error('the replication stream ended'));
        }),
        failed,
        this.stopSignal,
      ]).catch((error: unknown) => {
        if (error instanceof StranglerError) throw error;
        // 55006 object_in_use: a dying walsender (or a bridge with another lock name) still holds the slot.
        if ((error as { code?: unknown } | null)?.code === '55006') throw CdcErrors.slotInUse(config.slot, error);
        throw this.permanentOf(error) ?? CdcErrors.replicationLost(error);
      });

      // Graceful stop: stop reading, wait for the outstanding confirms, flush, then close.
      reading = false;
      await Promise.race([publisher.waitForConfirms(), failed, delay(10_000)]).catch((error: unknown) => {
        this.log.warn({ err: error }, 'not every event was confirmed before stopping; they will be re-published');
      });
      coordinator.flush(true);
      this.log.info({ flushedLsn: coordinator.reportedLsn.toString() }, 'flushed the slot position; stopping');
      // Let the status update leave the socket before the connection closes.
      await delay(100);
      return reachedActive;
    } catch (error) {
      // Whatever was confirmed before the failure is still safe to report.
      try {
        this.current.coordinator?.flush();
      } catch {
        // the replication connection may already be gone
      }
      throw error;
    } finally {
      holdReading?.();
      if (flushTimer) clearInterval(flushTimer);
      await snapshots?.stop().catch(() => undefined);
      await heartbeat?.stop().catch(() => undefined);
      await reader?.stop().catch(() => undefined);
      await publisher?.close().catch(() => undefined);
      await lock?.release().catch(() => undefined);
      this.current.watermarks?.close();
      await client.end().catch(() => undefined);
      this.current = {};
      if (!this.stopping) this.setState('reconnecting');
      this.log.debug({ message: messageOf(this.lastError ?? 'none') }, 'session closed');
    }
  }

  /** The table's primary key columns, which become the event key (REPLICA IDENTITY FULL marks every column). */
  private async keyColumnsOf(client: pg.Client, relation: RelationMessage): Promise<string[]> {
    const { rows } = await client.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
        WHERE i.indrelid = $1 AND i.indisprimary
        ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [relation.relationOid],
    );
    if (rows.length > 0) return rows.map((row) => row.attname);
    return relation.replicaIdentity === 'full' ? [] : relation.keyColumns;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
