import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { inject } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { publishProductHistory } from '../../cdc/testing/history-stream.ts';

// extracted/pricing/main.ts as the stack launcher runs it: `node --import tsx`, configured by environment only.

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');
const suffix = randomBytes(4).toString('hex');
const queue = `pricing.cdc.main.${suffix}`;
const fill = { exchange: `test.pricing.fill.${suffix}`, stream: `test.pricing.fill.log.${suffix}`, queue: `pricing.cdc.fill.${suffix}` };
let db: TestDatabase;
let fillDb: TestDatabase | undefined;

beforeAll(async () => {
  db = await createTestDatabase('pricing_main');
});
afterAll(async () => {
  const connection = await amqp.connect(inject('amqpUrl'));
  for (const name of [queue, `${queue}.retry`, `${queue}.dead`, fill.stream, fill.queue, `${fill.queue}.retry`, `${fill.queue}.dead`]) {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.deleteQueue(name).catch(() => undefined);
  }
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  await channel.deleteExchange(`test.pricing.${suffix}`).catch(() => undefined);
  await channel.deleteExchange(fill.exchange).catch(() => undefined);
  await connection.close();
  await db?.drop();
  await fillDb?.drop();
});

/** Waits for the "listening" log line and returns the port. */
async function listeningPort(process_: ReturnType<typeof run>): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const match = /"port":(\d+),"msg":"pricing service listening/.exec(process_.output());
    if (match) return Number(match[1]);
    if (Date.now() > deadline) throw new Error(`no listening line: ${process_.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A history stream as the bridge leaves it: `count` product inserts, one transaction each. */
function publishHistory(count: number): Promise<void> {
  return publishProductHistory({ amqpUrl: inject('amqpUrl'), exchange: fill.exchange, stream: fill.stream, count });
}

async function productCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM product')).rows[0]!.n);
  } catch {
    return 0; // not migrated yet
  } finally {
    await client.end();
  }
}

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('the pricing service process', () => {
  it('starts from its environment, answers /healthz and /readyz with X-Data-Lsn, and exits 0 on SIGTERM', async () => {
    const process_ = run({
      PRICING_DATABASE_URL: db.url,
      PRICING_PORT: '0',
      AMQP_URL: inject('amqpUrl'),
      CDC_EXCHANGE: `test.pricing.${suffix}`,
      CDC_STREAM: `test.pricing.log.${suffix}`,
      PRICING_QUEUE: queue,
      CDC_PORT: '9',
      LOG_LEVEL: 'info',
    });
    const deadline = Date.now() + 30_000;
    let port: number | undefined;
    while (port === undefined) {
      const match = /"port":(\d+),"msg":"pricing service listening/.exec(process_.output());
      if (match) port = Number(match[1]);
      else if (Date.now() > deadline) throw new Error(`no listening line: ${process_.output()}`);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-data-lsn')).toBe('0/0');
    expect(await health.json()).toMatchObject({ status: 'ok', appliedLsn: null, bridge: { reachable: false } });
    // An empty stream and an empty queue: nothing to catch up with.
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i += 1) {
      ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ready).toBe(200);
    process_.child.kill('SIGTERM');
    expect(await process_.exited).toBe(0);
  });

  it('when RabbitMQ cannot be reached within PRICING_BROKER_WAIT_SECONDS, then it exits 1 with PRICING_BROKER_UNAVAILABLE', async () => {
    const process_ = run({ PRICING_DATABASE_URL: db.url, PRICING_PORT: '0', AMQP_URL: 'amqp://guest:guest@127.0.0.1:9', PRICING_BROKER_WAIT_SECONDS: '1', PRICING_QUEUE: queue });
    expect(await process_.exited).toBe(1);
    expect(process_.output()).toContain('PRICING_BROKER_UNAVAILABLE');
  });

  it('when the pricing database cannot be reached, then it exits 1 with PRICING_STORE_UNAVAILABLE', async () => {
    const process_ = run({ PRICING_DATABASE_URL: 'postgres://postgres@127.0.0.1:9/pricing', PRICING_PORT: '0' });
    expect(await process_.exited).toBe(1);
    expect(process_.output()).toContain('PRICING_STORE_UNAVAILABLE');
  });

  it('when PRICING_DATABASE_URL is missing, then it exits 1 with the code and a remedy', async () => {
    const process_ = run({ PRICING_PORT: '0' });
    expect(await process_.exited).toBe(1);
    expect(process_.output()).toContain('PRICING_CONFIG_INVALID');
    expect(process_.output()).toContain('PRICING_DATABASE_URL is not set');
  });

  it('when SIGTERM arrives during the initial fill from the history stream, then it exits 0 within 3 s and the next start completes the fill', async () => {
    const total = 6000;
    await publishHistory(total);
    fillDb = await createTestDatabase('pricing_fill');
    const env = {
      PRICING_DATABASE_URL: fillDb.url,
      PRICING_PORT: '0',
      AMQP_URL: inject('amqpUrl'),
      CDC_EXCHANGE: fill.exchange,
      CDC_STREAM: fill.stream,
      PRICING_QUEUE: fill.queue,
      CDC_PORT: '9',
      LOG_LEVEL: 'info',
    };
    const first = run(env);
    await listeningPort(first);
    // Mid-fill: some batches committed, not all.
    const deadline = Date.now() + 30_000;
    while ((await productCount(fillDb.url)) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const sentAt = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const stopMs = Date.now() - sentAt;
    expect(stopMs, first.output()).toBeLessThan(3000);
    const afterStop = await productCount(fillDb.url);
    expect(afterStop).toBeGreaterThan(0);
    expect(afterStop, 'the fill had already finished: the stop was not during the fill').toBeLessThan(total);

    // The queue exists and the store has rows now, yet the interrupted fill is not taken as done.
    const second = run(env);
    const port = await listeningPort(second);
    let ready = 0;
    for (let i = 0; i < 600 && ready !== 200; i += 1) {
      ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ready, `${await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()} ${await productCount(fillDb.url)} ${second.output().slice(-3000)}`).toBe(200);
    expect(await productCount(fillDb.url)).toBe(total);
    const answer = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await answer.json()).toMatchObject({ backfilled: true });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);
});
