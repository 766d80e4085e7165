import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdcBridge } from '../bridge.ts';
import { CdcFixture, eventually } from '../testing/cdc-fixture.ts';
import { TestTarget } from './test-target.ts';
import { buildSnapshotRequest, readSnapshot, writeSignal } from './snapshot-request.ts';

describe('snapshot batches the broker refuses', () => {
  let fixture: CdcFixture;
  let bridge: CdcBridge;
  let target: TestTarget | undefined;

  beforeAll(async () => {
    fixture = await CdcFixture.create('snapshot_nack', { migrateLegacy: false });
    await fixture.query('CREATE TABLE nack_item (id integer PRIMARY KEY, label text)');
    await fixture.query(`INSERT INTO nack_item SELECT g, 'row ' || g FROM generate_series(1, 50) g`);
    bridge = new CdcBridge({ config: fixture.config({ tables: ['nack_item'], snapshotChunkSize: 20 }), logger: fixture.logger });
    bridge.start().catch(() => undefined);
    await bridge.waitUntilActive();
  }, 60_000);

  afterAll(async () => {
    await target?.close();
    await bridge?.stop();
    await fixture?.cleanup();
  });

  it('are never counted as done: the bridge reconnects and, once the target accepts again, the snapshot completes with every row', async () => {
    // A target queue that refuses everything: the broker nacks every batch published to it.
    const queue = `test.snap.${fixture.suffix}.full`;
    const connection = await amqp.connect(fixture.amqpUrl);
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });

    const request = buildSnapshotRequest({ target: queue, tables: ['nack_item'] });
    await writeSignal(fixture.pool, request);
    await eventually(() => bridge.status().sessions >= 3, 30_000, 'sessions ended by the refused batches');
    const refused = await readSnapshot(fixture.pool, request.id);
    expect(refused?.state).toBe('running');
    expect(refused?.rowsEmitted).toBe(0);

    await channel.deleteQueue(queue);
    await connection.close();
    target = await TestTarget.create({ amqpUrl: fixture.amqpUrl, queue, exchange: fixture.names.exchange, bindingKeys: [] });
    const end = await target.waitForEnd(request.id, 60_000);
    expect(end.kind).toBe('completed');
    expect(target.table('public.nack_item').size).toBe(50);
    expect(bridge.status().state).toBe('active');
  }, 120_000);
});
