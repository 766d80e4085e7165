import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeProcess } from '../testing/bridge-process.ts';
import { CdcFixture, eventually } from '../testing/cdc-fixture.ts';
import { TestTarget } from './test-target.ts';
import { buildSnapshotRequest, readSnapshot, writeSignal } from './snapshot-request.ts';

const ROWS = 20_000;
const CHUNK = 200;

describe('an incremental snapshot survives kill -9 of the bridge', () => {
  let fixture: CdcFixture;
  let target: TestTarget;
  const processes: BridgeProcess[] = [];

  beforeAll(async () => {
    fixture = await CdcFixture.create('snapshot_resume', { migrateLegacy: false });
    await fixture.query('CREATE TABLE snap_big (id integer PRIMARY KEY, qty integer NOT NULL, label text)');
    await fixture.query(`INSERT INTO snap_big SELECT g, g % 97, 'label ' || g FROM generate_series(1, $1) g`, [ROWS]);
    // A second table: after the resumed first one it must start at its own first key.
    await fixture.query('CREATE TABLE snap_small (id integer PRIMARY KEY, label text)');
    await fixture.query(`INSERT INTO snap_small SELECT g, 'small ' || g FROM generate_series(1, 300) g`);
    await fixture.query('ANALYZE snap_big, snap_small');
  }, 60_000);

  afterAll(async () => {
    for (const bridge of processes) bridge.kill('SIGKILL');
    await Promise.all(processes.map((bridge) => bridge.exited));
    await target?.close();
    await fixture?.cleanup();
  });

  it('resumes from the chunk after the last completed one and completes; the target ends equal to the tables', async () => {
    const config = fixture.config({ tables: ['snap_big', 'snap_small'], snapshotChunkSize: CHUNK });
    const first = BridgeProcess.start(config);
    processes.push(first);
    await first.waitUntilStreaming(60_000);
    target = await TestTarget.create({
      amqpUrl: fixture.amqpUrl,
      queue: `test.snap.${fixture.suffix}.resume`,
      exchange: fixture.names.exchange,
      bindingKeys: ['legacy.public.snap_big', 'legacy.public.snap_small'],
    });
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const id = 1 + Math.floor(Math.random() * ROWS);
        await fixture.query('UPDATE snap_big SET qty = qty + 1 WHERE id = $1', [id]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    const request = buildSnapshotRequest({ target: target.queue, tables: ['snap_big', 'snap_small'] });
    await writeSignal(fixture.pool, request);
    await eventually(async () => ((await readSnapshot(fixture.pool, request.id))?.rowsEmitted ?? 0) >= 5 * CHUNK, 60_000, 'a few completed chunks');
    first.kill('SIGKILL');
    await first.exited;
    const atKill = (await readSnapshot(fixture.pool, request.id))!;
    expect(atKill.state).toBe('running');
    expect(atKill.rowsEmitted).toBeLessThan(ROWS);

    const second = BridgeProcess.start(config);
    processes.push(second);
    const end = await target.waitForEnd(request.id, 120_000);
    writing = false;
    await writer;
    await fixture.query(`UPDATE snap_big SET label = 'marker' WHERE id = 1`);
    await target.waitFor(() => target.table('public.snap_big').get('[["id",1]]')?.label === 'marker', 30_000, 'the marker write');

    expect(end.kind).toBe('completed');
    expect(second.output.join('')).toContain('snapshot resumed after the last completed chunk');
    const legacy = await fixture.query<{ id: number; qty: number; label: string }>('SELECT id, qty, label FROM snap_big ORDER BY id');
    const stored = [...target.table('public.snap_big').values()]
      .map((row) => ({ id: row.id as number, qty: row.qty as number, label: row.label as string }))
      .sort((a, b) => a.id - b.id);
    expect(stored).toEqual(legacy);
    expect(target.table('public.snap_small').size).toBe(300);
    // Not from scratch: at most the two chunks in flight at the kill (one awaiting its confirms
    // while the next is read) were sent twice.
    const snapshotRows = target.changes.filter((change) => change.event.op === 'r').length;
    expect(snapshotRows).toBeLessThanOrEqual(ROWS + 300 + 2 * CHUNK);
    expect(target.errors).toEqual([]);
  }, 240_000);
});
