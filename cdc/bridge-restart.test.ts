import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdcFixture } from './testing/cdc-fixture.ts';
import { BridgeProcess } from './testing/bridge-process.ts';

let fixture: CdcFixture;
const processes: BridgeProcess[] = [];

const ROWS = 10_000; // inserted, then each updated once: 20,000 changes
const ROWS_PER_TRANSACTION = 100;

beforeAll(async () => {
  fixture = await CdcFixture.create('restart', { migrateLegacy: false });
  await fixture.query('CREATE TABLE workload (id int PRIMARY KEY, n int NOT NULL, label text NOT NULL)');
  await fixture.listen();
});

afterAll(async () => {
  for (const bridge of processes) {
    bridge.kill('SIGKILL');
    await bridge.exited;
  }
  await fixture?.cleanup();
});

/** Promise.withResolvers, which Node 20 lacks. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function start(): BridgeProcess {
  const bridge = BridgeProcess.start(fixture.config({ tables: ['workload'], backoffMaxMs: 500 }));
  processes.push(bridge);
  return bridge;
}

describe('at-least-once across crashes', () => {
  it('when the bridge is killed (SIGKILL) and stopped (SIGTERM) repeatedly during a 20,000-change workload, then every committed change arrives, duplicates carry the same message_id', async () => {
    let bridge = start();
    await bridge.waitUntilStreaming();

    // The crashes are tied to the workload's progress, not to the clock, so that on a slow machine
    // they still fall inside it: after transaction 40, 100 and 160 of 100 + 100 (inserts, then
    // updates) the bridge is stopped; the workload goes on while it is down, and waits at the next
    // crash point until the previous crash's bridge is streaming again.
    const crashPoints = [40, 100, 160];
    const reached = crashPoints.map(() => deferred());
    const restarted = crashPoints.map(() => deferred());
    let workloadDone = false;
    const statements: Array<[string, number[]]> = [];
    for (let first = 1; first <= ROWS; first += ROWS_PER_TRANSACTION) {
      statements.push([
        `INSERT INTO workload (id, n, label) SELECT g, 0, 'row ' || g FROM generate_series($1::int, $2::int) g`,
        [first, first + ROWS_PER_TRANSACTION - 1],
      ]);
    }
    for (let first = 1; first <= ROWS; first += ROWS_PER_TRANSACTION) {
      statements.push(['UPDATE workload SET n = n + 1 WHERE id BETWEEN $1 AND $2', [first, first + ROWS_PER_TRANSACTION - 1]]);
    }
    const workload = (async () => {
      for (const [index, [sql, params]] of statements.entries()) {
        const crash = crashPoints.indexOf(index);
        if (crash > 0) await restarted[crash - 1]!.promise;
        await fixture.query(sql, params);
        if (crash >= 0) reached[crash]!.resolve();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      workloadDone = true;
    })();

    // Crash it twice with SIGKILL and stop it once with SIGTERM while the workload runs.
    const exits: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];
    let stopsDuringWorkload = 0;
    for (const [crash, signal] of (['SIGKILL', 'SIGTERM', 'SIGKILL'] as const).entries()) {
      await reached[crash]!.promise;
      if (!workloadDone) stopsDuringWorkload += 1;
      bridge.kill(signal);
      exits.push(await bridge.exited);
      bridge = start();
      await bridge.waitUntilStreaming();
      restarted[crash]!.resolve();
    }
    await workload;

    await fixture.waitFor((messages) => {
      const ids = new Set(messages.map((m) => m.messageId));
      return ids.size >= 2 * ROWS;
    }, 45_000, 'all 20,000 changes');

    expect(exits.map((exit) => exit.signal ?? exit.code)).toEqual(['SIGKILL', 0, 'SIGKILL']);
    expect(stopsDuringWorkload).toBe(3);

    // Compare with the database: every row's insert and update arrived.
    const rows = await fixture.query<{ id: number; n: number; label: string }>('SELECT id, n, label FROM workload ORDER BY id');
    expect(rows).toHaveLength(ROWS);
    const created = new Map<number, Record<string, unknown>>();
    const updated = new Map<number, Record<string, unknown>>();
    const bodyById = new Map<string, string>();
    for (const message of fixture.received) {
      const after = message.body.after!;
      if (message.body.op === 'c') created.set(after.id as number, after);
      if (message.body.op === 'u') updated.set(after.id as number, after);
      // A re-published change has the same id and the same row data.
      const data = JSON.stringify([message.body.op, message.body.before, message.body.after, message.body.source.lsn]);
      const seen = bodyById.get(message.messageId);
      if (seen !== undefined) expect(seen).toBe(data);
      bodyById.set(message.messageId, data);
    }
    for (const row of rows) {
      expect(created.get(row.id)).toEqual({ id: row.id, n: 0, label: row.label });
      expect(updated.get(row.id)).toEqual({ id: row.id, n: row.n, label: row.label });
    }
    expect(bodyById.size).toBe(2 * ROWS);
    // The unconfirmed tail re-published after each crash (informative; may be 0 if a kill fell between transactions).
    process.stdout.write(`restart test: ${fixture.received.length - bodyById.size} duplicate deliveries\n`);

    bridge.kill('SIGTERM');
    expect((await bridge.exited).code).toBe(0);
  }, 90_000);
});
