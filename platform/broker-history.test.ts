import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { forgetBrokerHistory, historyQueues } from './broker-history.ts';
import { silentLogger } from './logger.ts';

const amqpUrl = inject('amqpUrl');
const suffix = randomBytes(4).toString('hex');
const env = { CDC_STREAM: `history.${suffix}.log`, CDC_SIGNAL_QUEUE: `history.${suffix}.signals`, PRICING_QUEUE: `pricing.${suffix}`, PIM_QUEUE: `pim.${suffix}` };
const unrelated = `unrelated.${suffix}`;

afterAll(async () => {
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createChannel();
  for (const queue of [...historyQueues(env), unrelated]) await channel.deleteQueue(queue).catch(() => undefined);
  await connection.close();
});

describe('forgetting the change history of a previous legacy database', () => {
  it('names the stream, the signal queue and each service queue with its retry and dead-letter queues, from the environment or the defaults', () => {
    expect(historyQueues({})).toEqual([
      'legacy.cdc.log',
      'legacy.cdc.signals',
      'pricing.cdc',
      'pricing.cdc.retry',
      'pricing.cdc.dead',
      'pim.cdc',
      'pim.cdc.retry',
      'pim.cdc.dead',
    ]);
    expect(historyQueues(env)).toContain(`pim.${suffix}.dead`);
  });

  it('when the queues hold messages of the old database, then they are deleted (stream included) and other queues are left alone', async () => {
    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    await channel.assertQueue(env.CDC_STREAM, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    await channel.assertQueue(env.PRICING_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.assertQueue(unrelated, { durable: true });
    channel.sendToQueue(env.PRICING_QUEUE, Buffer.from('{"op":"c"}'));
    await channel.close();

    const deleted = await forgetBrokerHistory({ amqpUrl, queues: historyQueues(env), logger: silentLogger() });

    expect(deleted.sort()).toEqual([env.CDC_STREAM, env.PRICING_QUEUE].sort());
    const check = await connection.createChannel();
    check.on('error', () => undefined);
    await expect(check.checkQueue(unrelated)).resolves.toMatchObject({ queue: unrelated });
    await expect(check.checkQueue(env.PRICING_QUEUE)).rejects.toThrow(/NOT_FOUND/);
    await connection.close().catch(() => undefined);
  });

  it('when nothing is there, then nothing is deleted', async () => {
    expect(await forgetBrokerHistory({ amqpUrl, queues: [`absent.${suffix}`], logger: silentLogger() })).toEqual([]);
  });
});
