import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../../platform/logger.ts';
import { parseReceivedChange, type ReceivedChange } from '../../../cdc/consumer/received-change.ts';

export interface BackfillOptions {
  connection: ChannelModel;
  /** The bridge's history stream (`legacy.cdc.log` by default). */
  streamQueue: string;
  /** Routing keys of the followed tables; everything else in the stream is skipped. */
  routingKeys: readonly string[];
  apply: (change: ReceivedChange) => Promise<void>;
  logger: Logger;
  /** The stream is taken as read to its end once nothing arrived for this long. */
  idleMs?: number;
  prefetch?: number;
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
 * A message that fails here is logged and counted, not retried: the stream cannot dead-letter, and
 * one bad row must not keep the service from ever starting.
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
  let pending = 0;
  let lastActivity = Date.now();
  let chain = Promise.resolve();
  await channel.prefetch(options.prefetch ?? 500);
  const handle = async (message: ConsumeMessage) => {
    try {
      result.read += 1;
      if (!keys.has(message.fields.routingKey)) return;
      try {
        await options.apply(parseReceivedChange(message));
        result.applied += 1;
      } catch (error) {
        result.failed += 1;
        log.error({ err: error, messageId: message.properties.messageId }, 'a change from the history stream could not be applied; skipped');
      }
    } finally {
      channel.ack(message);
      pending -= 1;
      lastActivity = Date.now();
    }
  };
  const { consumerTag } = await channel.consume(
    options.streamQueue,
    (message) => {
      if (!message) return;
      pending += 1;
      chain = chain.then(() => handle(message));
    },
    { noAck: false, arguments: { 'x-stream-offset': 'first' } },
  );
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (pending === 0 && Date.now() - lastActivity >= idleMs) {
        clearInterval(timer);
        resolve();
      }
    }, Math.min(100, idleMs));
  });
  await channel.cancel(consumerTag).catch(() => undefined);
  await chain;
  await channel.close().catch(() => undefined);
  log.info(result, 'filled the store from the CDC history stream');
  return result;
}
