import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../platform/logger.ts';
import { StranglerError, messageOf } from '../../platform/errors.ts';
import { routingKeyOf } from '../events/change-event.ts';
import { parseCaptureTable } from '../capture-table.ts';
import type { Lsn } from '../offsets/lsn.ts';
import {
  ATTEMPT_HEADER,
  comparePositions,
  messageKindOf,
  parseReceivedBatch,
  parseReceivedChange,
  parseReceivedControl,
  type ChangePosition,
  type ReceivedChange,
} from './received-change.ts';
import { BATCH_HEADER, type ControlKind, type SnapshotProgress } from '../snapshot/snapshot-protocol.ts';

export interface ChangeConsumerOptions {
  amqpUrl: string;
  /** The service's own durable quorum queue, e.g. `pricing.cdc`. */
  queue: string;
  /** Source tables the service needs (`name` or `schema.name`); each becomes a binding. */
  tables: string[];
  /**
   * Called for each change, one at a time, in delivery order. Resolve only after your transaction
   * committed. Give this, `batchHandler`, or both.
   */
  handler?: (change: ReceivedChange) => Promise<void>;
  /**
   * Called with every row of a snapshot batch message at once (and, when `handler` is absent,
   * with each single change as a batch of one): apply them in ONE transaction — with
   * `AppliedPositions.claimMany` — and resolve after it committed. Without it, a batch's rows go
   * to `handler` one by one. A batch that fails is retried, and dead-lettered, as a whole message.
   */
  batchHandler?: (changes: readonly ReceivedChange[]) => Promise<void>;
  /**
   * Called for a snapshot's control message (`progress`, `completed`, `cancelled`, `failed`), in
   * queue order with the snapshot's rows. Control messages never reach the change handlers or the
   * dead-letter queue; one that `onControl` fails on is put back in the queue (after a pause) so
   * that a `completed` is never lost, and one that is not valid is logged and dropped.
   */
  onControl?: (kind: ControlKind, progress: SnapshotProgress) => Promise<void> | void;
  logger: Logger;
  /** Default `legacy.cdc`. */
  exchange?: string;
  /** The bridge's logical server name (first part of the routing key). Default `legacy`. */
  serverName?: string;
  /** Unacknowledged messages the broker may send ahead. Default 100. */
  prefetch?: number;
  /**
   * With `batchHandler` and no `handler`: up to this many consecutive single changes that have
   * already arrived (prefetched) are handed over in one call — one transaction for a burst of live
   * changes instead of one each. Should the call fail, they are handled again one by one (each with
   * its own retries). Default 200; 1 turns coalescing off.
   */
  maxCoalesce?: number;
  /**
   * The most rows one coalesced call may hold: consecutive snapshot batch messages (and live
   * changes between them) are coalesced too, up to this many rows — one commit for several
   * batches while a store seeds. Default 5000.
   */
  maxCoalesceRows?: number;
  /** Attempts before a message is dead-lettered to `<queue>.dead`. Default 5. */
  maxAttempts?: number;
  /** Delay before retry n is `min(maxMs, initialMs · 2^(n−1))`. Default 500 ms, 30 s. */
  retryBackoff?: { initialMs: number; maxMs: number };
  connectionName?: string;
}

/** Rows a message holds: a snapshot batch says how many in its BATCH_HEADER (when a number), a change is one. */
function rowsOf(message: ConsumeMessage): number {
  if (messageKindOf(message) !== 'batch') return 1;
  const count = (message.properties.headers as Record<string, unknown> | undefined)?.[BATCH_HEADER];
  return typeof count === 'number' && count > 0 ? count : 500;
}

export interface AppliedMark {
  position: ChangePosition;
  /** Commit time of that change in the source, milliseconds since the epoch. */
  commitTimeMs: number;
}

/**
 * The consumer kit: follows the CDC exchange for one service.
 *
 * - Declares the service's durable quorum queue bound to `<server>.<schema>.<table>` for the
 *   tables it needs, plus `<queue>.retry` (delays) and `<queue>.dead` (poison messages).
 * - Validates every message (zod) into a typed ReceivedChange; an invalid one is dead-lettered
 *   at once.
 * - Calls the handler one message at a time and acknowledges only after it resolved.
 * - When the handler throws, the message is re-published to `<queue>.retry` with a growing
 *   per-message TTL, after which RabbitMQ dead-letters it back into the queue; the original is
 *   acknowledged, so one failing row never blocks the rest. After `maxAttempts` it goes to
 *   `<queue>.dead` with the error in its headers. The copy is confirmed by the broker before
 *   the original is acknowledged: a message is never lost between the two.
 * - Because retries (and the bridge's at-least-once re-publishing) reorder and repeat
 *   messages, handlers pair it with AppliedPositions, which skips anything not newer than what
 *   was applied to the row.
 */
export class ChangeConsumer {
  private connection: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private consumerTag: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Delivered messages not yet handled, in delivery order (drained one turn at a time). */
  private readonly inbox: ConsumeMessage[] = [];
  private draining = false;
  private applied: AppliedMark | null = null;
  private readonly log: Logger;
  private readonly exchange: string;
  private readonly maxAttempts: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private stopped = false;
  /** stop() was called: the turn in hand finishes, the rest stays unacknowledged (back to the queue). */
  private stopping = false;
  private counters = { handled: 0, retried: 0, deadLettered: 0, controls: 0 };

  private constructor(private readonly options: ChangeConsumerOptions) {
    if (!options.handler && !options.batchHandler) throw new TypeError('ChangeConsumer needs a handler or a batchHandler');
    this.log = options.logger.child({ component: 'cdc-consumer', queue: options.queue });
    this.exchange = options.exchange ?? 'legacy.cdc';
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoff = options.retryBackoff ?? { initialMs: 500, maxMs: 30_000 };
  }

  static async start(options: ChangeConsumerOptions): Promise<ChangeConsumer> {
    const consumer = new ChangeConsumer(options);
    await consumer.connect();
    return consumer;
  }

  get deadLetterQueue(): string {
    return `${this.options.queue}.dead`;
  }

  get retryQueue(): string {
    return `${this.options.queue}.retry`;
  }

  /** Routing keys the queue is bound with. */
  get bindings(): string[] {
    const server = this.options.serverName ?? 'legacy';
    return this.options.tables.map((text) => {
      const table = parseCaptureTable(text);
      return routingKeyOf(server, table.schema, table.name);
    });
  }

  /** The newest change the handler completed, by source position (null before the first). */
  get lastApplied(): AppliedMark | null {
    return this.applied;
  }

  get lastAppliedLsn(): Lsn | null {
    return this.applied?.position.commitLsn ?? null;
  }

  /** `handled` counts changes (rows), `retried` and `deadLettered` messages, `controls` control messages. */
  get stats(): Readonly<{ handled: number; retried: number; deadLettered: number; controls: number }> {
    return { ...this.counters };
  }

  private async connect(): Promise<void> {
    const { queue } = this.options;
    this.connection = await amqp.connect(this.options.amqpUrl, {
      clientProperties: { connection_name: this.options.connectionName ?? `cdc-consumer:${queue}` },
    });
    this.connection.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP connection error'));
    const channel = await this.connection.createConfirmChannel();
    this.channel = channel;
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.assertQueue(this.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    // Classic, because per-message TTL drives the delay; expired messages go back to the queue.
    await channel.assertQueue(this.retryQueue, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
    });
    for (const key of this.bindings) await channel.bindQueue(queue, this.exchange, key);
    await channel.prefetch(this.options.prefetch ?? 100);
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (!message) return;
      // One turn at a time, in delivery order.
      this.inbox.push(message);
      if (!this.draining) {
        this.draining = true;
        this.chain = this.chain.then(() => this.drain());
      }
    });
    this.consumerTag = consumerTag;
    this.log.info({ bindings: this.bindings }, 'following CDC changes');
  }

  private async drain(): Promise<void> {
    try {
      while (this.inbox.length > 0 && !this.stopped && !this.stopping) {
        const message = this.inbox.shift()!;
        const coalesce = this.options.batchHandler && !this.options.handler ? (this.options.maxCoalesce ?? 200) : 1;
        if (coalesce > 1 && messageKindOf(message) !== 'control' && this.inbox.length > 0 && messageKindOf(this.inbox[0]!) !== 'control') {
          const maxRows = this.options.maxCoalesceRows ?? 5000;
          const group = [message];
          let rows = rowsOf(message);
          while (group.length < coalesce && this.inbox.length > 0 && messageKindOf(this.inbox[0]!) !== 'control' && rows + rowsOf(this.inbox[0]!) <= maxRows) {
            const next = this.inbox.shift()!;
            rows += rowsOf(next);
            group.push(next);
          }
          if (group.length > 1) await this.handleGroup(group);
          else await this.handle(message);
        } else {
          await this.handle(message);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Consecutive messages (single changes and snapshot batches, in delivery order) in one
   * batchHandler call. Invalid ones are dead-lettered alone; if the call fails, each message is
   * handled again alone, with its own retries and dead-lettering.
   */
  private async handleGroup(messages: ConsumeMessage[]): Promise<void> {
    const channel = this.channel!;
    const valid: Array<{ message: ConsumeMessage; changes: readonly ReceivedChange[] }> = [];
    for (const message of messages) {
      try {
        valid.push({ message, changes: messageKindOf(message) === 'batch' ? parseReceivedBatch(message) : [parseReceivedChange(message)] });
      } catch (error) {
        await this.deadLetter(message, error, 1);
      }
    }
    if (valid.length === 0) return;
    const all = valid.flatMap((entry) => entry.changes);
    try {
      if (all.length > 0) await this.options.batchHandler!(all);
    } catch (error) {
      this.log.warn({ err: error, messages: valid.length, changes: all.length }, 'messages coalesced into one transaction failed together; handling them one by one');
      for (const { message } of valid) await this.handle(message);
      return;
    }
    for (const { message } of valid) channel.ack(message);
    this.counters.handled += all.length;
    for (const change of all) {
      const mark = { position: change.position, commitTimeMs: change.event.source.ts_ms };
      if (!this.applied || comparePositions(mark.position, this.applied.position) > 0) this.applied = mark;
    }
  }

  private async handle(message: ConsumeMessage): Promise<void> {
    const channel = this.channel;
    if (!channel || this.stopped) return;
    const kind = messageKindOf(message);
    if (kind === 'control') {
      await this.handleControl(message);
      return;
    }
    let changes: readonly ReceivedChange[];
    try {
      changes = kind === 'batch' ? parseReceivedBatch(message) : [parseReceivedChange(message)];
    } catch (error) {
      await this.deadLetter(message, error, 1);
      return;
    }
    const attempt = changes[0]?.attempt ?? 1;
    try {
      await this.apply(changes, kind);
    } catch (error) {
      // A batch is retried as a whole: its rows that did commit come back as duplicates, which
      // the position guard skips.
      if (attempt >= this.maxAttempts) await this.deadLetter(message, error, attempt);
      else await this.retry(message, error, attempt);
      return;
    }
    channel.ack(message);
    this.counters.handled += changes.length;
    for (const change of changes) {
      const mark = { position: change.position, commitTimeMs: change.event.source.ts_ms };
      if (!this.applied || comparePositions(mark.position, this.applied.position) > 0) this.applied = mark;
    }
  }

  private async apply(changes: readonly ReceivedChange[], kind: 'change' | 'batch'): Promise<void> {
    const { handler, batchHandler } = this.options;
    if (changes.length === 0) return;
    if (batchHandler && (kind === 'batch' || !handler)) {
      await batchHandler(changes);
      return;
    }
    for (const change of changes) await handler!(change);
  }

  private async handleControl(message: ConsumeMessage): Promise<void> {
    const channel = this.channel!;
    let control: ReturnType<typeof parseReceivedControl>;
    try {
      control = parseReceivedControl(message);
    } catch (error) {
      this.log.warn({ err: error, messageId: message.properties.messageId }, 'an invalid snapshot control message; dropped');
      channel.ack(message);
      return;
    }
    try {
      await this.options.onControl?.(control.kind, control.progress);
    } catch (error) {
      const pauseMs = this.backoff.initialMs;
      this.log.warn({ err: error, kind: control.kind, snapshotId: control.progress.snapshotId, retryInMs: pauseMs }, 'onControl failed; the control message goes back to the queue');
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      if (!this.stopped) channel.nack(message, false, true);
      return;
    }
    channel.ack(message);
    this.counters.controls += 1;
  }

  private async retry(message: ConsumeMessage, error: unknown, attempt: number): Promise<void> {
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (attempt - 1));
    this.log.warn({ err: error, messageId: message.properties.messageId, attempt, retryInMs: delay }, 'CDC handler failed; will retry');
    await this.republish(this.retryQueue, message, { [ATTEMPT_HEADER]: attempt + 1, 'x-cdc-last-error': messageOf(error) }, String(delay));
    this.counters.retried += 1;
  }

  private async deadLetter(message: ConsumeMessage, error: unknown, attempt: number): Promise<void> {
    this.log.error(
      { err: error, messageId: message.properties.messageId, attempt, deadLetterQueue: this.deadLetterQueue },
      'CDC message dead-lettered',
    );
    await this.republish(this.deadLetterQueue, message, {
      [ATTEMPT_HEADER]: attempt,
      'x-cdc-error': messageOf(error),
      'x-cdc-error-code': error instanceof StranglerError ? error.code : 'CDC_HANDLER_FAILED',
      'x-cdc-original-routing-key': message.fields.routingKey,
    });
    this.counters.deadLettered += 1;
  }

  /** Sends a copy to `queue`, waits for the broker's confirm, then acknowledges the original. */
  private async republish(queue: string, message: ConsumeMessage, headers: Record<string, unknown>, expiration?: string): Promise<void> {
    const channel = this.channel!;
    await new Promise<void>((resolve, reject) => {
      channel.sendToQueue(
        queue,
        message.content,
        {
          ...message.properties,
          persistent: true,
          expiration,
          headers: { ...(message.properties.headers ?? {}), ...headers },
        },
        (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()),
      );
    });
    channel.ack(message);
  }

  /**
   * Stops consuming, lets the message (or batch, or burst) in hand finish, and closes the
   * connection; messages delivered but not yet handled go back to the queue (a batch message can
   * hold hundreds of rows: handling every prefetched one would hold a SIGTERM for many seconds).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.consumerTag) await this.channel?.cancel(this.consumerTag).catch(() => undefined);
    await this.chain.catch(() => undefined);
    this.stopped = true;
    await this.channel?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
  }
}
