import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import type pg from 'pg';
import type { Logger } from '../../../platform/logger.ts';
import { AppliedPositions } from '../../../cdc/consumer/applied-positions.ts';
import { ChangeConsumer } from '../../../cdc/consumer/change-consumer.ts';
import type { ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import { StoreSeeding, type SeedStatus } from '../../../cdc/consumer/store-seeding.ts';
import type { Lsn } from '../../../cdc/offsets/lsn.ts';
import type { PricingMetrics } from '../metrics.ts';
import { PendingProjection, writeChange, writeChanges, type Invalidation } from './change-applier.ts';
import { FOLLOWED_TABLES } from './followed-tables.ts';

export interface PriceSyncOptions {
  pool: pg.Pool;
  amqpUrl: string;
  /** The service's durable queue (`pricing.cdc`). */
  queue: string;
  /** The bridge's exchange and server name. */
  exchange: string;
  serverName: string;
  logger: Logger;
  metrics: PricingMetrics;
  /** Called after a change committed, with the cached answers it made stale. */
  onInvalidate: (invalidation: Invalidation) => void;
  /** The last applied LSN read from the store at start (null for an empty store). */
  initialLsn: Lsn | null;
  /**
   * Asks the bridge for a snapshot of `tables` into this service's queue (an empty store seeds
   * itself so); pricing-service.ts passes cdc/snapshot's requestSnapshot.
   */
  requestSnapshot: (snapshotId: string, tables: readonly string[]) => Promise<void>;
  maxAttempts?: number;
  retryBackoff?: { initialMs: number; maxMs: number };
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
  /** Seeding an empty store from a snapshot: `seeding` (with progress), `seeded`, or `seed-failed`. */
  seed: SeedStatus;
  queue: QueueDepth | null;
  caughtUp: boolean;
  lagSeconds: number | null;
}

/** A change handled no later than this after its commit counts as "following live". */
const LIVE_LAG_MS = 1000;
/** …and a consumer idle for this long has nothing in hand. */
const IDLE_MS = 250;

/**
 * Keeps the pricing store following the legacy through the `pricing.cdc` queue (consumer kit).
 * An empty store seeds itself: it asks the bridge for a snapshot of the followed tables, whose
 * rows arrive in the same queue in batches, interleaved with live changes and ordered against
 * them by position (StoreSeeding); the service is not ready until the snapshot's `completed`.
 * Every change is applied in one transaction with its applied position (AppliedPositions), so
 * duplicates, redeliveries and reordering are harmless and a row never goes back to an older
 * version; a snapshot batch is one transaction with one bulk claim and one write per table.
 *
 * Changes are applied one message at a time: the read model (store_price) is derived from
 * several source rows, and two concurrent transactions could each miss the other's write.
 */
export class PriceSync {
  private consumer: ChangeConsumer | undefined;
  private monitor: ChannelModel | undefined;
  private monitorChannel: Channel | undefined;
  private monitorRetryAt = 0;
  private readonly positions = new AppliedPositions();
  private readonly seeding: StoreSeeding;
  private applied: { lsn: Lsn; commitTimeMs: number } | null = null;
  private lastHandledAt = 0;
  private lastHandledLagMs = Number.POSITIVE_INFINITY;
  private depthCache: { at: number; depth: QueueDepth } | undefined;
  private readonly log: Logger;
  private stopped = false;

  private constructor(private readonly options: PriceSyncOptions) {
    this.log = options.logger.child({ component: 'pricing-sync' });
    if (options.initialLsn) this.applied = { lsn: options.initialLsn, commitTimeMs: 0 };
    this.seeding = new StoreSeeding({ pool: options.pool, request: options.requestSnapshot, tables: FOLLOWED_TABLES, logger: options.logger });
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
    await this.seeding.prepare(options.initialLsn === null);
    this.consumer = await ChangeConsumer.start({
      amqpUrl: options.amqpUrl,
      queue: options.queue,
      tables: [...FOLLOWED_TABLES],
      exchange: options.exchange,
      serverName: options.serverName,
      logger: options.logger,
      maxAttempts: options.maxAttempts,
      retryBackoff: options.retryBackoff,
      // Batches only: snapshot batches, and bursts of live changes coalesced by the kit, each one
      // transaction (one commit per burst instead of per change, what keeps up with a busy legacy).
      batchHandler: (changes) => this.applyBatch(changes),
      onControl: this.seeding.onControl,
    });
    // Only now: the snapshot's rows go straight to our queue, which must exist and be bound first.
    await this.seeding.start();
  }

  /** The connection for queue depths; re-opened by queueDepth() when it is lost. */
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

  /**
   * A batch in one transaction — a snapshot batch, or a burst of live changes the consumer kit
   * coalesced (a single change is a batch of one): one bulk claim (AppliedPositions.claimMany), one write
   * per table for the fresh rows (writeChanges), one rebuild of the touched read-model rows. Row
   * at a time, seeding 100,000 products would be a million transactions. Should the batch fail,
   * it is done again with a savepoint per change so that the good rows commit; the failure is then
   * thrown, and the consumer kit retries the message (its committed rows are duplicates by then)
   * and finally dead-letters it whole.
   */
  private async applyBatch(changes: readonly ReceivedChange[]): Promise<void> {
    if (this.stopped) throw new Error('the pricing sync is stopping');
    let failure: unknown;
    let invalidation: Invalidation;
    let fresh: Array<boolean | null>;
    try {
      ({ invalidation, fresh } = await this.tryBatch(changes, false));
    } catch (error) {
      this.log.warn({ err: error, changes: changes.length }, 'a batch failed; applying its changes one by one to find the failing ones');
      ({ invalidation, fresh, failure } = await this.tryBatch(changes, true));
    }
    this.options.onInvalidate(invalidation);
    // A change that failed is not handled: it goes back through the retry queue.
    changes.forEach((change, i) => {
      if (fresh[i] !== null) this.handled(change, fresh[i] === true);
    });
    if (failure !== undefined) throw failure;
  }

  /** `fresh[i]`: whether change i was newer and written; null when it failed (isolating failures only). */
  private async tryBatch(changes: readonly ReceivedChange[], isolateFailures: boolean): Promise<{ invalidation: Invalidation; fresh: Array<boolean | null>; failure?: unknown }> {
    const client = await this.options.pool.connect();
    const pending = new PendingProjection();
    let failure: unknown;
    try {
      await client.query('BEGIN');
      let fresh: Array<boolean | null>;
      if (!isolateFailures) {
        const claimed = await this.positions.claimMany(client, changes);
        fresh = claimed;
        await writeChanges(client, changes.filter((_, i) => claimed[i]), pending);
      } else {
        fresh = [];
        for (const change of changes) {
          await client.query('SAVEPOINT change');
          try {
            const claimed = await this.positions.claim(client, change);
            if (claimed) await writeChange(client, change, pending);
            await client.query('RELEASE SAVEPOINT change');
            fresh.push(claimed);
          } catch (error) {
            await client.query('ROLLBACK TO SAVEPOINT change');
            fresh.push(null);
            failure ??= error;
            this.log.error({ err: error, messageId: change.messageId }, 'a change of a batch could not be applied');
          }
        }
      }
      const invalidation = await pending.finish(client);
      await client.query('COMMIT');
      return { invalidation, fresh, failure };
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
   * Caught up means: the store is seeded (an empty store's snapshot has completed), the queue
   * holds no message waiting, and the consumer is either idle (nothing handled for
   * 250 ms, so nothing prefetched is in hand) or following live (the last change it handled was
   * committed in the legacy less than a second before). Messages waiting for a retry do not
   * count: they are failures on their way to the dead-letter queue, not lag.
   */
  async progress(): Promise<SyncProgress> {
    const queue = await this.queueDepth();
    const now = Date.now();
    const following = now - this.lastHandledAt >= IDLE_MS || this.lastHandledLagMs <= LIVE_LAG_MS;
    const seed = this.seeding.status();
    const caughtUp = seed.state === 'seeded' && queue !== null && queue.ready === 0 && following;
    const commitTimeMs = this.applied?.commitTimeMs || null;
    const lagSeconds = caughtUp ? 0 : commitTimeMs === null ? null : Math.max(0, (now - commitTimeMs) / 1000);
    this.options.metrics.lagSeconds.set(lagSeconds ?? 0);
    return { appliedLsn: this.appliedLsn, appliedCommitTimeMs: commitTimeMs, seed, queue, caughtUp, lagSeconds };
  }

  /** The seed's state (what /readyz shows while an empty store fills from its snapshot). */
  get seed(): SeedStatus {
    return this.seeding.status();
  }

  /** Stops consuming after the message in hand (a batch commits or rolls back whole). */
  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.stopped = true;
    await this.monitorChannel?.close().catch(() => undefined);
    await this.monitor?.close().catch(() => undefined);
  }
}
