import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import pg from 'pg';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { silentLogger } from '../../platform/logger.ts';
import { buildChangeEvent, type PublishableEvent, type RelationInfo } from '../events/change-event.ts';
import { Lsn } from '../offsets/lsn.ts';
import { TypeOid } from '../events/value-mapping.ts';
import { AppliedPositions } from './applied-positions.ts';
import { ChangeConsumer } from './change-consumer.ts';
import type { ReceivedChange } from './received-change.ts';

const amqpUrl = inject('amqpUrl');
const suffix = randomBytes(4).toString('hex');
const exchange = `test.cdc.consumer.${suffix}`;
let database: TestDatabase;
let pool: pg.Pool;
let connection: ChannelModel;
let publishChannel: ConfirmChannel;
const queues: string[] = [];

const priceRelation: RelationInfo = {
  schema: 'public',
  table: 'catalog_product_entity_decimal',
  columns: [
    { name: 'value_id', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'value', typeOid: TypeOid.numeric, typeMod: -1 },
  ],
  keyColumns: ['value_id'],
};

function priceChange(commitLsn: string, position: number, valueId: number, value: string, op: 'c' | 'u' = 'u'): PublishableEvent {
  return buildChangeEvent(
    {
      op,
      relation: priceRelation,
      oldTuple: op === 'u' ? { value_id: String(valueId), value: '0' } : null,
      newTuple: { value_id: String(valueId), value },
      lsn: Lsn.parse(commitLsn),
      position,
      dataCollectionOrder: position + 1,
    },
    { xid: 1000, commitLsn: Lsn.parse(commitLsn), commitTimeMs: Date.now() },
    { serverName: 'legacy', database: 'legacy', transactionMetadata: true, now: Date.now },
  );
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

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function queueName(label: string): string {
  const name = `test.${label}.${suffix}`;
  queues.push(name, `${name}.dead`, `${name}.retry`);
  return name;
}

beforeAll(async () => {
  database = await createTestDatabase('cdc_consumer');
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  await pool.query('CREATE TABLE prices (value_id int PRIMARY KEY, value numeric NOT NULL)');
  connection = await amqp.connect(amqpUrl);
  publishChannel = await connection.createConfirmChannel();
  await publishChannel.assertExchange(exchange, 'topic', { durable: true });
});

afterAll(async () => {
  for (const queue of queues) await publishChannel.deleteQueue(queue).catch(() => undefined);
  await publishChannel.deleteExchange(exchange).catch(() => undefined);
  await connection.close().catch(() => undefined);
  await pool.end();
  await database.drop();
});

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
