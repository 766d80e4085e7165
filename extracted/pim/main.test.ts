import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { inject } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { publishProductHistory } from '../../cdc/testing/history-stream.ts';

// extracted/pim/main.ts as the stack launcher starts it: env in, JSON logs out, SIGTERM to stop.
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');
const suffix = randomBytes(4).toString('hex');
let database: TestDatabase;
let child: ChildProcess;
const output: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('pim_main');
  // The bridge's stream, empty: the PIM waits for it before it calls itself ready.
  const connection = await amqp.connect(inject('amqpUrl'));
  const channel = await connection.createChannel();
  await channel.assertQueue(`test.pim.main.log.${suffix}`, { durable: true, arguments: { 'x-queue-type': 'stream' } });
  await connection.close();
  child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      PATH: process.env.PATH,
      PIM_DATABASE_URL: database.url,
      AMQP_URL: inject('amqpUrl'),
      PIM_PORT: '0',
      PIM_QUEUE: `pim.cdc.main.${suffix}`,
      CDC_EXCHANGE: `test.pim.main.${suffix}`,
      CDC_STREAM: `test.pim.main.log.${suffix}`,
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
  for (const queue of [`pim.cdc.main.${suffix}`, `pim.cdc.main.${suffix}.retry`, `pim.cdc.main.${suffix}.dead`, `test.pim.main.log.${suffix}`]) await channel.deleteQueue(queue).catch(() => undefined);
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
    // An empty stream and an empty queue: ready once the stream was read and the queue is followed.
    const readyDeadline = Date.now() + 15_000;
    let ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    while (ready.status !== 200 && Date.now() < readyDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    }
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-data-lsn')).toBe('0/0');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('the PIM process stopped during its first fill', () => {
  const fill = { exchange: `test.pim.fill.${suffix}`, stream: `test.pim.fill.log.${suffix}`, queue: `pim.cdc.fill.${suffix}` };
  const total = 4000;
  let fillDatabase: TestDatabase;

  beforeAll(async () => {
    fillDatabase = await createTestDatabase('pim_fill');
    // A history stream as the bridge leaves it: product inserts, one transaction each.
    await publishProductHistory({ amqpUrl: inject('amqpUrl'), exchange: fill.exchange, stream: fill.stream, count: total });
  });

  afterAll(async () => {
    const connection = await amqp.connect(inject('amqpUrl'));
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    for (const queue of [fill.queue, `${fill.queue}.retry`, `${fill.queue}.dead`, fill.stream]) await channel.deleteQueue(queue).catch(() => undefined);
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
        AMQP_URL: inject('amqpUrl'),
        PIM_PORT: '0',
        PIM_QUEUE: fill.queue,
        CDC_EXCHANGE: fill.exchange,
        CDC_STREAM: fill.stream,
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

  async function products(): Promise<number> {
    const client = new pg.Client({ connectionString: fillDatabase.url });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM pim_raw_entity')).rows[0]!.n);
    } catch {
      return 0; // not migrated yet
    } finally {
      await client.end();
    }
  }

  it('when SIGTERM arrives during the initial fill, then the PIM exits 0 within 3 s and the next start completes the fill', async () => {
    const first = start();
    await first.port();
    const deadline = Date.now() + 30_000;
    while ((await products()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const sentAt = Date.now();
    first.process_.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - sentAt, first.output()).toBeLessThan(3000);
    const afterStop = await products();
    expect(afterStop).toBeGreaterThan(0);
    expect(afterStop, 'the fill had already finished: the stop was not during the fill').toBeLessThan(total);

    const second = start();
    const port = await second.port();
    const readyDeadline = Date.now() + 60_000;
    let ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    while (ready.status !== 200 && Date.now() < readyDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    }
    expect(ready.status, second.output().slice(-2000)).toBe(200);
    expect(await products()).toBe(total);
    second.process_.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
