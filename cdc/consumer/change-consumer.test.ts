import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type pg from 'pg';
import { inject } from 'vitest';
import { silentLogger } from '../../platform/logger.ts';
import type { PublishableEvent } from '../events/change-event.ts';
import { AppliedPositions } from './applied-positions.ts';
import { ChangeConsumer } from './change-consumer.ts';
import type { ReceivedChange } from './received-change.ts';
import { ConsumerSpecKit, priceChange as buildPriceChange, until } from './testing/consumer-spec-kit.ts';

const amqpUrl = inject('amqpUrl');
const kit = new ConsumerSpecKit(amqpUrl, 'consumer');
const exchange = kit.exchange;
let pool: pg.Pool;
let connection: ChannelModel;
let publishChannel: ConfirmChannel;

function priceChange(commitLsn: string, position: number, valueId: number, value: string, op: 'c' | 'u' = 'u'): PublishableEvent {
  return buildPriceChange({ op, commitLsn, position, valueId, value, transactionMetadata: true });
}

async function publish(event: PublishableEvent): Promise<void> {
  publishChannel.publish(exchange, event.routingKey, event.body, {
    persistent: true,
    contentType: 'application/json',
    messageId: event.messageId,
    headers: { table: 'public.catalog_product_entity_decimal', op: event.event.op, key: JSON.stringify(event.key), commit_lsn: event.commitLsn.toString(), position: event.position },
  });
  await publishChannel.waitForConfirms();
}

const queueName = (label: string): string => kit.queueName(label);

beforeAll(async () => {
  await kit.start('cdc_consumer');
  ({ pool, connection, channel: publishChannel } = kit);
});

afterAll(() => kit.cleanup());

describe('the consumer kit', () => {
  it('when a change is delivered twice and an older change arrives after a newer one, then the store keeps the newer value', async () => {
    const positions = new AppliedPositions();
    await positions.ensureTable(pool);
    const outcomes: string[] = [];
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue: queueName('pricing'),
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      handler: async (change: ReceivedChange) => {
        const applied = await positions.applyOnce(pool, change, async (client) => {
          await client.query(
            'INSERT INTO prices (value_id, value) VALUES ($1, $2) ON CONFLICT (value_id) DO UPDATE SET value = EXCLUDED.value',
            [change.key?.value_id, change.event.after?.value],
          );
        });
        outcomes.push(`${change.messageId}:${applied ? 'applied' : 'skipped'}`);
      },
    });
    try {
      const older = priceChange('0/1000', 0, 7, '10.00');
      const newer = priceChange('0/2000', 1, 7, '20.00');
      await publish(older);
      await publish(newer);
      await publish(newer); // a duplicate (the bridge re-publishing its unconfirmed tail)
      await publish(older); // out of order (a retry coming back late)
      await until(() => outcomes.length === 4, 'four deliveries');

      expect(outcomes).toEqual([
        `${older.messageId}:applied`,
        `${newer.messageId}:applied`,
        `${newer.messageId}:skipped`,
        `${older.messageId}:skipped`,
      ]);
      const { rows } = await pool.query<{ value: string }>('SELECT value FROM prices WHERE value_id = 7');
      expect(rows[0]?.value).toBe('20.00');
      expect(consumer.lastAppliedLsn?.toString()).toBe('0/2000');
      expect((await positions.lastAppliedLsn(pool))?.toString()).toBe('0/2000');
    } finally {
      await consumer.stop();
    }
  });

  it('when a handler keeps failing on one message, then it goes to <queue>.dead after the last attempt and the messages behind it are handled', async () => {
    const queue = queueName('poison');
    const handled: number[] = [];
    const attemptsOf13: number[] = [];
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['public.catalog_product_entity_decimal'],
      logger: silentLogger(),
      maxAttempts: 3,
      retryBackoff: { initialMs: 20, maxMs: 100 },
      handler: async (change) => {
        const id = Number(change.key?.value_id);
        if (id === 13) {
          attemptsOf13.push(change.attempt);
          throw new Error('row 13 violates a constraint in the service');
        }
        handled.push(id);
      },
    });
    try {
      await publish(priceChange('0/3000', 0, 13, '1.00', 'c'));
      await publish(priceChange('0/3000', 1, 14, '2.00', 'c'));
      await publish(priceChange('0/3000', 2, 15, '3.00', 'c'));
      await until(() => handled.length === 2, 'the healthy messages');
      expect(handled).toEqual([14, 15]);

      const check = await connection.createChannel();
      let dead: amqp.GetMessage | false = false;
      await until(async () => {
        dead = await check.get(`${queue}.dead`, { noAck: true });
        return dead !== false;
      }, 'the dead-lettered message');
      await check.close();
      const message = dead as unknown as amqp.GetMessage;
      expect(JSON.parse(message.content.toString()).after.value_id).toBe(13);
      expect(message.properties.headers?.['x-cdc-error']).toBe('row 13 violates a constraint in the service');
      expect(message.properties.headers?.['x-cdc-attempt']).toBe(3);
      expect(attemptsOf13).toEqual([1, 2, 3]);
      expect(consumer.stats).toMatchObject({ handled: 2, retried: 2, deadLettered: 1 });
    } finally {
      await consumer.stop();
    }
  });

  it('when a message is not a change event, then it is dead-lettered at once with CDC_MESSAGE_INVALID and the handler never sees it', async () => {
    const queue = queueName('invalid');
    const seen: string[] = [];
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      handler: async (change) => {
        seen.push(change.messageId);
      },
    });
    try {
      publishChannel.publish(exchange, 'legacy.public.catalog_product_entity_decimal', Buffer.from('{"op":"x"}'), { messageId: 'legacy:0/1:0' });
      await publishChannel.waitForConfirms();
      const good = priceChange('0/4000', 0, 21, '5.00', 'c');
      await publish(good);
      await until(() => seen.length === 1, 'the valid message');
      const check = await connection.createChannel();
      let dead: amqp.GetMessage | false = false;
      await until(async () => {
        dead = await check.get(`${queue}.dead`, { noAck: true });
        return dead !== false;
      }, 'the invalid message in the dead-letter queue');
      await check.close();
      expect((dead as unknown as amqp.GetMessage).properties.headers?.['x-cdc-error-code']).toBe('CDC_MESSAGE_INVALID');
      expect(seen).toEqual([good.messageId]);
    } finally {
      await consumer.stop();
    }
  });

  it('binds the quorum queue only to the tables asked for', async () => {
    const queue = queueName('bindings');
    const seen: string[] = [];
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      handler: async (change) => {
        seen.push(change.table);
      },
    });
    try {
      publishChannel.publish(exchange, 'legacy.public.store', Buffer.from('{}'), {});
      await publish(priceChange('0/5000', 0, 31, '1.00', 'c'));
      await until(() => seen.length === 1, 'the bound table');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toEqual(['public.catalog_product_entity_decimal']);
      expect(consumer.bindings).toEqual(['legacy.public.catalog_product_entity_decimal']);
      const check = await connection.createChannel();
      const declared = await check.checkQueue(queue);
      expect(declared.queue).toBe(queue);
      await check.close();
    } finally {
      await consumer.stop();
    }
  });
});
