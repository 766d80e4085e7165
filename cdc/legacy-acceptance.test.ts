import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLegacyApp } from '../legacy-stub/app.ts';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';
import { CdcBridge } from './bridge.ts';
import { prepareCapture } from './capture-setup.ts';
import { CdcFixture } from './testing/cdc-fixture.ts';

// Issue 4's acceptance: a product update through the legacy REST API appears on legacy.cdc as a
// Debezium-shaped "u" event within a second.
let fixture: CdcFixture;
let bridge: CdcBridge;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  fixture = await CdcFixture.create('acceptance');
  // The launcher's order: schema (done by the fixture), publication and slot, then the seed.
  await prepareCapture({ databaseUrl: fixture.database.url, logger: fixture.logger, publication: fixture.names.publication, slot: fixture.names.slot });
  await fixture.listen('legacy.public.#');
  bridge = new CdcBridge({ config: fixture.config(), logger: fixture.logger });
  void bridge.start().catch(() => undefined);
  await bridge.waitUntilActive();
  await seedLegacy(fixture.database.url, { products: 5, logger: fixture.logger, now: new Date('2026-01-15T12:00:00Z') });
  const app = createLegacyApp({ pool: fixture.pool, logger: fixture.logger, clock: () => new Date('2026-01-15T12:00:00Z') });
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await bridge?.stop();
  await fixture?.cleanup();
});

describe('acceptance', () => {
  it('the seed written after prepareCapture reaches the exchange row for row', async () => {
    const products = Number((await fixture.query<{ n: string }>('SELECT count(*)::text AS n FROM catalog_product_entity'))[0]!.n);
    await fixture.waitFor(
      (messages) => messages.filter((m) => m.body.source.table === 'catalog_product_entity' && m.body.op === 'c').length === products,
      30_000,
      'every seeded product',
    );
  });

  it('when a price is updated through the legacy REST API, then a Debezium "u" event with the new price arrives on legacy.cdc', async () => {
    const product = (await fixture.query<{ sku: string; entity_id: number }>('SELECT sku, entity_id FROM catalog_product_entity ORDER BY entity_id LIMIT 1'))[0]!;
    const { sku, entity_id: entityId } = product;
    const response = await fetch(`${baseUrl}/rest/V1/products/${encodeURIComponent(sku)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ product: { sku, price: 1234.56 } }),
    });
    expect(response.status).toBe(200);
    const answeredAt = Date.now();
    const isNewPrice = (m: (typeof fixture.received)[number]) =>
      m.body.source.table === 'catalog_product_entity_decimal' && m.body.op === 'u' && m.body.after?.entity_id === entityId && m.body.after?.value === '1234.560000';
    await fixture.waitFor((messages) => messages.some(isNewPrice), 5_000, 'the price update event');
    // The one-second target is measured by bench/cdc.ts (commit → confirm p99); a timed assertion
    // here would only make the suite flaky on a busy machine, so the delay is just reported.
    process.stdout.write(`legacy REST update → event on legacy.cdc: ${Date.now() - answeredAt} ms\n`);

    const message = fixture.received.find(isNewPrice)!;
    expect(message.routingKey).toBe('legacy.public.catalog_product_entity_decimal');
    expect(message.body.before?.value).not.toBe('1234.560000');
    expect(message.body.source).toMatchObject({ connector: 'postgresql', name: 'legacy', table: 'catalog_product_entity_decimal', snapshot: 'false' });
  });
});
