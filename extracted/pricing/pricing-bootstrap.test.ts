import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { CdcBridge } from '../../cdc/bridge.ts';
import { prepareCapture } from '../../cdc/capture-setup.ts';
import { CdcFixture, eventually } from '../../cdc/testing/cdc-fixture.ts';
import { seedLegacy } from '../../legacy-stub/seed/seed.ts';
import { startLegacyTestServer, type LegacyTestServer } from '../../legacy-stub/pricing/legacy-test-server.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import type { PricingService } from './pricing-service.ts';
import { startTestPricingService } from './testing/test-pricing-service.ts';

// Issue 8's acceptance for the pricing service: the legacy already holds data written before the
// bridge existed (seeded before the publication and slot, so none of it is in any stream), and a
// new service, started on an empty store, seeds itself from a snapshot it asks the bridge for.

const NOW = new Date('2026-03-15T10:00:00Z');
const PRODUCTS = 60;

let fixture: CdcFixture;
let bridge: CdcBridge | undefined;
let bridgeRunning: Promise<void> | undefined;
let legacy: LegacyTestServer;
let pricingDb: TestDatabase;
let service: PricingService;
let queue: string;

beforeAll(async () => {
  fixture = await CdcFixture.create('pricing_boot');
  queue = `pricing.cdc.boot.${fixture.suffix}`;
  await seedLegacy(fixture.database.url, { products: PRODUCTS, logger: fixture.logger, now: NOW });
  await prepareCapture({ databaseUrl: fixture.database.url, logger: fixture.logger, publication: fixture.names.publication, slot: fixture.names.slot });
  legacy = await startLegacyTestServer(fixture.database.url, NOW);
  pricingDb = await createTestDatabase('pricing_boot');
}, 120_000);

afterAll(async () => {
  await service?.close();
  await legacy?.close();
  await bridge?.stop();
  await bridgeRunning?.catch(() => undefined);
  const connection = await amqp.connect(fixture.amqpUrl);
  const channel = await connection.createChannel();
  for (const name of [queue, `${queue}.retry`, `${queue}.dead`]) await channel.deleteQueue(name).catch(() => undefined);
  await connection.close();
  await pricingDb?.drop();
  await fixture?.cleanup();
});

async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${service.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('a pricing service started on an empty store over a legacy that predates the bridge', () => {
  it('reports seeding until its snapshot has been applied, then is ready and answers every sku like the legacy', async () => {
    // The service first (as npm start may), the bridge after: its request waits in the signal queue.
    service = await startTestPricingService({ fixture, databaseUrl: pricingDb.url, queue, bridgeHealthPort: 9, clock: () => NOW });
    const seeding = await readyz();
    expect(seeding.status).toBe(503);
    expect(seeding.body).toMatchObject({ ready: false, status: 'seeding', snapshot: { id: expect.any(String), rowsEmitted: 0 } });
    const snapshotId = (seeding.body.snapshot as { id: string }).id;

    bridge = new CdcBridge({ config: fixture.config(), logger: fixture.logger });
    bridgeRunning = bridge.start();
    await bridge.waitUntilActive();
    // A price written while the snapshot runs, through the legacy API: it reaches the store either way.
    const skus = (await fixture.query<{ sku: string }>('SELECT sku FROM catalog_product_entity ORDER BY entity_id')).map((row) => row.sku);
    const changed = await fetch(`${legacy.baseUrl}/rest/V1/products/base-prices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prices: [{ price: 12.34, store_id: 0, sku: skus[7] }] }),
    });
    expect(changed.status).toBe(200);

    await eventually(async () => (await readyz()).status === 200, 60_000, 'the service to be seeded and ready');
    expect((await readyz()).body).toMatchObject({ ready: true, status: 'ready', snapshot: null });
    expect(service.sync.seed).toEqual({ state: 'seeded', snapshot: null });
    for (const sku of skus) {
      for (const query of ['?customerGroupId=0&qty=1', '?customerGroupId=2&qty=20']) {
        const path = `/rest/V1/products/${encodeURIComponent(sku)}/final-price${query}`;
        const [expected, actual] = await Promise.all([fetch(`${legacy.baseUrl}${path}`), fetch(`${service.url}${path}`)]);
        expect(await actual.text(), path).toBe(await expected.text());
      }
    }
    const tiers = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ skus }) };
    const [expected, actual] = await Promise.all([
      fetch(`${legacy.baseUrl}/rest/V1/products/tier-prices-information`, tiers),
      fetch(`${service.url}/rest/V1/products/tier-prices-information`, tiers),
    ]);
    expect(await actual.text()).toBe(await expected.text());

    // A restart of a seeded store asks for nothing: the marker says seeded, with the same snapshot.
    await service.close();
    service = await startTestPricingService({ fixture, databaseUrl: pricingDb.url, queue, bridgeHealthPort: 9, clock: () => NOW });
    const { rows: marker } = await service.pool.query<{ snapshot_id: string; state: string }>('SELECT snapshot_id, state FROM cdc_seed');
    expect(marker).toEqual([{ snapshot_id: snapshotId, state: 'completed' }]);
    await eventually(async () => (await readyz()).status === 200, 10_000, 'ready at once after a restart');
  }, 120_000);
});
