import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';

// extracted/pricing/main.ts as the stack launcher runs it: `node --import tsx`, configured by environment only.

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');
const suffix = randomBytes(4).toString('hex');
const queue = `pricing.cdc.main.${suffix}`;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pricing_main');
});
afterAll(async () => {
  const connection = await amqp.connect(inject('amqpUrl'));
  for (const name of [queue, `${queue}.retry`, `${queue}.dead`]) {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.deleteQueue(name).catch(() => undefined);
  }
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  await channel.deleteExchange(`test.pricing.${suffix}`).catch(() => undefined);
  await connection.close();
  await db?.drop();
});

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
});
