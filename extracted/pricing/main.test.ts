import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { inject } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { publishProductSnapshot, publishSnapshotControl, seedSnapshotId } from '../../cdc/consumer/testing/snapshot-publisher.ts';

// extracted/pricing/main.ts as the stack launcher runs it: `node --import tsx`, configured by environment only.

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');
const suffix = randomBytes(4).toString('hex');
const queue = `pricing.cdc.main.${suffix}`;
const fill = { exchange: `test.pricing.fill.${suffix}`, queue: `pricing.cdc.fill.${suffix}` };
let db: TestDatabase;
let fillDb: TestDatabase | undefined;

beforeAll(async () => {
  db = await createTestDatabase('pricing_main');
});
afterAll(async () => {
  const connection = await amqp.connect(inject('amqpUrl'));
  for (const name of [queue, `${queue}.retry`, `${queue}.dead`, fill.queue, `${fill.queue}.retry`, `${fill.queue}.dead`]) {
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

async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
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
    // An empty store asks for a snapshot and is not ready until it has been applied (no bridge runs here).
    const id = await seedSnapshotId(db.url);
    expect(await readyz(port)).toEqual({
      status: 503,
      body: expect.objectContaining({ ready: false, status: 'seeding', snapshot: { id, rowsEmitted: 0, rowsEstimated: null, percent: null, etaSeconds: null } }),
    });
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

  it('when SIGTERM arrives while seeding, then it exits 0 within 3 s, and the next start follows the same snapshot to ready', async () => {
    const total = 6000;
    const amqpUrl = inject('amqpUrl');
    fillDb = await createTestDatabase('pricing_fill');
    const env = {
      PRICING_DATABASE_URL: fillDb.url,
      PRICING_PORT: '0',
      AMQP_URL: amqpUrl,
      CDC_EXCHANGE: fill.exchange,
      PRICING_QUEUE: fill.queue,
      CDC_PORT: '9',
      LOG_LEVEL: 'info',
    };
    const first = run(env);
    const firstPort = await listeningPort(first);
    const snapshotId = await seedSnapshotId(fillDb.url);
    // The bridge's part, by hand: the rows of the snapshot in batches, progress after the first half.
    await publishProductSnapshot({ amqpUrl, queue: fill.queue, snapshotId, from: 1, to: total / 2 });
    await publishSnapshotControl({ amqpUrl, queue: fill.queue, kind: 'progress', snapshotId, rowsEmitted: total / 2, rowsEstimated: total, etaSeconds: 3 });
    await publishProductSnapshot({ amqpUrl, queue: fill.queue, snapshotId, from: total / 2 + 1, to: total });
    let seeding: Record<string, unknown> = {};
    const deadline = Date.now() + 30_000;
    while ((seeding.snapshot as { rowsEmitted?: number } | null)?.rowsEmitted !== total / 2 && Date.now() < deadline) {
      seeding = (await readyz(firstPort)).body;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(seeding).toMatchObject({ ready: false, status: 'seeding', snapshot: { id: snapshotId, rowsEmitted: 3000, rowsEstimated: 6000, percent: 50, etaSeconds: 3 } });
    const sentAt = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - sentAt, first.output()).toBeLessThan(3000);

    // The store has rows now, yet it is still seeding, and from the same snapshot: no second request.
    const second = run(env);
    const port = await listeningPort(second);
    expect(await seedSnapshotId(fillDb.url)).toBe(snapshotId);
    expect(await readyz(port)).toMatchObject({ status: 503, body: { status: 'seeding', snapshot: { id: snapshotId } } });
    expect(second.output()).toContain('following the same snapshot');
    await publishSnapshotControl({ amqpUrl, queue: fill.queue, kind: 'completed', snapshotId, rowsEmitted: total, rowsEstimated: total, etaSeconds: 0 });
    let ready = 0;
    for (let i = 0; i < 600 && ready !== 200; i += 1) {
      ready = (await readyz(port)).status;
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ready, second.output().slice(-3000)).toBe(200);
    expect(await productCount(fillDb.url)).toBe(total);
    expect(await readyz(port)).toMatchObject({ body: { status: 'ready', snapshot: null } });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);
});
