import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { CdcBridge } from '../bridge.ts';
import { prepareCapture } from '../capture-setup.ts';
import { startHealthServer } from '../health-server.ts';
import { CdcFixture, eventually } from '../testing/cdc-fixture.ts';
import { seedLegacy } from '../../legacy-stub/seed/seed.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { startPricingService, type PricingService } from '../../extracted/pricing/pricing-service.ts';
import { reconcilePricing } from '../../extracted/pricing/reconcile/pricing-reconciliation.ts';
import { driftCount } from '../../reconcile/drift-report.ts';
import { REPLAY_HEADER, replayHistory, type ReplayProgress } from './history-replay.ts';
import { createReplayMarker, isReplayMarker } from './replay-marker.ts';

// Issue 8, replay from history: `strangler cdc replay` re-publishes the bridge's history stream
// into one queue, exactly up to where the stream ended when it began.

const PRODUCTS = 40;

let fixture: CdcFixture;
let bridge: CdcBridge;
let bridgeRunning: Promise<void>;
let bridgeHealth: { port: number; close(): Promise<void> };
let connection: ChannelModel;
let channel: Channel;
const queues: string[] = [];

beforeAll(async () => {
  fixture = await CdcFixture.create('replay');
  await prepareCapture({ databaseUrl: fixture.database.url, logger: fixture.logger, publication: fixture.names.publication, slot: fixture.names.slot });
  bridge = new CdcBridge({ config: fixture.config(), logger: fixture.logger });
  bridgeRunning = bridge.start();
  await bridge.waitUntilActive();
  bridgeHealth = await startHealthServer({ port: 0, host: '127.0.0.1', registry: bridge.metrics.registry, status: () => bridge.status(), watermark: () => bridge.watermark() });
  await fixture.listen('legacy.public.#');
  await seedLegacy(fixture.database.url, { products: PRODUCTS, logger: fixture.logger, now: new Date('2026-03-15T10:00:00Z') });
  const rows = await fixture.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM catalog_product_entity_decimal)::int AS n`,
  );
  await fixture.waitFor((messages) => messages.filter((m) => m.body.source.table === 'catalog_product_entity_decimal').length >= rows[0]!.n, 60_000, 'the seed in the stream');
  connection = await amqp.connect(fixture.amqpUrl);
  channel = await connection.createChannel();
}, 180_000);

afterAll(async () => {
  for (const queue of queues) await channel?.deleteQueue(queue).catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await bridge?.stop();
  await bridgeRunning?.catch(() => undefined);
  await bridgeHealth?.close();
  await fixture?.cleanup();
});

async function freshQueue(label: string): Promise<string> {
  const name = `replay.${label}.${fixture.suffix}`;
  await channel.assertQueue(name, { durable: true });
  queues.push(name);
  return name;
}

/** Everything in a queue right now, in order. */
async function drain(queue: string, expected: number): Promise<ConsumeMessage[]> {
  const messages: ConsumeMessage[] = [];
  const reader = await connection.createChannel();
  await reader.consume(queue, (message) => message && messages.push(message), { noAck: true });
  await eventually(() => messages.length >= expected, 15_000, `${expected} messages in ${queue}`);
  // Nothing more arrives after the expected ones.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await reader.close();
  return messages;
}

/** The stream's messages up to the one with this message id, read directly (the truth the replay must reproduce). */
async function streamContentsUntil(messageId: string): Promise<ConsumeMessage[]> {
  const reader = await connection.createChannel();
  await reader.prefetch(1000);
  const messages: ConsumeMessage[] = [];
  await reader.consume(fixture.names.streamQueue, (message) => {
    if (!message) return;
    messages.push(message);
    reader.ack(message);
  }, { noAck: false, arguments: { 'x-stream-offset': 'first' } });
  await eventually(() => messages.some((message) => message.properties.messageId === messageId), 15_000, 'the stream read');
  await reader.close();
  return messages.slice(0, messages.findIndex((message) => message.properties.messageId === messageId) + 1);
}

describe('strangler cdc replay', () => {
  it('re-publishes every event of the stream to the target queue only, as it was published, and ends at its own marker', async () => {
    // An earlier replay's marker in the stream: skipped, and it does not end this replay.
    const earlier = createReplayMarker();
    const publisher = await connection.createConfirmChannel();
    publisher.sendToQueue(fixture.names.streamQueue, earlier.content, earlier.options);
    await publisher.waitForConfirms();
    await publisher.close();
    const before = (await streamContentsUntil(earlier.messageId)).filter((message) => !isReplayMarker(message));
    const heardBefore = fixture.received.length;
    const queue = await freshQueue('all');
    const progress: ReplayProgress[] = [];

    const result = await replayHistory({ amqpUrl: fixture.amqpUrl, stream: fixture.names.streamQueue, target: queue, from: 'first', onProgress: (p) => progress.push(p) });

    expect(result).toMatchObject({ queue, published: before.length, skipped: 1, done: true });
    expect(result.read).toBe(before.length + 2);
    expect(progress.at(-1)).toMatchObject({ done: true, published: before.length });
    const copies = await drain(queue, before.length);
    expect(copies).toHaveLength(before.length);
    expect(copies.map((m) => m.properties.messageId)).toEqual(before.map((m) => m.properties.messageId));
    expect(copies.map((m) => m.content.toString())).toEqual(before.map((m) => m.content.toString()));
    const first = copies[0]!;
    const original = before[0]!;
    expect(first.properties.headers).toMatchObject({ ...omitOffset(original.properties.headers), [REPLAY_HEADER]: result.replayId, 'x-original-routing-key': original.fields.routingKey });
    expect(first.properties).toMatchObject({ type: original.properties.type, contentType: original.properties.contentType, timestamp: original.properties.timestamp, deliveryMode: 2 });
    // The copies went to the target queue alone: nothing new reached the exchange's listeners.
    expect(fixture.received.length).toBe(heardBefore);
  }, 60_000);

  it('with --tables, re-publishes only those tables; from a time, only events committed since', async () => {
    const products = await freshQueue('products');
    const onlyProducts = await replayHistory({ amqpUrl: fixture.amqpUrl, stream: fixture.names.streamQueue, target: products, from: 'first', tables: ['catalog_product_entity'] });
    expect(onlyProducts.published).toBe(PRODUCTS);
    const messages = await drain(products, PRODUCTS);
    expect(new Set(messages.map((m) => (m.properties.headers as Record<string, unknown>).table))).toEqual(new Set(['public.catalog_product_entity']));

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const since = new Date();
    await fixture.query("UPDATE catalog_product_entity SET sku = sku || '-R' WHERE entity_id IN (SELECT entity_id FROM catalog_product_entity ORDER BY entity_id LIMIT 3)");
    await fixture.waitFor((received) => received.filter((m) => String(m.body.after?.sku ?? '').endsWith('-R')).length >= 3, 15_000, 'the renames in the stream');
    const recent = await freshQueue('recent');
    const sinceResult = await replayHistory({ amqpUrl: fixture.amqpUrl, stream: fixture.names.streamQueue, target: recent, from: since });
    expect(sinceResult.published).toBe(3);
    expect((await drain(recent, 3)).map((m) => JSON.parse(m.content.toString()).op)).toEqual(['u', 'u', 'u']);
  }, 60_000);

  it('refuses a target queue that does not exist, and a stream that does not exist', async () => {
    await expect(replayHistory({ amqpUrl: fixture.amqpUrl, stream: fixture.names.streamQueue, target: `no.such.queue.${fixture.suffix}`, from: 'first' })).rejects.toMatchObject({
      code: 'CDC_REPLAY_TARGET_MISSING',
    });
    await expect(replayHistory({ amqpUrl: fixture.amqpUrl, stream: `no.such.stream.${fixture.suffix}`, target: 'x.y', from: 'first' })).rejects.toMatchObject({
      code: 'CDC_REPLAY_STREAM_MISSING',
    });
  });

  describe('rebuilding a store from history', () => {
    let pricingDb: TestDatabase;
    let store: pg.Pool;
    let service: PricingService;
    const queue = () => `pricing.cdc.replay.${fixture.suffix}`;

    afterAll(async () => {
      await service?.close();
      await store?.end();
      for (const name of [queue(), `${queue()}.retry`, `${queue()}.dead`]) await channel.deleteQueue(name).catch(() => undefined);
      await pricingDb?.drop();
    });

    it('when a fresh pricing store is fed only the replayed stream, then it reconciles with the legacy with zero drift', async () => {
      pricingDb = await createTestDatabase('replay_pricing');
      store = new pg.Pool({ connectionString: pricingDb.url, max: 3 });
      service = await startPricingService({
        config: {
          port: 0,
          host: '127.0.0.1',
          databaseUrl: pricingDb.url,
          amqpUrl: fixture.amqpUrl,
          cdcHealthUrl: `http://127.0.0.1:${bridgeHealth.port}/healthz`,
          exchange: fixture.names.exchange,
          serverName: 'legacy',
          queue: queue(),
          cacheTtlSeconds: 60,
          poolSize: 3,
        },
        logger: fixture.logger,
        // No snapshot: the replayed history is the store's only source.
        requestSnapshot: async () => undefined,
      });
      const empty = await reconcilePricing({ legacy: fixture.pool, store, settleMs: 100, graceMs: 200, idleMs: 500, maxWaitMs: 1000 });
      expect(empty.missing).toHaveLength(PRODUCTS);

      const result = await replayHistory({ amqpUrl: fixture.amqpUrl, stream: fixture.names.streamQueue, target: queue(), from: 'first' });
      expect(result.published).toBeGreaterThan(PRODUCTS);

      await eventually(async () => driftCount(await reconcilePricing({ legacy: fixture.pool, store, settleMs: 200, graceMs: 400, idleMs: 2000, maxWaitMs: 3000 })) === 0, 90_000, 'the replayed store to equal the legacy');
      const report = await reconcilePricing({ legacy: fixture.pool, store, settleMs: 200, graceMs: 400, idleMs: 2000, maxWaitMs: 10_000 });
      expect(report).toMatchObject({ legacyProducts: PRODUCTS, storeProducts: PRODUCTS, missing: [], extra: [], different: [] });
    }, 120_000);
  });
});

function omitOffset(headers: unknown): Record<string, unknown> {
  const copy = { ...(headers as Record<string, unknown>) };
  delete copy['x-stream-offset'];
  return copy;
}
