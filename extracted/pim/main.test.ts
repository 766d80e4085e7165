import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { inject } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { publishProductSnapshot, publishSnapshotControl, seedSnapshotId } from '../../cdc/consumer/testing/snapshot-publisher.ts';

// extracted/pim/main.ts as the stack launcher starts it: env in, JSON logs out, SIGTERM to stop.
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');
const suffix = randomBytes(4).toString('hex');
let database: TestDatabase;
let child: ChildProcess;
const output: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('pim_main');
  child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      PATH: process.env.PATH,
      PIM_DATABASE_URL: database.url,
      AMQP_URL: inject('amqpUrl'),
      PIM_PORT: '0',
      PIM_QUEUE: `pim.cdc.main.${suffix}`,
      CDC_EXCHANGE: `test.pim.main.${suffix}`,
      CDC_URL: 'off',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
});

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  const connection = await amqp.connect(inject('amqpUrl'));
  const channel = await connection.createChannel();
  for (const queue of [`pim.cdc.main.${suffix}`, `pim.cdc.main.${suffix}.retry`, `pim.cdc.main.${suffix}.dead`]) await channel.deleteQueue(queue).catch(() => undefined);
  await channel.deleteExchange(`test.pim.main.${suffix}`).catch(() => undefined);
  await connection.close();
  await database?.drop();
});

describe('the PIM process', () => {
  it('starts from its environment, answers /healthz and /readyz, and stops cleanly on SIGTERM', async () => {
    const deadline = Date.now() + 30_000;
    let port: number | undefined;
    while (port === undefined) {
      const match = /"port":(\d+),"store":"postgres","msg":"PIM listening"/.exec(output.join(''));
      if (match) port = Number(match[1]);
      else if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the PIM did not start: ${output.join('').slice(-2000)}`);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', store: 'postgres' });
    // An empty store asks for a snapshot and is not ready until it has been applied (no bridge runs here).
    const id = await seedSnapshotId(database.url);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('x-data-lsn')).toBe('0/0');
    expect(await ready.json()).toMatchObject({ ready: false, status: 'seeding', snapshot: { id, rowsEmitted: 0, rowsEstimated: null, percent: null, etaSeconds: null } });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('the PIM process stopped while seeding', () => {
  const fill = { exchange: `test.pim.fill.${suffix}`, queue: `pim.cdc.fill.${suffix}` };
  const total = 4000;
  const amqpUrl = inject('amqpUrl');
  let fillDatabase: TestDatabase;

  beforeAll(async () => {
    fillDatabase = await createTestDatabase('pim_fill');
  });

  afterAll(async () => {
    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    for (const queue of [fill.queue, `${fill.queue}.retry`, `${fill.queue}.dead`]) await channel.deleteQueue(queue).catch(() => undefined);
    await channel.deleteExchange(fill.exchange).catch(() => undefined);
    await connection.close();
    await fillDatabase?.drop();
  });

  function start() {
    const lines: string[] = [];
    const process_ = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        PATH: process.env.PATH,
        PIM_DATABASE_URL: fillDatabase.url,
        AMQP_URL: amqpUrl,
        PIM_PORT: '0',
        PIM_QUEUE: fill.queue,
        CDC_EXCHANGE: fill.exchange,
        CDC_URL: 'off',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    process_.stdout.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    process_.stderr.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => process_.once('exit', (code) => resolve(code)));
    const port = async (): Promise<number> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const match = /"port":(\d+),"store":"postgres","msg":"PIM listening"/.exec(lines.join(''));
        if (match) return Number(match[1]);
        if (Date.now() > deadline || process_.exitCode !== null) throw new Error(`the PIM did not start: ${lines.join('').slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    return { process_, exited, port, output: () => lines.join('') };
  }

  async function count(sql: string): Promise<number> {
    const client = new pg.Client({ connectionString: fillDatabase.url });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
    } catch {
      return 0; // not migrated yet
    } finally {
      await client.end();
    }
  }

  async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('when SIGTERM arrives while seeding, then the PIM exits 0 within 3 s, the next start follows the same snapshot, and documents are built when it completes', async () => {
    const first = start();
    const firstPort = await first.port();
    const snapshotId = await seedSnapshotId(fillDatabase.url);
    // The bridge's part, by hand: the snapshot's rows in batches, progress after the first half.
    await publishProductSnapshot({ amqpUrl, queue: fill.queue, snapshotId, from: 1, to: total / 2 });
    await publishSnapshotControl({ amqpUrl, queue: fill.queue, kind: 'progress', snapshotId, rowsEmitted: total / 2, rowsEstimated: total, etaSeconds: 2 });
    await publishProductSnapshot({ amqpUrl, queue: fill.queue, snapshotId, from: total / 2 + 1, to: total });
    const deadline = Date.now() + 30_000;
    let seeding = (await readyz(firstPort)).body;
    while ((seeding.snapshot as { rowsEmitted?: number } | null)?.rowsEmitted !== total / 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seeding = (await readyz(firstPort)).body;
    }
    expect(seeding).toMatchObject({ ready: false, status: 'seeding', snapshot: { id: snapshotId, rowsEmitted: 2000, rowsEstimated: 4000, percent: 50, etaSeconds: 2 } });
    // While seeding, rows land raw; documents wait for the end of the snapshot.
    expect(await count('SELECT count(*) AS n FROM pim_raw_entity')).toBeGreaterThanOrEqual(total / 2);
    expect(await count('SELECT count(*) AS n FROM pim_document')).toBe(0);
    const sentAt = Date.now();
    first.process_.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - sentAt, first.output()).toBeLessThan(3000);

    const second = start();
    const port = await second.port();
    expect(await seedSnapshotId(fillDatabase.url)).toBe(snapshotId);
    // It listens before it has read its seeding marker, and says `starting` until then.
    let restarted = await readyz(port);
    while (restarted.body.status === 'starting' && Date.now() - sentAt < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      restarted = await readyz(port);
    }
    expect(restarted).toMatchObject({ status: 503, body: { status: 'seeding', snapshot: { id: snapshotId } } });
    await publishSnapshotControl({ amqpUrl, queue: fill.queue, kind: 'completed', snapshotId, rowsEmitted: total, rowsEstimated: total, etaSeconds: 0 });
    const readyDeadline = Date.now() + 60_000;
    let ready = await readyz(port);
    while (ready.status !== 200 && Date.now() < readyDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await readyz(port);
    }
    expect(ready.status, second.output().slice(-2000)).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', snapshot: null });
    expect(await count('SELECT count(*) AS n FROM pim_raw_entity')).toBe(total);
    expect(await count('SELECT count(*) AS n FROM pim_document')).toBe(total);
    expect(second.output()).toContain('following the same snapshot');
    second.process_.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
