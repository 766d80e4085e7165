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
   * Called for each pgoutput message in WAL order; the stream is paused until the returned
   * promise settles (the library's flow control), which is how backpressure from the broker
   * reaches PostgreSQL instead of piling up in memory.
   */
  onMessage: (lsn: Lsn, message: PgoutputMessage) => Promise<void>;
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

  constructor(private readonly options: StreamReaderOptions) {
    this.log = options.logger.child({ component: 'cdc-stream-reader' });
    this.service = new LogicalReplicationService(
      { connectionString: options.connectionString, application_name: `strangler-cdc:${options.slot}` },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
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
      this.service.on('data', async (lsn: string, message: PgoutputMessage) => {
        const position = Lsn.parse(lsn);
        if (position.isAfter(this.lastReceived)) this.lastReceived = position;
        try {
          await this.options.onMessage(position, message);
        } catch (error) {
          settle(error);
          // Stop taking messages after a failure: nothing later may be published out of order.
          await new Promise(() => undefined);
        }
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
