import type pg from 'pg';
import amqp from 'amqplib';
import type { ChannelModel, Channel } from 'amqplib';
import type { Logger } from '../../../platform/logger.ts';
import { ChangeConsumer } from '../../../cdc/consumer/change-consumer.ts';
import type { ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import type { CatalogProjector } from './catalog-projector.ts';
import { FOLLOWED_TABLES, RAW_TABLES } from './raw-catalog.ts';
import { replayStream } from './stream-replay.ts';

export interface CatalogSyncOptions {
  amqpUrl: string;
  pool: pg.Pool;
  projector: CatalogProjector;
  logger: Logger;
  /** The PIM's durable queue. Default `pim.cdc`. */
  queue?: string;
  /** The bridge's exchange, stream and server name (defaults `legacy.cdc`, `legacy.cdc.log`, `legacy`). */
  exchange?: string;
  stream?: string;
  serverName?: string;
  /** Stream quiet time that ends a replay (ms). */
  replayIdleMs?: number;
}

const FILLED = 'stream_filled_offset';

/**
 * Keeps the documents in step with the legacy:
 *  1. On the very first start (nothing recorded in pim_sync_state), replay the bridge's stream
 *     from its first offset — the PIM builds its store from the stream alone.
 *  2. Start the consumer kit on the durable queue `pim.cdc` (bound to the catalog tables).
 *  3. Replay the stream once more from where step 1 stopped, to cover what was published
 *     between the end of step 1 and the binding of the queue; then record the fill as done.
 * Overlaps (a change both in the stream and in the queue) are skipped by the position guard.
 */
export class CatalogSync {
  private consumer: ChangeConsumer | undefined;
  private depthConnection: ChannelModel | undefined;
  private depthChannel: Channel | undefined;
  private filled = false;
  private stopping = false;
  /** Aborted by stop(): a replay in progress ends after the batch in hand. */
  private readonly replayAbort = new AbortController();
  private readonly log: Logger;
  readonly queue: string;

  private constructor(private readonly options: CatalogSyncOptions) {
    this.log = options.logger.child({ component: 'pim-sync' });
    this.queue = options.queue ?? 'pim.cdc';
  }

  /** Resolves once the first fill is done and the queue is followed (rejects if that failed). */
  started!: Promise<void>;

  /** Starts following in the background; `started` says when the first fill is done. */
  static begin(options: CatalogSyncOptions): CatalogSync {
    const sync = new CatalogSync(options);
    sync.started = sync.run();
    sync.started.catch(() => undefined);
    return sync;
  }

  /** True once the initial fill from the stream is done (readiness also needs an empty queue). */
  get initialFillDone(): boolean {
    return this.filled;
  }

  get consumerStats(): { handled: number; retried: number; deadLettered: number } | null {
    return this.consumer?.stats ?? null;
  }

  private accept = (change: ReceivedChange): boolean => change.table in RAW_TABLES;

  private async run(): Promise<void> {
    const { pool, projector } = this.options;
    await projector.flushDirty();
    const recorded = await pool.query<{ value: string }>('SELECT value FROM pim_sync_state WHERE key = $1', [FILLED]);
    const stream = this.options.stream ?? 'legacy.cdc.log';
    const apply = async (changes: ReceivedChange[]) => {
      await projector.apply(changes);
    };
    let nextOffset: number | 'first' | null = null;
    let streamMissing = false;
    if (!recorded.rows[0]) {
      const first = await replayStream({
        amqpUrl: this.options.amqpUrl,
        stream,
        from: 'first',
        apply,
        accept: this.accept,
        logger: this.options.logger,
        idleMs: this.options.replayIdleMs,
        signal: this.replayAbort.signal,
      });
      // Stopped mid-fill: nothing is recorded, so the next start replays from the first offset.
      if (first.aborted || this.stopping) return;
      nextOffset = first.found ? (first.nextOffset ?? 'first') : null;
      streamMissing = !first.found;
    }
    this.consumer = await ChangeConsumer.start({
      amqpUrl: this.options.amqpUrl,
      queue: this.queue,
      tables: [...FOLLOWED_TABLES],
      exchange: this.options.exchange,
      serverName: this.options.serverName,
      logger: this.options.logger,
      handler: async (change) => {
        if (!this.accept(change)) return;
        await projector.apply([change]);
      },
    });
    this.depthConnection = await amqp.connect(this.options.amqpUrl, { clientProperties: { connection_name: `pim-queue-depth:${this.queue}` } });
    this.depthConnection.on('error', () => undefined);
    this.depthChannel = await this.depthConnection.createChannel();
    this.depthChannel.on('error', () => undefined);
    if (streamMissing) {
      // The bridge has not declared its stream yet (the launcher starts everyone at once). It may
      // publish before our queue was bound, so wait for the stream and read it from the start;
      // until then the PIM is not ready.
      this.log.info({ stream }, 'waiting for the CDC stream to appear');
      while (!this.stopping && !(await streamExists(this.options.amqpUrl, stream))) await new Promise((resolve) => setTimeout(resolve, 500));
      if (this.stopping) return;
      nextOffset = 'first';
    }
    if (nextOffset !== null) {
      const second = await replayStream({
        amqpUrl: this.options.amqpUrl,
        stream,
        from: nextOffset,
        apply,
        accept: this.accept,
        logger: this.options.logger,
        idleMs: this.options.replayIdleMs,
        signal: this.replayAbort.signal,
      });
      if (second.aborted || this.stopping) return;
      const offset = second.nextOffset ?? (typeof nextOffset === 'number' ? nextOffset : 0);
      await pool.query('INSERT INTO pim_sync_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [
        FILLED,
        String(offset),
      ]);
    }
    this.filled = true;
    this.log.info({ queue: this.queue }, 'first fill done; following the CDC queue');
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
    // Without this, stopping during the first fill waited for the whole stream to be replayed.
    this.replayAbort.abort();
    await this.started?.catch(() => undefined);
    await this.consumer?.stop();
    await this.depthChannel?.close().catch(() => undefined);
    await this.depthConnection?.close().catch(() => undefined);
  }
}

async function streamExists(amqpUrl: string, stream: string): Promise<boolean> {
  const connection = await amqp.connect(amqpUrl).catch(() => undefined);
  if (!connection) return false;
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await channel.checkQueue(stream).then(
      () => true,
      () => false,
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}
