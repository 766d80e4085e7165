import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { CdcFixture, eventually } from '../../../cdc/testing/cdc-fixture.ts';
import { deleteServiceQueues, startTestBridge, type TestBridge } from '../../../cdc/testing/test-bridge.ts';
import { seedLegacy } from '../../../legacy-stub/seed/seed.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { driftCount } from '../../../reconcile/drift-report.ts';
import { buildSnapshotRequest, writeSignal } from '../../../cdc/snapshot/snapshot-request.ts';
import { startPricingService, type PricingService } from '../pricing-service.ts';
import { reconcilePricing } from './pricing-reconciliation.ts';

// Issue 8, reconciliation of the pricing store: legacy PostgreSQL → real CDC bridge → RabbitMQ →
// the pricing service's store, compared product by product with the legacy while both run.

const PRODUCTS = 300;
const NOW = new Date('2026-03-15T10:00:00Z');
const QUICK = { settleMs: 200, graceMs: 600, idleMs: 3_000, maxWaitMs: 20_000, bucketSize: 50, segmentSize: 200 };

let fixture: CdcFixture;
let bridge: TestBridge;
let pricingDb: TestDatabase;
let store: pg.Pool;
let service: PricingService;
let queue: string;

beforeAll(async () => {
  fixture = await CdcFixture.create('reconcile_pricing');
  queue = `pricing.cdc.reconcile.${fixture.suffix}`;
  bridge = await startTestBridge(fixture);
  await seedLegacy(fixture.database.url, { products: PRODUCTS, logger: fixture.logger, now: NOW });
  pricingDb = await createTestDatabase('reconcile_pricing_store');
  store = new pg.Pool({ connectionString: pricingDb.url, max: 4 });
  service = await startPricingService({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: pricingDb.url,
      amqpUrl: fixture.amqpUrl,
      cdcHealthUrl: `http://127.0.0.1:${bridge.healthPort}/healthz`,
      exchange: fixture.names.exchange,
      serverName: 'legacy',
      queue,
      cacheTtlSeconds: 60,
      poolSize: 4,
    },
    logger: fixture.logger,
    clock: () => NOW,
    // The empty store seeds itself from a snapshot: through this test's own signal table.
    requestSnapshot: async (id, tables) => {
      await writeSignal(fixture.pool, buildSnapshotRequest({ id, target: queue, tables: [...tables] }));
    },
  });
  await eventually(async () => (await fetch(`${service.url}/readyz`)).status === 200, 90_000, 'the pricing service to catch up');
}, 180_000);

afterAll(async () => {
  await service?.close();
  await store?.end();
  await bridge?.stop();
  await deleteServiceQueues(fixture.amqpUrl, queue);
  await pricingDb?.drop();
  await fixture?.cleanup();
});

const entityIds = async (): Promise<number[]> =>
  (await fixture.query<{ entity_id: number }>('SELECT entity_id FROM catalog_product_entity ORDER BY entity_id')).map((row) => row.entity_id);

/** The pricing store has caught up once every legacy product is compared equal. */
async function reconcileUntilClean(): Promise<void> {
  await eventually(async () => driftCount(await reconcilePricing({ legacy: fixture.pool, store, ...QUICK, maxWaitMs: 2_000 })) === 0, 60_000, 'zero drift');
}

describe('strangler reconcile pricing', () => {
  it('when the store followed the stream, then every product compares equal and no bucket differs', async () => {
    await reconcileUntilClean();
    const report = await reconcilePricing({ legacy: fixture.pool, store, ...QUICK });
    expect(report.legacyProducts).toBe(PRODUCTS);
    expect(report.storeProducts).toBe(PRODUCTS);
    expect(report.buckets.differing).toBe(0);
    expect(driftCount(report)).toBe(0);
    expect(report.unsettled).toEqual([]);
  });

  it('when a price is corrupted, a product lost and a product invented in the store, then each is reported as such with the fields that differ', async () => {
    const ids = await entityIds();
    const corrupted = ids[10]!;
    const lost = ids[20]!;
    const invented = ids[ids.length - 1]! + 1000;
    await store.query("UPDATE store_price SET price = price + 1 WHERE entity_id = $1 AND has_price", [corrupted]);
    for (const table of ['product', 'store_price', 'tier_price', 'attribute_value_decimal', 'attribute_value_datetime']) {
      await store.query(`DELETE FROM ${table} WHERE entity_id = $1`, [lost]);
    }
    await store.query("INSERT INTO product (entity_id, sku) VALUES ($1, 'NOT-IN-LEGACY')", [invented]);

    const report = await reconcilePricing({ legacy: fixture.pool, store, ...QUICK });

    expect(report.different).toEqual([corrupted]);
    expect(report.missing).toEqual([lost]);
    expect(report.extra).toEqual([invented]);
    expect(report.buckets.differing).toBeGreaterThanOrEqual(2);
    const byKind = Object.fromEntries(report.examples.map((example) => [example.kind, example]));
    expect(byKind.different?.fields).toEqual(['stores']);
    expect(byKind.missing?.store).toBeNull();
    expect(byKind.extra?.legacy).toBeNull();
    expect(byKind.extra?.store).toMatchObject({ sku: 'NOT-IN-LEGACY' });

    const repaired = await reconcilePricing({ legacy: fixture.pool, store, ...QUICK, repair: { target: queue, timeoutMs: 60_000 } });
    expect(repaired.repair?.requestedFor).toBe(3);
    expect(repaired.repair?.snapshots.every((snapshot) => snapshot.state === 'completed')).toBe(true);
    expect(repaired.repair?.remaining).toBe(0);
    expect(driftCount(await reconcilePricing({ legacy: fixture.pool, store, ...QUICK }))).toBe(0);
  }, 120_000);

  it('when prices change in the legacy during the reconciliation, then the changes in flight are re-checked and not reported as drift', async () => {
    await reconcileUntilClean();
    const ids = await entityIds();
    const priceOf = "(SELECT attribute_id FROM eav_attribute WHERE attribute_code = 'price' AND entity_type_id = 4)";
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        await fixture.pool.query(`UPDATE catalog_product_entity_decimal SET value = value + 0.01 WHERE entity_id = $1 AND attribute_id = ${priceOf} AND store_id = 0`, [
          ids[(writes * 7) % ids.length],
        ]);
        writes += 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await eventually(() => writes >= 20, 10_000, 'the writer to run');
      // Every product changes at once: the store is certainly behind when the checksums are read.
      await fixture.pool.query(`UPDATE catalog_product_entity_decimal SET value = value + 1 WHERE attribute_id = ${priceOf} AND store_id = 0`);
      const reconciling = reconcilePricing({ legacy: fixture.pool, store, ...QUICK, maxWaitMs: 60_000 });
      // The writes go on while the checksums are read and the first re-checks run, then stop, so
      // that the store can catch up before the re-checks run out of time.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      writing = false;
      await writer;
      const report = await reconciling;
      expect(report.settledByLag).toBeGreaterThan(0);
      expect({ missing: report.missing, extra: report.extra, different: report.different, unsettled: report.unsettled }).toEqual({
        missing: [],
        extra: [],
        different: [],
        unsettled: [],
      });
    } finally {
      writing = false;
      await writer;
    }
  }, 120_000);
});
