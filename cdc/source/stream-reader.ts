import pg from 'pg';
import type { Logger } from '../../platform/logger.ts';
import { Lsn } from '../offsets/lsn.ts';
import { PgoutputDecoder, type PgoutputMessage } from './pgoutput-decoder.ts';

export type { PgoutputMessage } from './pgoutput-decoder.ts';

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

/** The parts of node-postgres' connection the replication protocol needs (not in its typings). */
interface ReplicationConnection {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  once(event: 'replicationStart', listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: { pause(): void; resume(): void };
}

/** PostgreSQL's epoch (2000-01-01) in Unix milliseconds: status update timestamps count from it. */
const POSTGRES_EPOCH_MS = 946_684_800_000;

/**
 * Reads the slot with the pgoutput plugin (protocol version 1: a transaction arrives whole, after
 * its commit, so changes reach us in commit order) on a replication connection of its own
 * (node-postgres in `replication: 'database'` mode, the streaming replication protocol:
 * https://www.postgresql.org/docs/current/protocol-replication.html). It never acknowledges
 * anything by itself: only the flush coordinator reports a position, through `sendStatus`.
 *
 * pg-logical-replication did this before; its service parsed every message into dictionaries,
 * built LSN strings and emitted through an EventEmitter with an acknowledge promise per message
 * (see pgoutput-decoder.ts). What it did besides — open the connection, START_REPLICATION, status
 * updates — is the few lines below.
 */
export class StreamReader {
  private readonly log: Logger;
  private readonly decoder = new PgoutputDecoder();
  private client: pg.Client | undefined;
  private connection: ReplicationConnection | undefined;
  private stopped = false;
  private lastReceived: Lsn = Lsn.ZERO;
  /** Messages decoded but not yet handled, as [lsn, message, lsn, message, …] from `head` on. */
  private queue: Array<Lsn | PgoutputMessage> = [];
  private head = 0;
  private draining = false;
  private paused = false;
  /** Set once a failure ended the session: later messages are dropped, never published out of order. */
  private halted = false;
  private failed: ((error: unknown) => void) | undefined;

  constructor(private readonly options: StreamReaderOptions) {
    this.log = options.logger.child({ component: 'cdc-stream-reader' });
  }

  get receivedLsn(): Lsn {
    return this.lastReceived;
  }

  /**
   * Starts streaming from the slot's confirmed position (requesting 0/0 makes the server use the
   * slot's confirmed_flush_lsn, so events that were received but never confirmed come again).
   * Resolves when the stream ends after `stop()`, rejects on error or when it ends by itself.
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
      this.failed = (error: unknown) => {
        // Stop taking messages after a failure: nothing later may be published out of order.
        this.halted = true;
        this.queue = [];
        this.head = 0;
        this.draining = true;
        this.pauseSocket();
        settle(error);
      };
      const { slot, publication, connectionString } = this.options;
      const client = new pg.Client({ connectionString, application_name: `strangler-cdc:${slot}`, replication: 'database' } as pg.ClientConfig);
      this.client = client;
      client.on('error', (error: Error) => settle(error));
      client
        .connect()
        .then(() => {
          if (this.stopped) return undefined;
          const connection = (client as unknown as { connection: ReplicationConnection }).connection;
          this.connection = connection;
          connection.once('replicationStart', () => onStarted());
          connection.on('copyData', ({ chunk }) => this.receive(chunk));
          const options = `proto_version '1', publication_names '${publication.replaceAll("'", "''")}', messages 'true'`;
          return client.query(`START_REPLICATION SLOT "${slot}" LOGICAL 0/0 (${options})`);
        })
        .then(
          () => settle(this.stopped ? undefined : new Error('the replication stream ended')),
          (error: unknown) => settle(error),
        );
    });
  }

  /** One CopyData message of the replication stream: XLogData ('w') or a primary keepalive ('k'). */
  private receive(chunk: Buffer): void {
    if (this.halted) return;
    try {
      const kind = chunk[0];
      if (kind === 0x77 /* w */) {
        // Int64 start of the WAL data, Int64 end of WAL, Int64 send time, then the pgoutput message.
        const lsn = Lsn.fromHalves(chunk.readUInt32BE(1), chunk.readUInt32BE(5));
        const message = this.decoder.decode(chunk, 25);
        this.queue.push(lsn, message);
        if (!this.draining) this.drain();
      } else if (kind === 0x6b /* k */) {
        // Int64 end of WAL, Int64 send time, Byte1 1 = reply now.
        this.options.onKeepalive(Lsn.fromHalves(chunk.readUInt32BE(1), chunk.readUInt32BE(5)), chunk[17] === 1);
      }
    } catch (error) {
      // Thrown inside the socket's data handler it would be uncaught: end the stream instead.
      this.failed?.(error);
    }
  }

  /**
   * Hands queued messages to `onMessage` in order, synchronously while it returns nothing. When
   * it returns a promise, the socket is paused (the protocol parser may still deliver the rest of
   * the chunk it is reading: those wait in the queue, so the queue holds at most one socket read)
   * and draining continues once the promise settles; the socket resumes when the queue is empty.
   */
  private drain(): void {
    this.draining = true;
    const queue = this.queue;
    while (this.head < queue.length) {
      const position = queue[this.head] as Lsn;
      const message = queue[this.head + 1] as PgoutputMessage;
      this.head += 2;
      let pending: Promise<void> | undefined;
      try {
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
      this.connection?.stream.resume();
    }
  }

  private pauseSocket(): void {
    if (this.paused) return;
    this.paused = true;
    this.connection?.stream.pause();
  }

  /**
   * Standby status update: `flushed` is the position up to which everything is safe (written,
   * flushed and applied: the end LSN of the last transaction whose events the broker confirmed,
   * exactly as PostgreSQL's own subscriber reports a commit's end).
   */
  sendStatus(flushed: Lsn): void {
    if (this.stopped || !this.connection || flushed.toBigInt() === 0n) return;
    const position = flushed.toBigInt();
    const status = Buffer.alloc(34);
    status[0] = 0x72; // 'r'
    status.writeBigUInt64BE(position, 1); // written
    status.writeBigUInt64BE(position, 9); // flushed
    status.writeBigUInt64BE(position, 17); // applied
    status.writeBigInt64BE(BigInt(Date.now() - POSTGRES_EPOCH_MS) * 1000n, 25); // µs since 2000-01-01
    status[33] = 0; // no reply requested
    try {
      this.connection.sendCopyFromChunk(status);
    } catch (error) {
      this.log.warn({ err: error }, 'could not send the standby status update');
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
  }
}
