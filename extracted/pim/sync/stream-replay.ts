import amqp from 'amqplib';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../../platform/logger.ts';
import { parseReceivedChange, type ReceivedChange } from '../../../cdc/consumer/received-change.ts';
import { messageOf } from '../../../platform/errors.ts';

export interface StreamReplayOptions {
  amqpUrl: string;
  /** The bridge's RabbitMQ stream (`legacy.cdc.log`), which keeps every event it published. */
  stream: string;
  /** 'first', or the offset to start at (one past the last one read before). */
  from: 'first' | number;
  /** Called with changes in stream order, a batch at a time; resolve after they are applied. */
  apply: (changes: ReceivedChange[]) => Promise<void>;
  /** Which changes to keep (the tables the PIM follows). */
  accept: (change: ReceivedChange) => boolean;
  logger: Logger;
  batchSize?: number;
  /** The replay ends when the stream has been quiet this long. */
  idleMs?: number;
  /**
   * Ends the replay between two batches (the PIM is stopping): the batch in hand is applied whole
   * (one transaction), no further batch starts, and the result says `aborted` so that the caller
   * does not record the fill as done.
   */
  signal?: AbortSignal;
}

export interface StreamReplayResult {
  /** The offset after the last message read (where a later replay continues), or null when none was read. */
  nextOffset: number | null;
  messages: number;
  /** False when the stream does not exist (no bridge has run yet). */
  found: boolean;
  /** True when the signal ended it before the stream went quiet. */
  aborted?: boolean;
}

/**
 * Reads the bridge's stream from an offset until it goes quiet, applying the changes in
 * batches: how a new PIM builds its store from the stream alone, far faster than through its
 * queue one message at a time. The per-row position guard makes any overlap with the queue
 * harmless.
 */
export async function replayStream(options: StreamReplayOptions): Promise<StreamReplayResult> {
  const log = options.logger.child({ component: 'pim-stream-replay', stream: options.stream });
  const batchSize = options.batchSize ?? 500;
  const idleMs = options.idleMs ?? 750;
  const connection: ChannelModel = await amqp.connect(options.amqpUrl, { clientProperties: { connection_name: `pim-stream-replay:${options.stream}` } });
  try {
    const probe = await connection.createChannel();
    probe.on('error', () => undefined);
    const exists = await probe.checkQueue(options.stream).then(
      () => true,
      () => false,
    );
    if (!exists) {
      log.warn('the CDC stream does not exist yet; nothing to replay');
      return { nextOffset: null, messages: 0, found: false };
    }
    await probe.close().catch(() => undefined);

    const channel = await connection.createChannel();
    // RabbitMQ streams require a prefetch and manual acks (they only pace delivery).
    await channel.prefetch(batchSize * 2);
    const buffer: ConsumeMessage[] = [];
    let lastMessageAt = Date.now();
    let messages = 0;
    let nextOffset: number | null = null;
    let failure: unknown;
    await channel.consume(
      options.stream,
      (message) => {
        if (!message) return;
        buffer.push(message);
        lastMessageAt = Date.now();
      },
      { noAck: false, arguments: { 'x-stream-offset': options.from } },
    );
    for (;;) {
      if (options.signal?.aborted) break;
      if (buffer.length === 0) {
        if (Date.now() - lastMessageAt >= idleMs) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      const batch = buffer.splice(0, batchSize);
      const changes: ReceivedChange[] = [];
      for (const message of batch) {
        try {
          const change = parseReceivedChange(message);
          if (options.accept(change)) changes.push(change);
        } catch (error) {
          // The queue's consumer dead-letters invalid messages; here they are only skipped.
          log.warn({ err: messageOf(error), messageId: message.properties.messageId }, 'skipping an invalid message in the stream');
        }
      }
      try {
        if (changes.length > 0) await options.apply(changes);
      } catch (error) {
        failure = error;
        break;
      }
      const last = batch[batch.length - 1]!;
      channel.ack(last, true);
      messages += batch.length;
      const offset = (last.properties.headers as Record<string, unknown> | undefined)?.['x-stream-offset'];
      if (typeof offset === 'number') nextOffset = offset + 1;
      lastMessageAt = Date.now();
    }
    await channel.close().catch(() => undefined);
    if (failure) throw failure;
    if (options.signal?.aborted) {
      log.info({ messages, nextOffset }, 'stopped replaying the CDC stream; the next start replays it again');
      return { nextOffset, messages, found: true, aborted: true };
    }
    log.info({ messages, nextOffset }, 'replayed the CDC stream');
    return { nextOffset, messages, found: true };
  } finally {
    await connection.close().catch(() => undefined);
  }
}
