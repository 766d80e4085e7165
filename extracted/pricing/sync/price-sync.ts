import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import type pg from 'pg';
import type { Logger } from '../../../platform/logger.ts';
import { AppliedPositions, rowKeyOf } from '../../../cdc/consumer/applied-positions.ts';
import { ChangeConsumer } from '../../../cdc/consumer/change-consumer.ts';
import { comparePositions, type ChangePosition, type ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import type { Lsn } from '../../../cdc/offsets/lsn.ts';
import type { PricingMetrics } from '../metrics.ts';
import { PendingProjection, applyChange, writeChange, type Invalidation } from './change-applier.ts';
import { backfillFromStream } from './stream-backfill.ts';
import { FOLLOWED_TABLES } from './followed-tables.ts';

export interface PriceSyncOptions {
  pool: pg.Pool;
  amqpUrl: string;
  /** The service's durable queue (`pricing.cdc`). */
  queue: string;
  /** The bridge's exchange, server name and history stream. */
  exchange: string;
  serverName: string;
  streamQueue: string;
  logger: Logger;
  metrics: PricingMetrics;
  /** Called after a change committed, with the cached answers it made stale. */
  onInvalidate: (invalidation: Invalidation) => void;
  /** The last applied LSN read from the store at start (null for an empty store). */
  initialLsn: Lsn | null;
  maxAttempts?: number;
  retryBackoff?: { initialMs: number; maxMs: number };
  backfillIdleMs?: number;
}

export interface QueueDepth {
  ready: number;
  /** Consumers on the queue: 0 means this service's consumer is gone (its connection was lost). */
  consumers: number;
  retry: number;
  dead: number;
}

export interface SyncProgress {
  appliedLsn: Lsn | null;
  /** Commit time (legacy) of the newest applied change. */
  appliedCommitTimeMs: number | null;
  backfilled: boolean;
  queue: QueueDepth | null;
  caughtUp: boolean;
  lagSeconds: number | null;
}

interface BatchOutcome {
  invalidation: Invalidation;
  handled: Array<{ change: ReceivedChange; fresh: boolean }>;
  failed: number;
}

/** A change handled no later than this after its commit counts as "following live". */
const LIVE_LAG_MS = 1000;
/** …and a consumer idle for this long has nothing in hand. */
const IDLE_MS = 250;

/**
 * Keeps the pricing store following the legacy: fills a new store from the bridge's history
 * stream, then (and meanwhile) follows the `pricing.cdc` queue through the consumer kit. Every
 * change is applied in one transaction with its applied position (AppliedPositions), so duplicates,
 * redeliveries and reordering are harmless and a row never goes back to an older version.
 *
 * Changes are applied one at a time across both sources: the read model (store_price) is derived
 * from several source rows, and two concurrent transactions could each miss the other's write.
 */
export class PriceSync {
  private consumer: ChangeConsumer | undefined;
  private monitor: ChannelModel | undefined;
  private monitorChannel: Channel | undefined;
  private monitorRetryAt = 0;
  private readonly positions = new AppliedPositions();
  private serial: Promise<unknown> = Promise.resolve();
  private applied: { lsn: Lsn; commitTimeMs: number } | null = null;
  private lastHandledAt = 0;
  private lastHandledLagMs = Number.POSITIVE_INFINITY;
  private backfillDone = false;
  /** The newest position the stream backfill has applied (or skipped as applied), and what failed there. */
  private backfillHighWater: ChangePosition | null = null;
  private readonly backfillFailures = new Set<string>();
  private backfilling: Promise<void> | undefined;
  /** Aborted by stop(): the fill ends between two batches instead of reading the stream to its end. */
  private readonly backfillAbort = new AbortController();
  private depthCache: { at: number; depth: QueueDepth } | undefined;
  private readonly log: Logger;
  private stopped = false;

  private constructor(private readonly options: PriceSyncOptions) {
    this.log = options.logger.child({ component: 'pricing-sync' });
    if (options.initialLsn) this.applied = { lsn: options.initialLsn, commitTimeMs: 0 };
  }

  static async start(options: PriceSyncOptions): Promise<PriceSync> {
    const sync = new PriceSync(options);
    try {
      await sync.connect();
    } catch (error) {
      await sync.stop().catch(() => undefined);
      throw error;
    }
    return sync;
  }

  private async connect(): Promise<void> {
    const { options } = this;
    this.monitor = await this.connectMonitor();
    const queueExisted = await this.queueExists(options.queue);
    this.consumer = await ChangeConsumer.start({
      amqpUrl: options.amqpUrl,
      queue: options.queue,
      tables: [...FOLLOWED_TABLES],
      exchange: options.exchange,
      serverName: options.serverName,
      logger: options.logger,
      maxAttempts: options.maxAttempts,
      retryBackoff: options.retryBackoff,
      handler: (change) => this.apply(change),
    });
    // A new queue missed what the bridge published before it existed; so does an emptied store.
    // …and so does one whose last fill was interrupted (stopped mid-fill: see 002-stream-backfill.sql).
    const interrupted = (await options.pool.query('SELECT 1 FROM stream_backfill')).rowCount! > 0;
    if (queueExisted && options.initialLsn && !interrupted) {
      this.backfillDone = true;
      return;
    }
    this.log.info({ queueExisted, storeEmpty: !options.initialLsn, interrupted }, 'filling the store from the CDC history stream');
    // Recorded before the first batch, removed after the last: a stop in between leaves it behind.
    await options.pool.query('INSERT INTO stream_backfill DEFAULT VALUES ON CONFLICT DO NOTHING');
    this.backfilling = this.backfill(this.consumer.bindings);
  }

  /**
   * Reads the history stream into the store; when that fails (the broker or the store went away)
   * it is tried again from the first offset — harmless, the applied positions skip what is there —
   * and /readyz stays false meanwhile: without the history the store would silently miss rows.
   */
  private async backfill(routingKeys: string[]): Promise<void> {
    const { options } = this;
    for (let attempt = 1; !this.stopped && !this.backfillAbort.signal.aborted; attempt += 1) {
      try {
        this.monitor ??= await this.connectMonitor();
        const result = await backfillFromStream({
          connection: this.monitor,
          streamQueue: options.streamQueue,
          routingKeys,
          applyBatch: (changes) => this.applyBatch(changes),
          logger: options.logger,
          idleMs: options.backfillIdleMs,
          signal: this.backfillAbort.signal,
        });
        options.metrics.backfilled.inc({ outcome: 'applied' }, result.applied);
        options.metrics.backfilled.inc({ outcome: 'failed' }, result.failed);
        await options.pool.query('DELETE FROM stream_backfill');
        this.backfillDone = true;
        return;
      } catch (error) {
        if (this.stopped || this.backfillAbort.signal.aborted) return;
        const pause = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
        this.log.error({ err: error, attempt, retryInMs: pause }, 'filling the store from the CDC history stream failed; /readyz stays false until it succeeds');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause);
          this.backfillAbort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    }
  }

  /** The connection for queue depths and the backfill; re-opened by queueDepth() when it is lost. */
  private async connectMonitor(): Promise<ChannelModel> {
    const connection = await amqp.connect(this.options.amqpUrl, { clientProperties: { connection_name: `pricing-monitor:${this.options.queue}` } });
    connection.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP monitor connection error'));
    connection.on('close', () => {
      if (this.monitor === connection) {
        this.monitor = undefined;
        this.monitorChannel = undefined;
      }
    });
    return connection;
  }

  private async queueExists(queue: string): Promise<boolean> {
    const channel = await this.monitor!.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkQueue(queue);
      return true;
    } catch {
      return false;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Applies one change from the queue, strictly one at a time with everything else. */
  private apply(change: ReceivedChange): Promise<void> {
    return this.exclusively(() => this.applyNow(change));
  }

  /** Applies changes from the history stream, many per transaction; returns how many failed. */
  private applyBatch(changes: readonly ReceivedChange[]): Promise<number> {
    return this.exclusively(() => this.applyBatchNow(changes));
  }

  private exclusively<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async applyNow(change: ReceivedChange): Promise<void> {
    if (this.stopped) throw new Error('the pricing sync is stopping');
    // The queue was bound before the backfill started, so it repeats what the backfill applied.
    // The stream is in publish order, which is position order: anything at or below the
    // backfill's high-water mark has been through the backfill — a duplicate, unless it failed there.
    const highWater = this.backfillHighWater;
    if (highWater && comparePositions(change.position, highWater) <= 0 && !this.backfillFailures.has(change.messageId)) {
      this.handled(change, false);
      return;
    }
    // A redelivery of something already applied (after a backfill the queue repeats the whole
    // stream) is recognised with one read instead of a write transaction: a row's applied
    // position only ever grows, so "already at or past it" cannot become false.
    if (await this.alreadyApplied(change)) {
      this.handled(change, false);
      return;
    }
    let invalidation: Invalidation | undefined;
    const fresh = await this.positions.applyOnce(this.options.pool, change, async (client) => {
      invalidation = await applyChange(client, change);
    });
    // After the commit: a request that misses the cache now reads the new rows.
    if (invalidation) this.options.onInvalidate(invalidation);
    this.handled(change, fresh);
  }

  private async alreadyApplied(change: ReceivedChange): Promise<boolean> {
    if (change.event.op === 't') return false;
    const { rows } = await this.options.pool.query<{ done: boolean }>({
      name: 'pricing-already-applied',
      text: `SELECT (commit_lsn, position) >= ($3::pg_lsn, $4::integer) AS done FROM cdc_applied WHERE source_table = $1 AND row_key = $2`,
      values: [change.table, rowKeyOf(change), change.position.commitLsn.toString(), change.position.index],
    });
    return rows[0]?.done === true;
  }

  /**
   * One transaction for a batch: one commit (one WAL flush) per batch instead of per change is
   * what makes filling a store from a long history fast. Should any change fail, the batch is
   * rolled back and done again with a savepoint per change, so that the failing change is skipped
   * alone (logged, counted, left to the queue's copy) and the others commit.
   */
  private async applyBatchNow(changes: readonly ReceivedChange[]): Promise<number> {
    if (this.stopped) throw new Error('the pricing sync is stopping');
    let outcome: BatchOutcome;
    try {
      outcome = await this.tryBatch(changes, false);
    } catch {
      outcome = await this.tryBatch(changes, true);
    }
    this.options.onInvalidate(outcome.invalidation);
    for (const { change, fresh } of outcome.handled) this.handled(change, fresh);
    for (const change of changes) {
      if (!this.backfillHighWater || comparePositions(change.position, this.backfillHighWater) > 0) this.backfillHighWater = change.position;
    }
    return outcome.failed;
  }

  private async tryBatch(changes: readonly ReceivedChange[], isolateFailures: boolean): Promise<BatchOutcome> {
    const client = await this.options.pool.connect();
    const pending = new PendingProjection();
    const handled: BatchOutcome['handled'] = [];
    let failed = 0;
    try {
      await client.query('BEGIN');
      for (const change of changes) {
        if (!isolateFailures) {
          const fresh = await this.positions.claim(client, change);
          if (fresh) await writeChange(client, change, pending);
          handled.push({ change, fresh });
          continue;
        }
        await client.query('SAVEPOINT change');
        try {
          const fresh = await this.positions.claim(client, change);
          if (fresh) await writeChange(client, change, pending);
          await client.query('RELEASE SAVEPOINT change');
          handled.push({ change, fresh });
        } catch (error) {
          await client.query('ROLLBACK TO SAVEPOINT change');
          failed += 1;
          // Left for the queue's copy, which retries it and dead-letters it if it keeps failing.
          this.backfillFailures.add(change.messageId);
          this.log.error({ err: error, messageId: change.messageId }, 'a change from the history stream could not be applied; skipped');
        }
      }
      const invalidation = await pending.finish(client);
      await client.query('COMMIT');
      return { invalidation, handled, failed };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private handled(change: ReceivedChange, fresh: boolean): void {
    this.options.metrics.changes.inc({ table: change.event.source.table, outcome: fresh ? 'applied' : 'skipped' });
    const commitLsn = change.position.commitLsn;
    if (!this.applied || commitLsn.isAfter(this.applied.lsn)) {
      this.applied = { lsn: commitLsn, commitTimeMs: change.event.source.ts_ms };
      this.options.metrics.appliedLsn.set(commitLsn.toNumber());
    }
    this.lastHandledAt = Date.now();
    this.lastHandledLagMs = this.lastHandledAt - change.event.source.ts_ms;
  }

  get appliedLsn(): Lsn | null {
    return this.applied?.lsn ?? null;
  }

  get deadLetterQueue(): string {
    return `${this.options.queue}.dead`;
  }

  /** Messages waiting in the queue, its retry queue and its dead-letter queue (checked at most every 200 ms). */
  async queueDepth(): Promise<QueueDepth | null> {
    if (this.depthCache && Date.now() - this.depthCache.at < 200) return this.depthCache.depth;
    try {
      if (!this.monitor) {
        if (this.stopped || Date.now() - this.monitorRetryAt < 1000) return null;
        this.monitorRetryAt = Date.now();
        this.monitor = await this.connectMonitor();
      }
      if (!this.monitorChannel) {
        const channel = await this.monitor.createChannel();
        channel.on('error', () => undefined);
        channel.on('close', () => {
          if (this.monitorChannel === channel) this.monitorChannel = undefined;
        });
        this.monitorChannel = channel;
      }
      const channel = this.monitorChannel;
      const { queue } = this.options;
      const [main, retry, dead] = [await channel.checkQueue(queue), await channel.checkQueue(`${queue}.retry`), await channel.checkQueue(`${queue}.dead`)];
      const depth = { ready: main.messageCount, consumers: main.consumerCount, retry: retry.messageCount, dead: dead.messageCount };
      this.depthCache = { at: Date.now(), depth };
      this.options.metrics.queueMessages.set({ queue }, depth.ready);
      this.options.metrics.queueMessages.set({ queue: `${queue}.retry` }, depth.retry);
      this.options.metrics.queueMessages.set({ queue: `${queue}.dead` }, depth.dead);
      return depth;
    } catch (error) {
      this.log.warn({ err: error }, 'cannot read the queue depth');
      return null;
    }
  }

  /**
   * Caught up means: the history stream (when a new store needed it) has been read to its end,
   * the queue holds no message waiting, and the consumer is either idle (nothing handled for
   * 250 ms, so nothing prefetched is in hand) or following live (the last change it handled was
   * committed in the legacy less than a second before). Messages waiting for a retry do not
   * count: they are failures on their way to the dead-letter queue, not lag.
   */
  async progress(): Promise<SyncProgress> {
    const queue = await this.queueDepth();
    const now = Date.now();
    const following = now - this.lastHandledAt >= IDLE_MS || this.lastHandledLagMs <= LIVE_LAG_MS;
    const caughtUp = this.backfillDone && queue !== null && queue.ready === 0 && following;
    const commitTimeMs = this.applied?.commitTimeMs || null;
    const lagSeconds = caughtUp ? 0 : commitTimeMs === null ? null : Math.max(0, (now - commitTimeMs) / 1000);
    this.options.metrics.lagSeconds.set(lagSeconds ?? 0);
    return { appliedLsn: this.appliedLsn, appliedCommitTimeMs: commitTimeMs, backfilled: this.backfillDone, queue, caughtUp, lagSeconds };
  }

  /** Resolves when the history stream has been read (tests, and main's log line). */
  async backfillFinished(): Promise<void> {
    await this.backfilling;
  }

  async stop(): Promise<void> {
    // The fill first: it ends after the batch in hand, so the queue consumer's changes waiting
    // behind it (applied one at a time with the fill's batches) are not held up by the whole stream.
    this.backfillAbort.abort(new Error('the pricing sync is stopping'));
    await this.backfilling;
    await this.consumer?.stop();
    this.stopped = true;
    await this.serial;
    await this.monitorChannel?.close().catch(() => undefined);
    await this.monitor?.close().catch(() => undefined);
  }
}
