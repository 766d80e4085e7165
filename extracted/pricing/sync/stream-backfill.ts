import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../../platform/logger.ts';
import { parseReceivedChange, type ReceivedChange } from '../../../cdc/consumer/received-change.ts';

export interface BackfillOptions {
  connection: ChannelModel;
  /** The bridge's history stream (`legacy.cdc.log` by default). */
  streamQueue: string;
  /** Routing keys of the followed tables; everything else in the stream is skipped. */
  routingKeys: readonly string[];
  /** Applies a batch in one transaction; resolves with how many of its changes failed. */
  applyBatch: (changes: readonly ReceivedChange[]) => Promise<number>;
  logger: Logger;
  /** The stream is taken as read to its end once nothing arrived for this long. */
  idleMs?: number;
  prefetch?: number;
  /** Changes per transaction. */
  batchSize?: number;
  /**
   * Stops the fill between two batches (the service is stopping): the batch in hand commits or
   * rolls back whole, no further batch starts, and the promise rejects with the signal's reason
   * so that the caller never takes the store as filled.
   */
  signal?: AbortSignal;
}

export interface BackfillResult {
  read: number;
  applied: number;
  failed: number;
  streamFound: boolean;
}

/**
 * Fills a new store from the bridge's history stream, from its first offset (consumer kit README:
 * "Filling a new store"). The service's queue is declared and bound before this runs, so whatever
 * the bridge publishes from then on also waits in the queue; the per-row applied positions make
 * the overlap harmless. AMQP 0.9.1 has no end-of-stream signal, so the end is where deliveries stop
 * for `idleMs` with nothing in hand.
 *
 * Changes are applied in batches, one transaction each (see PriceSync.applyBatch). A change that
 * fails is logged and counted, not retried: the stream cannot dead-letter, and one bad row must not
 * keep the service from ever starting.
 */
export async function backfillFromStream(options: BackfillOptions): Promise<BackfillResult> {
  const log = options.logger.child({ component: 'pricing-backfill', stream: options.streamQueue });
  const result: BackfillResult = { read: 0, applied: 0, failed: 0, streamFound: false };
  const probe = await options.connection.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(options.streamQueue);
  } catch {
    // No stream: the bridge has not published yet, so everything it will publish reaches our queue.
    log.info('no CDC history stream yet; the queue alone fills the store');
    return result;
  } finally {
    await probe.close().catch(() => undefined);
  }
  result.streamFound = true;
  const channel = await options.connection.createChannel();
  channel.on('error', (error: Error) => log.warn({ err: error }, 'backfill channel error'));
  const keys = new Set(options.routingKeys);
  const idleMs = options.idleMs ?? 1000;
  const batchSize = options.batchSize ?? 500;
  const buffer: ConsumeMessage[] = [];
  let draining = false;
  let lastActivity = Date.now();
  let failure: unknown;
  await channel.prefetch(options.prefetch ?? 2 * batchSize);
  // Deliveries pile up in `buffer` while a batch is applied; each turn takes what has arrived.
  const drain = async () => {
    draining = true;
    try {
      while (buffer.length > 0 && !options.signal?.aborted) {
        const batch = buffer.splice(0, batchSize);
        const changes: ReceivedChange[] = [];
        for (const message of batch) {
          result.read += 1;
          if (!keys.has(message.fields.routingKey)) continue;
          try {
            changes.push(parseReceivedChange(message));
          } catch (error) {
            result.failed += 1;
            log.error({ err: error, messageId: message.properties.messageId }, 'an invalid message in the history stream; skipped');
          }
        }
        if (changes.length > 0) {
          const started = performance.now();
          const failed = await options.applyBatch(changes);
          log.debug({ messages: batch.length, changes: changes.length, ms: Math.round(performance.now() - started) }, 'applied a batch');
          result.failed += failed;
          result.applied += changes.length - failed;
        }
        // Stream acks only return credit (a stream keeps its messages); ack the batch at once.
        channel.ack(batch[batch.length - 1]!, true);
        lastActivity = Date.now();
      }
    } catch (error) {
      failure = error;
    } finally {
      draining = false;
    }
  };
  const { consumerTag } = await channel.consume(
    options.streamQueue,
    (message) => {
      if (!message) return;
      buffer.push(message);
      lastActivity = Date.now();
      if (!draining) setImmediate(() => void (draining ? undefined : drain()));
    },
    { noAck: false, arguments: { 'x-stream-offset': 'first' } },
  );
  await new Promise<void>((resolve) => {
    const finish = () => {
      clearInterval(timer);
      options.signal?.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setInterval(() => {
      if (failure !== undefined || (buffer.length === 0 && !draining && Date.now() - lastActivity >= idleMs)) finish();
    }, Math.min(100, idleMs));
    options.signal?.addEventListener('abort', finish, { once: true });
    if (options.signal?.aborted) finish();
  });
  await channel.cancel(consumerTag).catch(() => undefined);
  while (draining) await new Promise((resolve) => setTimeout(resolve, 10));
  await channel.close().catch(() => undefined);
  // A failed transaction (the store went away) leaves rows missing: the caller must not call the store filled.
  if (failure !== undefined) throw failure;
  if (options.signal?.aborted) {
    log.info(result, 'stopped filling the store from the CDC history stream; the next start fills on');
    throw options.signal.reason;
  }
  log.info(result, 'filled the store from the CDC history stream');
  return result;
}
