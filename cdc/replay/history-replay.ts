import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { targetQueue } from '../snapshot/snapshot-protocol.ts';
import { CONTROL_HEADER } from '../snapshot/snapshot-protocol.ts';
import { ReplayErrors } from './replay-errors.ts';
import { createReplayMarker, isReplayMarker } from './replay-marker.ts';

export interface ReplayOptions {
  amqpUrl: string;
  /** The bridge's history stream (CDC_STREAM, `legacy.cdc.log`). */
  stream: string;
  /** A service name (`pricing` → `pricing.cdc`) or a queue name (with a dot); the queue must exist. */
  target: string;
  /** Where to start: the stream's first offset, or the first event committed at or after this time. */
  from: 'first' | Date;
  /** Only events of these tables (`name` or `schema.name`); all when absent. */
  tables?: readonly string[];
  /** Events re-published and not yet confirmed by the broker (also the stream consumer's prefetch). */
  maxInFlight?: number;
  onProgress?: (progress: ReplayProgress) => void;
  connectionName?: string;
}

export interface ReplayProgress {
  /** Messages read from the stream (markers and filtered events included). */
  read: number;
  /** Events re-published to the target and confirmed. */
  published: number;
  /** Events left out: other tables, older than --from, markers and control messages. */
  skipped: number;
  /** About how many messages the stream held when the replay began (from `first`); null from a time or when unknown. */
  estimatedTotal: number | null;
  elapsedMs: number;
  done: boolean;
}

export interface ReplayResult extends ReplayProgress {
  replayId: string;
  queue: string;
}

export const REPLAY_HEADER = 'x-strangler-replay';
export const ORIGINAL_ROUTING_KEY_HEADER = 'x-original-routing-key';

/**
 * Re-publishes the history stream's events into one queue, for rebuilding a store from history
 * or trying a new projection: each event as it was (body, message id, type, timestamp, headers),
 * through the default exchange to the target queue only, with publisher confirms. The end is the
 * marker appended before reading (replay-marker.ts). A stream message is acknowledged — which,
 * on a stream, only returns credit — once its copy is confirmed, so at most `maxInFlight` copies
 * are ever unconfirmed. The consumer kit's position guard makes events the service already has
 * harmless.
 */
export async function replayHistory(options: ReplayOptions): Promise<ReplayResult> {
  const started = Date.now();
  const replayId = randomUUID();
  const queue = targetQueue(options.target);
  const tables = options.tables ? new Set(options.tables.map((table) => (table.includes('.') ? table : `public.${table}`))) : null;
  const fromSeconds = options.from === 'first' ? null : Math.floor(options.from.getTime() / 1000);
  const maxInFlight = options.maxInFlight ?? 1000;
  let connection: ChannelModel;
  try {
    connection = await amqp.connect(options.amqpUrl, { clientProperties: { connection_name: options.connectionName ?? `strangler-replay:${queue}` } });
  } catch (error) {
    throw ReplayErrors.brokerUnavailable(options.amqpUrl, error);
  }
  connection.on('error', () => undefined);
  try {
    const estimatedTotal = await checkQueues(connection, options.stream, queue);
    const publisher = await connection.createConfirmChannel();
    publisher.on('error', () => undefined);
    const marker = createReplayMarker(replayId);
    publisher.sendToQueue(options.stream, marker.content, marker.options);
    await publisher.waitForConfirms();

    const progress: ReplayProgress = {
      read: 0,
      published: 0,
      skipped: 0,
      // RabbitMQ updates a stream's message count lazily: an estimate, when it has one.
      estimatedTotal: options.from === 'first' && estimatedTotal > 0 ? estimatedTotal + 1 : null,
      elapsedMs: 0,
      done: false,
    };
    const report = () => options.onProgress?.({ ...progress, elapsedMs: Date.now() - started });
    const reader = await connection.createChannel();
    reader.on('error', () => undefined);
    await reader.prefetch(maxInFlight);
    const finished = new Promise<void>((resolve, reject) => {
      let ended = false;
      const consume = (message: ConsumeMessage | null) => {
        if (!message || ended) return;
        progress.read += 1;
        if (message.properties.messageId === marker.messageId) {
          ended = true;
          reader.ack(message);
          publisher.waitForConfirms().then(() => resolve(), reject);
          return;
        }
        if (!wanted(message, tables, fromSeconds)) {
          progress.skipped += 1;
          reader.ack(message);
          return;
        }
        republish(publisher, queue, message, replayId, (error) => {
          if (error) {
            ended = true;
            reject(ReplayErrors.refused(String(message.properties.messageId ?? '?')));
            return;
          }
          progress.published += 1;
          reader.ack(message);
        });
      };
      const offset = fromSeconds === null ? 'first' : { '!': 'timestamp', value: fromSeconds };
      reader.consume(options.stream, consume, { noAck: false, arguments: { 'x-stream-offset': offset } }).catch(reject);
      connection.once('close', () => {
        if (!ended) reject(ReplayErrors.brokerUnavailable(options.amqpUrl, new Error('the connection closed during the replay')));
      });
    });
    const ticker = setInterval(report, 200);
    try {
      await finished;
    } finally {
      clearInterval(ticker);
    }
    progress.done = true;
    report();
    await reader.close().catch(() => undefined);
    await publisher.close().catch(() => undefined);
    return { ...progress, elapsedMs: Date.now() - started, replayId, queue };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Both queues must exist; answers how many messages the stream holds. */
async function checkQueues(connection: ChannelModel, stream: string, queue: string): Promise<number> {
  const probe = async (name: string) => {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      return await channel.checkQueue(name);
    } catch {
      return null;
    } finally {
      await channel.close().catch(() => undefined);
    }
  };
  const streamState = await probe(stream);
  if (!streamState) throw ReplayErrors.streamMissing(stream);
  if (!(await probe(queue))) throw ReplayErrors.targetMissing(queue);
  return streamState.messageCount;
}

function wanted(message: ConsumeMessage, tables: Set<string> | null, fromSeconds: number | null): boolean {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  if (isReplayMarker(message) || headers[CONTROL_HEADER] !== undefined) return false;
  // A time offset starts at the stream chunk that holds that time: leave out the chunk's older events.
  if (fromSeconds !== null && typeof message.properties.timestamp === 'number' && message.properties.timestamp < fromSeconds) return false;
  if (tables && !(typeof headers.table === 'string' && tables.has(headers.table))) return false;
  return true;
}

function republish(channel: ConfirmChannel, queue: string, message: ConsumeMessage, replayId: string, done: (error: unknown) => void): void {
  const { properties } = message;
  const headers: Record<string, unknown> = { ...(properties.headers ?? {}) };
  delete headers['x-stream-offset'];
  headers[REPLAY_HEADER] = replayId;
  headers[ORIGINAL_ROUTING_KEY_HEADER] = message.fields.routingKey;
  const publish: Options.Publish = {
    persistent: true,
    headers,
    ...(properties.messageId === undefined ? {} : { messageId: properties.messageId as string }),
    ...(properties.type === undefined ? {} : { type: properties.type as string }),
    ...(properties.contentType === undefined ? {} : { contentType: properties.contentType as string }),
    ...(properties.contentEncoding === undefined ? {} : { contentEncoding: properties.contentEncoding as string }),
    ...(properties.timestamp === undefined ? {} : { timestamp: properties.timestamp as number }),
    ...(properties.correlationId === undefined ? {} : { correlationId: properties.correlationId as string }),
    ...(properties.appId === undefined ? {} : { appId: properties.appId as string }),
  };
  channel.sendToQueue(queue, message.content, publish, (error) => done(error ?? null));
}
