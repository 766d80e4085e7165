import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type { Pgoutput } from 'pg-logical-replication';
import type { Logger } from '../../platform/logger.ts';
import { Lsn } from '../offsets/lsn.ts';

export type PgoutputMessage = Pgoutput.Message;

/**
 * pgoutput, but every column value stays in PostgreSQL's text format. The library parses
 * values with node-postgres' type parsers, which would turn a timestamp into a millisecond
 * Date (losing microseconds) and cannot tell us the column type afterwards; the value mapping
 * (events/value-mapping.ts) wants the exact text. A Relation message arrives before the first
 * change of a table on every connection and after every ALTER TABLE, and the parser caches that
 * very object, so replacing the column parsers here covers every tuple decoded against it.
 */
class RawTextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): PgoutputMessage {
    const message = super.parse(buffer);
    if (message.tag === 'relation') {
      for (const column of message.columns) column.parser = (raw: unknown) => raw;
    }
    return message;
  }
}

export interface StreamReaderOptions {
  connectionString: string;
  slot: string;
  publication: string;
  logger: Logger;
  /**
   * Called for each pgoutput message in WAL order. Return nothing when the message is done;
   * return a promise to hold every later message (and pause the socket) until it settles —
   * how backpressure from the broker reaches PostgreSQL instead of piling up in memory.
   */
  onMessage: (lsn: Lsn, message: PgoutputMessage) => Promise<void> | undefined;
  /** A primary keepalive; `shouldRespond` means the server wants a status update now. */
  onKeepalive: (walEnd: Lsn, shouldRespond: boolean) => void;
}

/**
 * Reads the slot with the pgoutput plugin (protocol version 1: a transaction arrives whole, after
 * its commit, so changes reach us in commit order). It never acknowledges anything by itself:
 * the library's automatic acknowledgement would confirm what was merely received; only the
 * flush coordinator reports a position, through `sendStatus`.
 */
export class StreamReader {
  private readonly service: LogicalReplicationService;
  private readonly log: Logger;
  private stopped = false;
  private lastReceived: Lsn = Lsn.ZERO;
  /** Messages parsed but not yet handled, as [lsn, message, lsn, message, …] from `head` on. */
  private queue: Array<string | PgoutputMessage> = [];
  private head = 0;
  private draining = false;
  private paused = false;
  private failed: ((error: unknown) => void) | undefined;

  constructor(private readonly options: StreamReaderOptions) {
    this.log = options.logger.child({ component: 'cdc-stream-reader' });
    this.service = new LogicalReplicationService(
      { connectionString: options.connectionString, application_name: `strangler-cdc:${options.slot}` },
      // Our own flow control (see `drain`), not the library's: its version awaits emitAsync and
      // an acknowledge promise for every message (pg-logical-replication 2.5,
      // logical-replication-service.js `_processQueue`), several promise hops per change that
      // cost more CPU than mapping the change itself.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
  }

  get receivedLsn(): Lsn {
    return this.lastReceived;
  }

  /**
   * Starts streaming from the slot's confirmed position (requesting 0/0 makes the server use the
   * slot's confirmed_flush_lsn; the library would otherwise resume from what it last *received*,
   * skipping events that were never confirmed). Resolves when the stream ends, rejects on error.
   */
  run(onStarted: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        if (error && !this.stopped) reject(error);
        else resolve();
      };
      this.service.on('start', () => onStarted());
      this.service.on('error', (error: Error) => settle(error));
      this.service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => {
        this.options.onKeepalive(Lsn.parse(lsn), shouldRespond);
      });
      this.failed = (error: unknown) => {
        // Stop taking messages after a failure: nothing later may be published out of order.
        this.queue = [];
        this.head = 0;
        this.draining = true;
        this.pauseSocket();
        settle(error);
      };
      this.service.on('data', (lsn: string, message: PgoutputMessage) => {
        this.queue.push(lsn, message);
        if (!this.draining) this.drain();
      });
      const plugin = new RawTextPgoutputPlugin({
        protoVersion: 1,
        publicationNames: [this.options.publication],
        messages: true,
      });
      this.service
        .subscribe(plugin, this.options.slot, '0/0')
        .then(() => settle(this.stopped ? undefined : new Error('the replication stream ended')))
        .catch((error: unknown) => settle(error));
    });
  }

  /**
   * Hands queued messages to `onMessage` in order, synchronously while it returns nothing. When
   * it returns a promise, the socket is paused (pg's parser may still deliver the rest of the
   * chunk it is reading: those wait in the queue, so the queue holds at most one socket read)
   * and draining continues once the promise settles; the socket resumes when the queue is empty.
   */
  private drain(): void {
    this.draining = true;
    const queue = this.queue;
    while (this.head < queue.length) {
      const lsn = queue[this.head] as string;
      const message = queue[this.head + 1] as PgoutputMessage;
      this.head += 2;
      let pending: Promise<void> | undefined;
      try {
        const position = Lsn.parse(lsn);
        if (position.isAfter(this.lastReceived)) this.lastReceived = position;
        pending = this.options.onMessage(position, message);
      } catch (error) {
        this.failed?.(error);
        return;
      }
      if (pending) {
        this.pauseSocket();
        pending.then(
          () => {
            if (queue === this.queue) this.drain();
          },
          (error: unknown) => this.failed?.(error),
        );
        return;
      }
    }
    queue.length = 0;
    this.head = 0;
    this.draining = false;
    if (this.paused && !this.stopped) {
      this.paused = false;
      this.socket()?.resume();
    }
  }

  private pauseSocket(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket()?.pause();
  }

  /** The replication connection's socket; the library pauses the same one for its own flow control. */
  private socket(): { pause(): void; resume(): void } | undefined {
    return (this.service as unknown as { _connection?: { stream?: { pause(): void; resume(): void } } | null })._connection?.stream;
  }

  /**
   * Reports `flushed` as the position up to which everything is safe (write, flush and apply).
   * The library adds one byte to what it is given ("last byte + 1"); PostgreSQL's own subscriber
   * reports a commit's end LSN exactly, and a transaction whose commit record starts right
   * there must not be skipped on restart, so we hand it the byte before.
   */
  sendStatus(flushed: Lsn): void {
    if (this.stopped || flushed.toBigInt() === 0n) return;
    void this.service.acknowledge(Lsn.fromBigInt(flushed.toBigInt() - 1n).toString()).catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not send the standby status update');
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.service.destroy().catch(() => undefined);
  }
}
