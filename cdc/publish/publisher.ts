import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel, Channel, Options } from 'amqplib';
import type { Logger } from '../../platform/logger.ts';
import type { PublishableEvent } from '../events/change-event.ts';
import { CdcErrors, classifyBrokerError } from '../errors.ts';

export interface Topology {
  /** Durable topic exchange the events go to (default `legacy.cdc`). */
  exchange: string;
  /** RabbitMQ stream bound with `#` that keeps the whole history for replay (default `legacy.cdc.log`). */
  streamQueue: string;
  /** Stream retention by age, RabbitMQ's x-max-age syntax ("7D", "24h"); empty = no limit. */
  streamMaxAge: string;
  /** Stream retention by size in bytes; 0 = no limit. */
  streamMaxLengthBytes: number;
}

export const DEFAULT_TOPOLOGY: Topology = Object.freeze({
  exchange: 'legacy.cdc',
  streamQueue: 'legacy.cdc.log',
  streamMaxAge: '7D',
  streamMaxLengthBytes: 5_000_000_000,
});

/**
 * Declares the exchange and the history stream; idempotent. A stream that exists already is
 * kept as it is: RabbitMQ refuses (406, closing the channel) a declaration whose retention
 * differs from the existing queue's, and retention of a live stream is changed with a policy
 * (`rabbitmqctl set_policy`), not by redeclaring it.
 */
export async function declareTopology(connection: ChannelModel, channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  if (!(await queueExists(connection, topology.streamQueue))) {
    const args: Record<string, unknown> = { 'x-queue-type': 'stream' };
    if (topology.streamMaxAge) args['x-max-age'] = topology.streamMaxAge;
    if (topology.streamMaxLengthBytes > 0) args['x-max-length-bytes'] = topology.streamMaxLengthBytes;
    await channel.assertQueue(topology.streamQueue, { durable: true, arguments: args });
  }
  await channel.bindQueue(topology.streamQueue, topology.exchange, '#');
}

/** A passive declare on a throw-away channel (a missing queue closes the channel it was asked on). */
async function queueExists(connection: ChannelModel, queue: string): Promise<boolean> {
  const probe = await connection.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(queue);
    await probe.close().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

export interface PublisherOptions {
  amqpUrl: string;
  topology: Topology;
  logger: Logger;
  /** Shows in RabbitMQ's connection list (`rabbitmqctl list_connections user_provided_name`). */
  connectionName: string;
  /** Called once when the connection or channel is lost or the broker refuses a message. */
  onFailure: (error: Error) => void;
}

/**
 * Publishes change events on a confirm channel. Each publish is confirmed (or refused)
 * asynchronously by the broker; the caller learns of it through the callback and only then
 * counts the event as safe.
 */
export class Publisher {
  private failed = false;

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly options: PublisherOptions,
  ) {}

  static async connect(options: PublisherOptions): Promise<Publisher> {
    let connection: ChannelModel;
    try {
      // noDelay: amqplib leaves Nagle's algorithm on, which holds a small publish back until the
      // previous segment is acknowledged — tens of milliseconds of commit-to-confirm latency.
      connection = await amqp.connect(options.amqpUrl, { noDelay: true, clientProperties: { connection_name: options.connectionName } });
    } catch (error) {
      throw classifyBrokerError(options.amqpUrl, error) ?? CdcErrors.brokerConnectionLost(error);
    }
    // Listen before anything can fail: an 'error' event without a listener ends the process.
    let early: Error | undefined;
    const onEarlyError = (error: Error) => {
      early ??= error;
    };
    connection.on('error', onEarlyError);
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', onEarlyError);
      await declareTopology(connection, channel, options.topology);
      if (early) throw early;
      const publisher = new Publisher(connection, channel, options);
      connection.off('error', onEarlyError);
      channel.off('error', onEarlyError);
      connection.on('error', (error: Error) => publisher.fail(error));
      connection.on('close', () => publisher.fail(new Error('connection closed')));
      channel.on('error', (error: Error) => publisher.fail(error));
      channel.on('close', () => publisher.fail(new Error('channel closed')));
      return publisher;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw classifyBrokerError(options.amqpUrl, error) ?? CdcErrors.brokerConnectionLost(error);
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.options.onFailure(CdcErrors.brokerConnectionLost(error));
  }

  /**
   * Publishes one event; `onConfirm` runs when the broker confirmed it. Returns false when the
   * channel's buffer is full: the caller then awaits `drained()` before publishing more, the
   * first level of backpressure.
   */
  publish(event: PublishableEvent, onConfirm: () => void): boolean {
    if (this.failed) throw CdcErrors.brokerConnectionLost(new Error('the publisher already failed'));
    return this.channel.publish(
      this.options.topology.exchange,
      event.routingKey,
      event.body,
      {
        persistent: true,
        contentType: 'application/json',
        messageId: event.messageId,
        timestamp: Math.floor(event.commitTimeMs / 1000),
        type: event.type,
        headers: {
          table: event.headersTable,
          op: event.op,
          server: event.serverName,
          commit_lsn: event.commitLsnText,
          position: event.position,
          key: event.keyJson,
        },
      },
      (error: unknown) => {
        if (error) this.fail(error instanceof Error ? error : CdcErrors.brokerNack(event.messageId));
        else onConfirm();
      },
    );
  }

  /**
   * Publishes a prepared message to `exchange` ('' is the default exchange: routing key = queue
   * name) on the same confirm channel: snapshot batches and control messages (cdc/snapshot/),
   * which go straight to one target queue. Same confirm, backpressure and failure handling as
   * `publish`; on one channel RabbitMQ keeps them in order with the events around them.
   */
  publishRaw(exchange: string, routingKey: string, body: Buffer, properties: Options.Publish, onConfirm: () => void): boolean {
    if (this.failed) throw CdcErrors.brokerConnectionLost(new Error('the publisher already failed'));
    return this.channel.publish(exchange, routingKey, body, properties, (error: unknown) => {
      if (error) this.fail(error instanceof Error ? error : CdcErrors.brokerNack(String(properties.messageId)));
      else onConfirm();
    });
  }

  drained(): Promise<void> {
    return new Promise<void>((resolve) => this.channel.once('drain', () => resolve()));
  }

  /** Waits until every publish so far is confirmed (throws when one was refused or the channel died). */
  async waitForConfirms(): Promise<void> {
    await this.channel.waitForConfirms();
  }

  async close(): Promise<void> {
    this.failed = true;
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
