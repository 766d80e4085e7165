import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import amqp from 'amqplib';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { silentLogger } from '../platform/logger.ts';
import { startPricingService, type PricingService } from '../extracted/pricing/pricing-service.ts';
import { publishProductSnapshot, publishSnapshotControl } from '../cdc/consumer/testing/snapshot-publisher.ts';
import { runStoreReset, storeUrlOf, type StoreCommandIo } from './store-commands.ts';

// `strangler store reset`: a seeded pricing store is emptied, and the service seeds itself again on
// its next start. The bridge's part (the snapshot's batches and `completed`) is published by hand.

const amqpUrl = inject('amqpUrl');
const suffix = randomBytes(4).toString('hex');
const queue = `pricing.cdc.reset.${suffix}`;
const exchange = `test.reset.${suffix}`;
let db: TestDatabase;
const requested: string[] = [];

function io(options: { interactive?: boolean; answer?: string; env?: Record<string, string> } = {}): StoreCommandIo & { stdout: string[]; stderr: string[]; asked: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const asked: string[] = [];
  return {
    env: options.env ?? {},
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    interactive: options.interactive ?? false,
    ask: async (question) => {
      asked.push(question);
      return options.answer ?? '';
    },
    stdout,
    stderr,
    asked,
  };
}

function startService(): Promise<PricingService> {
  return startPricingService({
    config: { port: 0, host: '127.0.0.1', databaseUrl: db.url, amqpUrl, cdcHealthUrl: 'http://127.0.0.1:9/healthz', exchange, serverName: 'legacy', queue, cacheTtlSeconds: 60, poolSize: 2 },
    logger: silentLogger(),
    requestSnapshot: async (id) => {
      requested.push(id);
    },
  });
}

/** Plays the bridge: the snapshot's rows, then its `completed`; resolves when /readyz is 200. */
async function seedThrough(service: PricingService, snapshotId: string, products: number): Promise<void> {
  await publishProductSnapshot({ amqpUrl, queue, snapshotId, from: 1, to: products });
  await publishSnapshotControl({ amqpUrl, queue, kind: 'completed', snapshotId, rowsEmitted: products, rowsEstimated: products });
  const deadline = Date.now() + 20_000;
  while ((await fetch(`${service.url}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('not ready after its snapshot completed');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function count(sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase('store_reset');
});

afterAll(async () => {
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createChannel();
  for (const name of [queue, `${queue}.retry`, `${queue}.dead`]) await channel.deleteQueue(name).catch(() => undefined);
  await channel.deleteExchange(exchange).catch(() => undefined);
  await connection.close();
  await db?.drop();
});

describe('strangler store reset', () => {
  it('when a seeded pricing store is reset with the service stopped, then the next start requests a new snapshot and seeds again', async () => {
    let service = await startService();
    expect(requested).toHaveLength(1);
    await seedThrough(service, requested[0]!, 50);
    expect(await count('SELECT count(*) AS n FROM product')).toBe(50);

    // While the service runs, the reset refuses: it would keep writing and believe itself seeded.
    const busy = io();
    expect(await runStoreReset({ service: 'pricing', yes: true, databaseUrl: db.url }, busy)).toBe(1);
    expect(busy.stderr.join('\n')).toContain('STORE_IN_USE');
    await service.close();

    // No terminal and no --yes: refused, with the way out.
    const scripted = io();
    expect(await runStoreReset({ service: 'pricing', databaseUrl: db.url }, scripted)).toBe(1);
    expect(scripted.stderr.join('\n')).toMatch(/STORE_RESET_UNCONFIRMED[\s\S]*--yes/);
    // Asked in a terminal and answered no: nothing changes.
    const declined = io({ interactive: true, answer: 'n' });
    expect(await runStoreReset({ service: 'pricing', databaseUrl: db.url }, declined)).toBe(1);
    expect(declined.asked[0]).toContain('Empty the pricing store');
    expect(await count('SELECT count(*) AS n FROM product')).toBe(50);

    const confirmed = io({ interactive: true, answer: 'y' });
    expect(await runStoreReset({ service: 'pricing', databaseUrl: db.url }, confirmed)).toBe(0);
    expect(confirmed.stdout.join('\n')).toMatch(/Emptied the pricing store .*: \d+ rows in \d+ tables \(.*cdc_applied.*cdc_seed.*product/);
    expect(confirmed.stdout.join('\n')).toContain('will re-seed itself from a snapshot on its next start');
    for (const table of ['product', 'cdc_applied', 'cdc_seed', 'store_price']) expect(await count(`SELECT count(*) AS n FROM ${table}`), table).toBe(0);
    expect(await count('SELECT count(*) AS n FROM schema_migrations')).toBeGreaterThan(0);

    service = await startService();
    try {
      expect(requested).toHaveLength(2);
      expect(requested[1]).not.toBe(requested[0]);
      const seeding = await fetch(`${service.url}/readyz`);
      expect(seeding.status).toBe(503);
      expect(await seeding.json()).toMatchObject({ status: 'seeding', snapshot: { id: requested[1] } });
      await seedThrough(service, requested[1]!, 30);
      expect(await count('SELECT count(*) AS n FROM product')).toBe(30);
    } finally {
      await service.close();
    }
  }, 60_000);

  it('reads PRICING_DATABASE_URL / PIM_DATABASE_URL, else the embedded PostgreSQL of npm start', () => {
    expect(storeUrlOf('pricing', { PRICING_DATABASE_URL: 'postgres://u@h:1/p' })).toBe('postgres://u@h:1/p');
    expect(storeUrlOf('pim', { PG_PORT: '6000' })).toBe('postgres://postgres:postgres@127.0.0.1:6000/pim');
    expect(storeUrlOf('pim', {}, 'postgres://x@y/z')).toBe('postgres://x@y/z');
  });
});
