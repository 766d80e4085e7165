import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdcBridge } from '../bridge.ts';
import { CdcFixture } from '../testing/cdc-fixture.ts';
import { TestTarget } from './test-target.ts';
import { buildSnapshotRequest, buildStopSnapshot, readSnapshot, requestSnapshot, waitForSnapshot, writeSignal } from './snapshot-request.ts';

const ITEMS = 3000;

/** snap_item as the target should hold it: id → the columns a consumer would store. */
async function legacyItems(fixture: CdcFixture): Promise<Map<number, { price: string | null; active: boolean | null; doc: string | null; note: string | null }>> {
  const rows = await fixture.query<{ id: number; price: string | null; active: boolean | null; doc: string | null; note: string | null }>(
    'SELECT id, price::text AS price, active, doc::text AS doc, note FROM snap_item ORDER BY id',
  );
  return new Map(rows.map((row) => [row.id, { price: row.price, active: row.active, doc: row.doc, note: row.note }]));
}

function storedItems(target: TestTarget): Map<number, { price: string | null; active: boolean | null; doc: string | null; note: string | null }> {
  const result = new Map<number, { price: string | null; active: boolean | null; doc: string | null; note: string | null }>();
  for (const row of target.table('public.snap_item').values()) {
    result.set(row.id as number, { price: row.price as string | null, active: row.active as boolean | null, doc: row.doc as string | null, note: row.note as string | null });
  }
  return new Map([...result.entries()].sort((a, b) => a[0] - b[0]));
}

describe('incremental snapshot (DBLog watermarks) in the bridge', () => {
  let fixture: CdcFixture;
  let bridge: CdcBridge;
  const targets: TestTarget[] = [];

  const target = async (name: string, live: boolean): Promise<TestTarget> => {
    const created = await TestTarget.create({
      amqpUrl: fixture.amqpUrl,
      queue: `test.snap.${fixture.suffix}.${name}`,
      exchange: fixture.names.exchange,
      bindingKeys: live ? ['legacy.public.snap_item', 'legacy.public.snap_pair'] : [],
    });
    targets.push(created);
    return created;
  };

  beforeAll(async () => {
    fixture = await CdcFixture.create('snapshot', { migrateLegacy: false });
    await fixture.query(`CREATE TABLE snap_item (
      id integer PRIMARY KEY, price numeric(12, 4), active boolean, doc jsonb, updated timestamp, seen timestamptz, note text)`);
    // Written before the bridge (and its slot) existed: only a snapshot can bring these rows.
    await fixture.query(
      `INSERT INTO snap_item
       SELECT g, g * 1.5, g % 2 = 0, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g)),
              timestamp '2024-01-01 00:00:00.123456' + g * interval '1 second', timestamptz '2024-01-01 00:00:00+02' + g * interval '1 minute', 'row ' || g
         FROM generate_series(1, $1) g`,
      [ITEMS],
    );
    await fixture.query('CREATE TABLE snap_pair (a integer, b text, v integer, PRIMARY KEY (a, b))');
    await fixture.query(`INSERT INTO snap_pair SELECT g / 3, 'k' || (g % 3), g FROM generate_series(0, 499) g`);
    await fixture.query('ANALYZE snap_item, snap_pair');
    bridge = new CdcBridge({
      config: fixture.config({ tables: ['snap_item', 'snap_pair'], snapshotChunkSize: 250, snapshotBatchRows: 40 }),
      logger: fixture.logger,
    });
    bridge.start().catch(() => undefined);
    await bridge.waitUntilActive();
    await fixture.listen('#');
  }, 60_000);

  afterAll(async () => {
    for (const created of targets) await created.close();
    await bridge?.stop();
    await fixture?.cleanup();
  });

  it('with inserts, updates and deletes on the same keys during the snapshot, the target ends equal to the table', async () => {
    const pim = await target('pim', true);
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        const id = 1 + Math.floor(Math.random() * (ITEMS + 300));
        const dice = Math.random();
        if (dice < 0.5) await fixture.query(`UPDATE snap_item SET price = price + 1, note = $2 WHERE id = $1`, [id, `write ${writes}`]);
        else if (dice < 0.75) await fixture.query('DELETE FROM snap_item WHERE id = $1', [id]);
        else {
          await fixture.query(
            `INSERT INTO snap_item (id, price, active, doc, note) VALUES ($1, 9.99, true, '{"new": true}', $2)
             ON CONFLICT (id) DO UPDATE SET note = EXCLUDED.note, active = NOT snap_item.active`,
            [id, `insert ${writes}`],
          );
        }
        writes += 1;
      }
    })();
    const request = buildSnapshotRequest({ target: pim.queue, tables: ['snap_item'] });
    expect(await writeSignal(fixture.pool, request)).toBe(true);
    expect(await writeSignal(fixture.pool, request)).toBe(false); // the same request twice is one snapshot

    const end = await pim.waitForEnd(request.id, 120_000);
    const writesDuringSnapshot = writes;
    writing = false;
    await writer;
    // Everything written so far has reached the target once a last marker write has.
    await fixture.query(`UPDATE snap_item SET note = 'marker' WHERE id = (SELECT min(id) FROM snap_item)`);
    await pim.waitFor(() => [...pim.table('public.snap_item').values()].some((row) => row.note === 'marker'), 30_000, 'the marker write');

    expect(end.kind).toBe('completed');
    expect(writesDuringSnapshot).toBeGreaterThan(20);
    expect(pim.errors).toEqual([]);
    const snapshotRows = pim.changes.filter((change) => change.event.op === 'r');
    expect(snapshotRows.length).toBeGreaterThan(ITEMS / 2);
    expect(snapshotRows.every((change) => change.event.source.snapshot === 'incremental')).toBe(true);
    expect(storedItems(pim)).toEqual(await legacyItems(fixture));

    const record = await readSnapshot(fixture.pool, request.id);
    expect(record).toMatchObject({ state: 'completed', target: pim.queue, tables: [{ table: 'snap_item', done: true }] });
    expect(record!.rowsEmitted).toBe(snapshotRows.length);
    expect(end.progress.rowsEmitted).toBe(snapshotRows.length);
    expect(bridge.status().snapshots.find((progress) => progress.snapshotId === request.id)?.state).toBe('completed');
  }, 180_000);

  it("sends a snapshot only to the requesting target's queue, never to the topic exchange, the history stream or another service", async () => {
    const requesting = await target('requesting', true);
    const other = await target('other', true);
    // Through the AMQP signal queue, as a service without legacy-database access asks.
    const request = await requestSnapshot({
      amqpUrl: fixture.amqpUrl,
      request: { target: requesting.queue, tables: ['snap_pair'] },
      queue: fixture.names.signalQueue,
    });
    const end = await requesting.waitForEnd(request.id);
    await fixture.query(`INSERT INTO snap_pair VALUES (9999, 'after', 1)`);
    await other.waitFor(() => other.changes.some((change) => change.event.op === 'c'), 15_000, 'a live change');

    expect(end.kind).toBe('completed');
    expect(requesting.table('public.snap_pair').size).toBe(501);
    const batches = requesting.messages.filter((message) => message.kind === 'batch');
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((message) => message.exchange === '' && message.routingKey === requesting.queue)).toBe(true);
    expect(other.messages.filter((message) => message.kind !== 'change')).toEqual([]);
    expect(other.changes.map((change) => change.event.op)).toEqual(['c']);
    expect(fixture.received.filter((message) => message.body.op === 'r' || message.headers['x-strangler-snapshot'] !== undefined)).toEqual([]);
    // Signal-table rows are the bridge's own business: not published either.
    expect(fixture.received.filter((message) => message.routingKey.includes('strangler_cdc_signal'))).toEqual([]);
  }, 60_000);

  it('a snapshot row carries exactly the values the stream carries for the same row', async () => {
    const mapping = await target('mapping', true);
    await fixture.query(
      `INSERT INTO snap_item (id, price, active, doc, updated, seen, note)
       VALUES (7001, 12345678.1234, false, '{"b": [1, 2.50, null], "a": "x"}', '2024-02-29 23:59:59.000001', '1999-12-31 23:00:00.5-03', NULL)`,
    );
    await mapping.waitFor(() => mapping.changes.some((change) => change.event.op === 'c'), 15_000, 'the streamed insert');
    const request = buildSnapshotRequest({ target: mapping.queue, tables: ['snap_item'], keys: [{ id: 7001 }] });
    await writeSignal(fixture.pool, request);
    await mapping.waitForEnd(request.id);
    const streamed = mapping.changes.find((change) => change.event.op === 'c')!;
    const snapshotted = mapping.changes.find((change) => change.event.op === 'r')!;
    expect(snapshotted.event.after).toEqual(streamed.event.after);
    expect(snapshotted.key).toEqual(streamed.key);
    expect(snapshotted.event.after).toMatchObject({ price: '12345678.1234', active: false, updated: 1709251199000001, seen: '2000-01-01T02:00:00.5Z' });
    // Positioned after the streamed insert: the position guard keeps the newer of the two.
    expect(snapshotted.position.commitLsn.isAfter(streamed.position.commitLsn)).toBe(true);
  }, 60_000);

  it('a keys-limited snapshot publishes the given rows and a delete for a key that no longer exists; a where condition limits the rows', async () => {
    const repair = await target('repair', false);
    await fixture.query(`INSERT INTO snap_item (id, price, note) VALUES (8001, 1, 'kept'), (8002, 2, 'kept') ON CONFLICT (id) DO NOTHING`);
    const request = buildSnapshotRequest({ target: repair.queue, tables: ['snap_item'], keys: [{ id: 8002 }, { id: 8001 }, { id: 8999 }] });
    await writeSignal(fixture.pool, request);
    expect((await repair.waitForEnd(request.id)).kind).toBe('completed');
    expect(repair.changes.map((change) => [change.event.op, change.key])).toEqual([
      ['r', { id: 8001 }],
      ['r', { id: 8002 }],
      ['d', { id: 8999 }],
    ]);
    const deleted = repair.changes[2]!.event;
    expect(deleted.before).toEqual({ id: 8999 });
    expect(deleted.after).toBeNull();

    const ranged = await target('ranged', false);
    const where = buildSnapshotRequest({ target: ranged.queue, tables: ['snap_item'], where: 'id BETWEEN 100 AND 349', chunkSize: 100 });
    await writeSignal(fixture.pool, where);
    const record = await waitForSnapshot(fixture.pool, where.id, { timeoutMs: 30_000, pollMs: 100 });
    const [counted] = await fixture.query<{ count: string }>('SELECT count(*)::text AS count FROM snap_item WHERE id BETWEEN 100 AND 349');
    expect(record.state).toBe('completed');
    expect(ranged.table('public.snap_item').size).toBe(Number(counted?.count));
    expect([...ranged.table('public.snap_item').values()].every((row) => (row.id as number) >= 100 && (row.id as number) <= 349)).toBe(true);
  }, 60_000);

  it('a stop-snapshot signal cancels a running snapshot; the target learns it from a cancelled message', async () => {
    const slow = await target('cancel', false);
    const request = buildSnapshotRequest({ target: slow.queue, tables: ['snap_item'], chunkSize: 10 });
    await writeSignal(fixture.pool, request);
    await slow.waitFor(() => slow.controls.some((control) => control.kind === 'progress'), 30_000, 'progress');
    await writeSignal(fixture.pool, buildStopSnapshot(request.id));
    const end = await slow.waitForEnd(request.id);
    expect(end.kind).toBe('cancelled');
    expect((await readSnapshot(fixture.pool, request.id))?.state).toBe('cancelled');
    const rows = slow.changes.length;
    expect(rows).toBeLessThan(ITEMS / 2);
    expect(end.progress.rowsEmitted).toBe(rows);
  }, 60_000);

  it('fails a request for a target queue that does not exist, and drops an invalid message on the signal queue without stopping', async () => {
    const connection = await amqp.connect(fixture.amqpUrl);
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue(fixture.names.signalQueue, Buffer.from('{"type":"execute-snapshot","tables":[]}'));
    channel.sendToQueue(fixture.names.signalQueue, Buffer.from('not json'));
    await channel.waitForConfirms();
    await connection.close();
    const request = await requestSnapshot({
      amqpUrl: fixture.amqpUrl,
      request: { target: `test.snap.${fixture.suffix}.nobody`, tables: ['snap_item'] },
      queue: fixture.names.signalQueue,
    });
    const record = await waitForSnapshot(fixture.pool, request.id, { timeoutMs: 30_000, pollMs: 100 });
    expect(record.state).toBe('failed');
    expect(record.error).toMatch(/does not exist/);
    expect(bridge.status().state).toBe('active');
  }, 60_000);
});

