import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type pg from 'pg';
import { silentLogger } from '../../platform/logger.ts';
import { Lsn } from '../offsets/lsn.ts';
import { BATCH_CONTENT_TYPE, BATCH_HEADER, CONTROL_HEADER, SNAPSHOT_ID_HEADER, type ControlKind, type SnapshotProgress } from '../snapshot/snapshot-protocol.ts';
import { AppliedPositions } from './applied-positions.ts';
import { ChangeConsumer } from './change-consumer.ts';
import type { ReceivedChange } from './received-change.ts';
import { ConsumerSpecKit, priceChange, until } from './testing/consumer-spec-kit.ts';

// Snapshot batches and control messages (cdc/snapshot/snapshot-protocol.ts) as the consumer kit
// sees them: published straight to the service's queue through the default exchange, as the
// bridge does for a snapshot's target.

const amqpUrl = inject('amqpUrl');
const kit = new ConsumerSpecKit(amqpUrl, 'batch');
const exchange = kit.exchange;
let pool: pg.Pool;
let connection: ChannelModel;
let channel: ConfirmChannel;

function event(op: 'r' | 'u', commitLsn: string, position: number, valueId: number, value: string) {
  return priceChange({ op: op === 'r' ? 'c' : 'u', commitLsn, position, valueId, value, transactionMetadata: false });
}

/** A batch message as snapshot-protocol.ts describes it: rows i at (commit_lsn, position + i). */
async function publishBatch(queue: string, commitLsn: string, position: number, rows: Array<[number, string]>, snapshotId = 'snap-1'): Promise<string> {
  const items = rows.map(([valueId, value], i) => {
    const built = event('r', commitLsn, position + i, valueId, value).event;
    return { key: { value_id: valueId }, value: { ...built, op: 'r', before: null, source: { ...built.source, snapshot: 'incremental' } } };
  });
  const messageId = `legacy:${commitLsn}:${position}`;
  channel.sendToQueue(queue, Buffer.from(JSON.stringify(items)), {
    persistent: true,
    contentType: BATCH_CONTENT_TYPE,
    messageId,
    headers: { [BATCH_HEADER]: rows.length, [SNAPSHOT_ID_HEADER]: snapshotId, table: 'public.catalog_product_entity_decimal', commit_lsn: commitLsn, position },
  });
  await channel.waitForConfirms();
  return messageId;
}

async function publishLive(commitLsn: string, position: number, valueId: number, value: string): Promise<void> {
  const built = event('u', commitLsn, position, valueId, value);
  channel.publish(exchange, built.routingKey, built.body, {
    persistent: true,
    contentType: 'application/json',
    messageId: built.messageId,
    headers: { key: JSON.stringify(built.key), commit_lsn: commitLsn, position },
  });
  await channel.waitForConfirms();
}

async function publishControl(queue: string, kind: ControlKind, progress: Partial<SnapshotProgress> = {}): Promise<void> {
  const body: SnapshotProgress = {
    snapshotId: 'snap-1',
    target: queue,
    state: kind === 'progress' ? 'running' : kind,
    tables: [{ table: 'public.catalog_product_entity_decimal', rowsEmitted: 3, rowsEstimated: 4, done: kind !== 'progress' }],
    rowsEmitted: 3,
    rowsPerSecond: 100,
    etaSeconds: kind === 'progress' ? 1 : 0,
    ...progress,
  };
  channel.sendToQueue(queue, Buffer.from(JSON.stringify(body)), {
    persistent: true,
    contentType: 'application/json',
    type: `strangler.snapshot.${kind}`,
    headers: { [CONTROL_HEADER]: `snapshot.${kind}`, [SNAPSHOT_ID_HEADER]: body.snapshotId },
  });
  await channel.waitForConfirms();
}

const queueName = (label: string): string => kit.queueName(label);

async function deadLetters(queue: string): Promise<amqp.GetMessage[]> {
  const check = await connection.createChannel();
  const found: amqp.GetMessage[] = [];
  for (let message = await check.get(`${queue}.dead`, { noAck: true }); message; message = await check.get(`${queue}.dead`, { noAck: true })) found.push(message);
  await check.close();
  return found;
}

/** Applies a batch in one transaction, with one bulk claim: what a service's batchHandler does. */
async function applyBatch(positions: AppliedPositions, changes: readonly ReceivedChange[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const fresh = await positions.claimMany(client, changes);
    const rows = changes.filter((_, i) => fresh[i]);
    await client.query(
      `INSERT INTO prices (value_id, value) SELECT * FROM unnest($1::int[], $2::numeric[])
       ON CONFLICT (value_id) DO UPDATE SET value = EXCLUDED.value`,
      [rows.map((change) => change.key?.value_id), rows.map((change) => change.event.after?.value)],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

beforeAll(async () => {
  await kit.start('cdc_consumer_batch');
  ({ pool, connection, channel } = kit);
});

afterAll(() => kit.cleanup());

describe('the consumer kit with snapshot batches', () => {
  it('when a batch message arrives, then batchHandler gets one change per row, positioned at commit_lsn and position + i, in one call', async () => {
    const queue = queueName('unpack');
    const calls: ReceivedChange[][] = [];
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      batchHandler: async (changes) => {
        calls.push([...changes]);
      },
    });
    try {
      await publishBatch(queue, '0/A000', 4, [
        [1, '1.00'],
        [2, '2.00'],
        [3, '3.00'],
      ]);
      await until(() => calls.length === 1, 'the batch');
      const [changes] = calls;
      expect(changes!.map((change) => [change.messageId, change.position.commitLsn.toString(), change.position.index, change.key, change.event.op])).toEqual([
        ['legacy:0/A000:4', '0/A000', 4, { value_id: 1 }, 'r'],
        ['legacy:0/A000:5', '0/A000', 5, { value_id: 2 }, 'r'],
        ['legacy:0/A000:6', '0/A000', 6, { value_id: 3 }, 'r'],
      ]);
      expect(changes!.every((change) => change.table === 'public.catalog_product_entity_decimal' && change.event.source.snapshot === 'incremental')).toBe(true);
      expect(consumer.stats.handled).toBe(3);
      expect(consumer.lastApplied?.position.index).toBe(6);
    } finally {
      await consumer.stop();
    }
  });

  it('when a snapshot row is older than a streamed change of the same row, then the bulk claim keeps the streamed value', async () => {
    const positions = new AppliedPositions({ tableName: 'applied_bulk' });
    await positions.ensureTable(pool);
    const queue = queueName('bulk-claim');
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      batchHandler: (changes) => applyBatch(positions, changes),
    });
    try {
      await publishLive('0/B500', 0, 12, '99.00'); // committed after the snapshot's high watermark
      await publishBatch(queue, '0/B000', 0, [
        [11, '11.00'],
        [12, '12.00'], // read before the streamed update above: must not overwrite it
        [13, '13.00'],
      ]);
      await publishBatch(queue, '0/B000', 0, [[11, '11.00']]); // a chunk published again: a duplicate
      await until(() => consumer.stats.handled === 5, 'every row');
      const { rows } = await pool.query<{ value_id: number; value: string }>('SELECT value_id, value::text FROM prices WHERE value_id BETWEEN 11 AND 13 ORDER BY value_id');
      expect(rows).toEqual([
        { value_id: 11, value: '11.00' },
        { value_id: 12, value: '99.00' },
        { value_id: 13, value: '13.00' },
      ]);
    } finally {
      await consumer.stop();
    }
  });

  it('claimMany within one batch takes only the newest change of a row as fresh, and skips rows older than a truncate', async () => {
    const positions = new AppliedPositions({ tableName: 'applied_many' });
    await positions.ensureTable(pool);
    const at = (lsn: string, index: number, valueId: number, op: 'r' | 'u' = 'u'): ReceivedChange => {
      const built = event(op, lsn, index, valueId, '1');
      return { event: built.event, table: 'public.catalog_product_entity_decimal', key: { value_id: valueId }, messageId: built.messageId, position: { commitLsn: Lsn.parse(lsn), index }, attempt: 1 };
    };
    const client = await pool.connect();
    try {
      expect(await positions.claimMany(client, [at('0/C000', 0, 1), at('0/C000', 1, 2), at('0/C100', 0, 1)])).toEqual([false, true, true]);
      expect(await positions.claimMany(client, [at('0/C000', 5, 1), at('0/C100', 0, 1), at('0/C200', 0, 3)])).toEqual([false, false, true]);
      await client.query(`INSERT INTO applied_many (source_table, row_key, commit_lsn, position) VALUES ('public.catalog_product_entity_decimal', '', '0/D000', 0)`);
      expect(await positions.claimMany(client, [at('0/CFFF', 0, 9), at('0/D001', 0, 9)])).toEqual([false, true]);
    } finally {
      client.release();
    }
  });

  it('when control messages arrive, then onControl gets them in order with the rows, and neither the handlers nor the dead-letter queue ever see one', async () => {
    const queue = queueName('control');
    const seen: string[] = [];
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      handler: async (change) => {
        seen.push(`change ${change.messageId}`);
      },
      onControl: (kind, progress) => {
        seen.push(`${kind} ${progress.snapshotId} ${progress.rowsEmitted}`);
      },
    });
    try {
      await publishBatch(queue, '0/E000', 0, [
        [1, '1.00'],
        [2, '2.00'],
      ]);
      await publishControl(queue, 'progress', { rowsEmitted: 2 });
      await publishBatch(queue, '0/E100', 0, [[3, '3.00']]);
      await publishControl(queue, 'completed', { rowsEmitted: 3 });
      await until(() => seen.length === 5, 'rows and control messages');
      // Without a batchHandler, a batch's rows reach the single-change handler one by one.
      expect(seen).toEqual(['change legacy:0/E000:0', 'change legacy:0/E000:1', 'progress snap-1 2', 'change legacy:0/E100:0', 'completed snap-1 3']);
      expect(consumer.stats).toMatchObject({ handled: 3, controls: 2, deadLettered: 0 });
      expect(await deadLetters(queue)).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it('when onControl fails, then the control message comes back until it succeeds (a completed is never lost)', async () => {
    const queue = queueName('control-retry');
    let calls = 0;
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      retryBackoff: { initialMs: 20, maxMs: 100 },
      handler: async () => undefined,
      onControl: () => {
        calls += 1;
        if (calls < 3) throw new Error('the store is briefly unavailable');
      },
    });
    try {
      await publishControl(queue, 'completed');
      await until(() => consumer.stats.controls === 1, 'the control message handled');
      expect(calls).toBe(3);
      expect(await deadLetters(queue)).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it('when a batch keeps failing, then it is retried as a whole message and dead-lettered whole after the last attempt, while later messages flow', async () => {
    const queue = queueName('batch-poison');
    const attempts: number[] = [];
    const applied: number[] = [];
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      maxAttempts: 3,
      retryBackoff: { initialMs: 20, maxMs: 100 },
      batchHandler: async (changes) => {
        if (changes.some((change) => change.key?.value_id === 13)) {
          attempts.push(changes[0]!.attempt);
          throw new Error('row 13 violates a constraint in the service');
        }
        applied.push(...changes.map((change) => Number(change.key?.value_id)));
      },
    });
    try {
      await publishBatch(queue, '0/F000', 0, [
        [12, '1.00'],
        [13, '2.00'],
      ]);
      await publishBatch(queue, '0/F000', 2, [[14, '3.00']]);
      await until(() => consumer.stats.deadLettered === 1, 'the failing batch dead-lettered');
      expect(attempts).toEqual([1, 2, 3]);
      expect(applied).toEqual([14]);
      const [dead] = await deadLetters(queue);
      expect(dead?.properties.headers?.[BATCH_HEADER]).toBe(2);
      expect(dead?.properties.headers?.['x-cdc-attempt']).toBe(3);
      expect((JSON.parse(dead!.content.toString()) as unknown[]).length).toBe(2);
    } finally {
      await consumer.stop();
    }
  });

  it('when live changes pile up and only a batchHandler is given, then they come in bursts, in order; a failing burst is handled again one by one', async () => {
    const queue = queueName('coalesce');
    const calls: number[][] = [];
    let failOnce = true;
    let gate: Promise<void> = Promise.resolve();
    let open: () => void = () => undefined;
    const close = () => {
      gate = new Promise<void>((resolve) => (open = resolve));
    };
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      retryBackoff: { initialMs: 20, maxMs: 100 },
      batchHandler: async (changes) => {
        const ids = changes.map((change) => Number(change.key?.value_id));
        await gate;
        // The first burst of more than one fails once: its changes must come back alone, in order.
        if (failOnce && ids.length > 1) {
          failOnce = false;
          throw new Error('a deadlock, say');
        }
        calls.push(ids);
      },
    });
    try {
      // Two waves, each published while the consumer is held up in a call, so that they pile up:
      // the first wave's burst fails once (and comes back one by one), the second's goes through.
      for (const [from, to] of [
        [1, 30],
        [31, 60],
      ] as const) {
        close();
        for (let id = from; id <= to; id += 1) await publishLive(`0/${(0x20000 + id).toString(16).toUpperCase()}`, 0, id, `${id}.00`);
        open();
        await until(() => consumer.stats.handled === to, `changes up to ${to}`);
      }
      expect(calls.flat()).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(calls.some((ids) => ids.length > 1), `calls: ${JSON.stringify(calls)}`).toBe(true);
      expect(consumer.stats.deadLettered).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it('when batches and live changes pile up, then they are coalesced into one call up to maxCoalesceRows, and a newer live change of a key still wins over its snapshot row', async () => {
    const queue = queueName('coalesce-batches');
    const positions = new AppliedPositions({ tableName: 'applied_coalesced' });
    await positions.ensureTable(pool);
    const calls: Array<Array<[string, number]>> = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let first = true;
    const consumer = await ChangeConsumer.start({
      amqpUrl,
      exchange,
      queue,
      tables: ['catalog_product_entity_decimal'],
      logger: silentLogger(),
      maxCoalesceRows: 4,
      batchHandler: async (changes) => {
        if (first) {
          first = false;
          await gate;
        }
        calls.push(changes.map((change) => [change.event.op, Number(change.key?.value_id)]));
        await applyBatch(positions, changes);
      },
    });
    try {
      // Held up in the first call while the rest piles up: a live change of 401 newer than the
      // snapshot (its commit after the high watermark 0/F000) arrives BEFORE the batch holding 401.
      await publishLive('0/E000', 0, 400, '0.00');
      await until(() => !first, 'the first call');
      await publishBatch(queue, '0/F000', 0, [
        [402, '2.00'],
        [403, '3.00'],
      ]);
      await publishLive('0/F100', 0, 401, '41.00');
      await publishBatch(queue, '0/F000', 2, [[401, '1.00']]);
      await publishBatch(queue, '0/F000', 3, [
        [404, '4.00'],
        [405, '5.00'],
      ]);
      open();
      await until(() => consumer.stats.handled === 7, 'every row');
      // 2 + 1 + 1 rows fit in 4; the last batch (2 rows) would not.
      expect(calls).toEqual([
        [['u', 400]],
        [
          ['r', 402],
          ['r', 403],
          ['u', 401],
          ['r', 401],
        ],
        [
          ['r', 404],
          ['r', 405],
        ],
      ]);
      const { rows } = await pool.query<{ value: string }>('SELECT value::text FROM prices WHERE value_id = 401');
      expect(rows[0]?.value).toBe('41.00');
      expect(consumer.stats.deadLettered).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});
