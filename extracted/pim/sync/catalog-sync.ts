import type pg from 'pg';
import amqp from 'amqplib';
import type { ChannelModel, Channel } from 'amqplib';
import type { Logger } from '../../../platform/logger.ts';
import { ChangeConsumer } from '../../../cdc/consumer/change-consumer.ts';
import type { ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import { StoreSeeding, type SeedStatus } from '../../../cdc/consumer/store-seeding.ts';
import type { CatalogProjector } from './catalog-projector.ts';
import { FOLLOWED_TABLES, RAW_TABLES } from './raw-catalog.ts';

/** Messages still queued at which catching up after seeding ends (about two seconds of live changes). */
const CATCH_UP_QUEUE_DEPTH = 400;
const CATCH_UP_POLL_MS = 200;
/** A catch-up round that rebuilt at most this many products is the last one before the indexes are built. */
const CATCH_UP_LAST_ROUND = 2000;
const PREFETCH = 500;

export interface CatalogSyncOptions {
  amqpUrl: string;
  pool: pg.Pool;
  projector: CatalogProjector;
  logger: Logger;
  /** Asks the bridge for a snapshot of `tables` into the PIM's queue (pim-service.ts passes cdc/snapshot's requestSnapshot). */
  requestSnapshot: (snapshotId: string, tables: readonly string[]) => Promise<void>;
  /** The PIM's durable queue. Default `pim.cdc`. */
  queue?: string;
  /** The bridge's exchange and server name (defaults `legacy.cdc`, `legacy`). */
  exchange?: string;
  serverName?: string;
}

/**
 * Keeps the documents in step with the legacy through the durable queue `pim.cdc` (consumer kit).
 *
 * An empty store seeds itself (issue 8): the PIM binds its queue, then asks the bridge for an
 * incremental snapshot of the catalog tables for itself (StoreSeeding keeps the snapshot id in
 * `cdc_seed`, so a restart follows the same one). The snapshot's rows arrive in the queue in batch
 * messages among the live changes, ordered against them by the per-row position guard. While
 * seeding, every change only lands in the raw rows and marks its products dirty; the documents
 * are built once, in bulk (`flushSeeded`), when the snapshot's `completed` control message comes —
 * after its last row — and only then is the seed recorded as done; the PIM is ready once it has
 * caught up with the changes queued meanwhile (`catchUp`) and the document indexes are built.
 */
export class CatalogSync {
  private consumer: ChangeConsumer | undefined;
  private depthConnection: ChannelModel | undefined;
  private depthChannel: Channel | undefined;
  private stopping = false;
  private catchingUp: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly seeding: StoreSeeding;
  readonly queue: string;

  private constructor(private readonly options: CatalogSyncOptions) {
    this.log = options.logger.child({ component: 'pim-sync' });
    this.queue = options.queue ?? 'pim.cdc';
    this.seeding = new StoreSeeding({
      pool: options.pool,
      request: options.requestSnapshot,
      tables: FOLLOWED_TABLES,
      logger: options.logger,
      beforeComplete: async () => {
        const started = performance.now();
        // The indexes stay dropped while the changes queued meanwhile are caught up (catchUp).
        const built = await options.projector.flushSeeded({ keepIndexesDeferred: true });
        this.log.info({ documents: built, ms: Math.round(performance.now() - started) }, 'built the documents of the seeded catalog');
        this.catchingUp = this.catchUp();
      },
    });
  }

  /** Resolves once the queue is followed (and, for an empty store, the snapshot requested); rejects if that failed. */
  started!: Promise<void>;

  /** Starts following in the background; `started` says when the queue is followed. */
  static begin(options: CatalogSyncOptions): CatalogSync {
    const sync = new CatalogSync(options);
    sync.started = sync.run();
    sync.started.catch(() => undefined);
    return sync;
  }

  /** True once the store is seeded (readiness also needs an empty queue). */
  get initialFillDone(): boolean {
    return !this.seeding.seeding && !this.options.projector.catchingUp;
  }

  /** Whether the seeding marker has been read (the service listens before it is): until then /readyz says `starting`. */
  get seedKnown(): boolean {
    return this.seeding.prepared;
  }

  /** Seeding state and progress, for /readyz. */
  get seed(): SeedStatus {
    return this.seeding.status();
  }

  get consumerStats(): { handled: number; retried: number; deadLettered: number } | null {
    return this.consumer?.stats ?? null;
  }

  private accept = (change: ReceivedChange): boolean => change.table in RAW_TABLES;

  /**
   * After the seeded documents are built, the live changes queued meanwhile (tens of thousands at
   * 100,000 products: 200 changes/s during the build) would each rebuild one document with all
   * its indexes, ~1–3 ms apiece. Instead they land in the raw rows only (the projector is
   * catching up) until the queue is nearly drained; then their products are rebuilt once, still
   * without indexes — again, for the changes queued during that round, until a round is small —
   * and the indexes are built (CatalogProjector.finishSeeding). The PIM is not ready meanwhile. A restart in between builds the indexes at start and rebuilds what is dirty.
   */
  private async catchUp(): Promise<void> {
    const started = performance.now();
    let rebuilt = 0;
    while (!this.stopping) {
      try {
        const depth = await this.queueDepth();
        if (depth !== null && depth <= CATCH_UP_QUEUE_DEPTH) {
          // Rounds without indexes while they leave much to do: the changes that queue up during a
          // round of tens of thousands of products would otherwise be written with every index.
          const round = await this.options.projector.rebuildCaughtUp();
          rebuilt += round;
          if (round > CATCH_UP_LAST_ROUND) {
            this.log.info({ rebuilt: round }, 'catching up after seeding: rebuilt a round of documents without indexes');
            continue;
          }
          const finishing = performance.now();
          rebuilt += await this.options.projector.finishSeeding();
          this.log.info(
            { rebuilt, ms: Math.round(performance.now() - started), finishMs: Math.round(performance.now() - finishing) },
            'caught up after seeding: documents rebuilt and indexes built',
          );
          return;
        }
      } catch (error) {
        this.log.warn({ err: error }, 'finishing the catch-up after seeding failed; trying again');
      }
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS));
    }
  }

  private async apply(changes: readonly ReceivedChange[]): Promise<void> {
    const accepted = changes.filter(this.accept);
    if (accepted.length === 0) return;
    if (this.seeding.seeding) await this.options.projector.applyDeferred(accepted);
    else await this.options.projector.apply(accepted);
  }

  private async run(): Promise<void> {
    const { projector } = this.options;
    // Documents left dirty by a crash are rebuilt first (not while seeding: they are built at its end).
    await projector.restoreDeferredIndexes();
    const storeEmpty = (await projector.lastAppliedLsn()) === null;
    if ((await this.seeding.prepare(storeEmpty)) === 'seeded') await projector.flushDirty();
    // An empty store about to receive its snapshot: its raw rows are written without their
    // by-product indexes, built again when the documents are (CatalogProjector.flushSeeded).
    else await projector.deferRawIndexes();
    if (this.stopping) return;
    this.consumer = await ChangeConsumer.start({
      amqpUrl: this.options.amqpUrl,
      queue: this.queue,
      tables: [...FOLLOWED_TABLES],
      exchange: this.options.exchange,
      serverName: this.options.serverName,
      logger: this.options.logger,
      // Batches only: snapshot batches, and bursts of live changes coalesced by the kit, one
      // transaction and one rebuild each (one at a time, the PIM could not follow 200 changes/s).
      batchHandler: (changes) => this.apply(changes),
      // Larger coalesced calls while a backlog waits (snapshot batches stay capped by maxCoalesceRows).
      prefetch: PREFETCH,
      maxCoalesce: PREFETCH,
      onControl: this.seeding.onControl,
    });
    this.depthConnection = await amqp.connect(this.options.amqpUrl, { clientProperties: { connection_name: `pim-queue-depth:${this.queue}` } });
    this.depthConnection.on('error', () => undefined);
    this.depthChannel = await this.depthConnection.createChannel();
    this.depthChannel.on('error', () => undefined);
    // Only now: the snapshot's rows go straight to our queue, which must exist and be bound first.
    await this.seeding.start();
    this.log.info({ queue: this.queue, seeding: this.seeding.seeding }, 'following the CDC queue');
  }

  /** Messages waiting in the queue (ready, not yet delivered), or null when unknown. */
  async queueDepth(): Promise<number | null> {
    try {
      const info = await this.depthChannel?.checkQueue(this.queue);
      return info ? info.messageCount : null;
    } catch {
      return null;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.started?.catch(() => undefined);
    await this.consumer?.stop();
    await this.catchingUp;
    await this.depthChannel?.close().catch(() => undefined);
    await this.depthConnection?.close().catch(() => undefined);
  }
}
