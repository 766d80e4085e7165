import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { createRootLogger } from '../../../platform/logger.ts';
import type { MagentoProduct } from '../../../legacy-stub/catalog/magento-product.ts';
import { call, eventually, PimStack, type HttpAnswer } from '../testing/pim-stack.ts';

// Through the real bridge and RabbitMQ: the legacy is seeded (100 products), the bridge streams
// it, and only then the PIM starts — with an empty database and a queue that did not exist, so it
// seeds itself from a snapshot it asks the bridge for.
const PRODUCTS = 100;
const FRESH_WITHIN_MS = 2000;

let stack: PimStack;
const legacy = (path: string, init?: { method?: string; body?: unknown }) => call(stack.legacyBase, `/rest/V1${path}`, init);
const pim = (path: string) => call(stack.pimBase, path);

beforeAll(async () => {
  stack = await PimStack.start({ products: PRODUCTS, label: 'pim_sync', logger: process.env.PIM_TEST_LOG ? createRootLogger({ name: 'pim-test', level: 'debug' }) : undefined });
  await stack.fixture.listen(`legacy.public.#`);
  await eventually(() => pim('/readyz'), (answer) => answer.status === 200, 60_000, 'readyz');
});

afterAll(async () => {
  await stack?.stop();
});

async function allLegacySkus(): Promise<string[]> {
  const listing = await legacy('/products?searchCriteria[pageSize]=300');
  return listing.body.items.map((item: MagentoProduct) => item.sku);
}

/** Waits until the PIM answers the sku exactly as the legacy does (same status, same bytes). */
async function inSync(sku: string, timeoutMs = FRESH_WITHIN_MS): Promise<HttpAnswer> {
  const expected = await legacy(`/products/${encodeURIComponent(sku)}`);
  return eventually(
    () => pim(`/rest/V1/products/${encodeURIComponent(sku)}`),
    (answer) => answer.status === expected.status && answer.text === expected.text,
    timeoutMs,
    `the PIM to answer ${sku} like the legacy (${expected.status})`,
  );
}

describe('the PIM follows the legacy through the CDC bridge', () => {
  it('when started after the seed, then it seeds itself from its own snapshot and becomes ready', async () => {
    const skus = await allLegacySkus();
    expect(skus).toHaveLength(PRODUCTS);
    for (const sku of skus) {
      const [expected, actual] = await Promise.all([legacy(`/products/${sku}`), pim(`/rest/V1/products/${sku}`)]);
      expect(actual.status).toBe(200);
      expect(actual.text).toBe(expected.text);
    }
    const health = await pim('/healthz');
    expect(health.body).toMatchObject({ status: 'ok', sync: 'ready', snapshot: null, store: 'postgres', initialFillDone: true, caughtUp: true, queueDepth: 0, lagSeconds: 0 });
    expect(health.body.appliedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    // The bridge's own view (cdc/health-server.ts), and how many WAL bytes the PIM is behind it.
    expect(health.body.bridge).toMatchObject({ state: 'active', flushedLsn: expect.stringMatching(/\//) });
    expect(health.body.bridge.lagBytes).toBeGreaterThanOrEqual(0);
    expect(health.headers.get('x-data-lsn')).toBe(health.body.appliedLsn);
  });

  it('when a product is created in the legacy, then the PIM answers it within two seconds', async () => {
    stack.now = new Date('2025-06-16T08:30:00Z');
    const created = await legacy('/products', {
      method: 'POST',
      body: {
        product: {
          sku: 'PIM-NEW-1',
          name: 'Strangler Follow Tee',
          price: 45,
          status: 1,
          visibility: 4,
          type_id: 'simple',
          weight: 0.5,
          extension_attributes: { category_links: [{ position: 2, category_id: '3' }], stock_item: { qty: 12, is_in_stock: true } },
          tier_prices: [
            { customer_group_id: 32000, qty: 5, value: 40 },
            { customer_group_id: 2, qty: 10, value: 0, extension_attributes: { percentage_value: 10 } },
          ],
          custom_attributes: [
            { attribute_code: 'description', value: '<p>Made for the PIM.</p>' },
            { attribute_code: 'special_price', value: '39.5' },
            { attribute_code: 'special_from_date', value: '2025-06-01' },
          ],
        },
      },
    });
    expect(created.status, created.text).toBe(200);
    const answer = await inSync('PIM-NEW-1');
    expect(answer.body).toMatchObject({ sku: 'PIM-NEW-1', price: 45, weight: 0.5 });
  });

  const updates: Array<[string, Record<string, unknown>]> = [
    ['a varchar attribute (name)', { name: 'Renamed Follow Tee' }],
    ['a decimal attribute (price)', { price: '47.99' }],
    ['an int attribute (status)', { status: 2 }],
    ['a select attribute (color)', { custom_attributes: [{ attribute_code: 'color', value: '__COLOR__' }] }],
    ['a text attribute (description)', { custom_attributes: [{ attribute_code: 'description', value: '<p>Now longer.</p>' }] }],
    ['a datetime attribute (special_to_date)', { custom_attributes: [{ attribute_code: 'special_to_date', value: '2025-07-01' }] }],
    ['a removed value (special_price → null)', { custom_attributes: [{ attribute_code: 'special_price', value: null }] }],
    ['a category link', { extension_attributes: { category_links: [{ position: 1, category_id: '4' }, { position: 3, category_id: '3' }] } }],
    ['the stock', { extension_attributes: { stock_item: { qty: 0, is_in_stock: false } } }],
    ['the tier prices', { tier_prices: [{ customer_group_id: 1, qty: 3, value: 41 }] }],
  ];
  for (const [what, change] of updates) {
    it(`when ${what} changes in the legacy, then the PIM shows it within two seconds`, async () => {
      stack.now = new Date(stack.now.getTime() + 60_000);
      let body = JSON.stringify(change);
      if (body.includes('__COLOR__')) {
        const colors = await legacy('/products?searchCriteria[filter_groups][0][filters][0][field]=color&searchCriteria[filter_groups][0][filters][0][condition_type]=notnull&searchCriteria[pageSize]=1');
        const color = (colors.body.items[0] as MagentoProduct).custom_attributes.find((a) => a.attribute_code === 'color')!.value as string;
        body = body.replace('__COLOR__', color);
      }
      const response = await legacy('/products/PIM-NEW-1', { method: 'PUT', body: { product: JSON.parse(body) } });
      expect(response.status, response.text).toBe(200);
      await inSync('PIM-NEW-1');
    });
  }

  it('when the product is deleted in the legacy, then the PIM answers 404 like the legacy within two seconds', async () => {
    const deleted = await legacy('/products/PIM-NEW-1', { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    const answer = await inSync('PIM-NEW-1');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ message: "The product that was requested doesn't exist. Verify the product and try again.", parameters: [] });
  });

  it('when old and duplicate changes are delivered again, out of order, then no document regresses', async () => {
    const [sku] = await allLegacySkus();
    stack.now = new Date(stack.now.getTime() + 60_000);
    const first = await legacy(`/products/${sku}`, { method: 'PUT', body: { product: { name: 'First Name', price: '10' } } });
    expect(first.status).toBe(200);
    await inSync(sku!);
    stack.now = new Date(stack.now.getTime() + 60_000);
    const second = await legacy(`/products/${sku}`, { method: 'PUT', body: { product: { name: 'Second Name', price: '20' } } });
    expect(second.status).toBe(200);
    const fresh = await inSync(sku!);
    const lsnBefore = fresh.headers.get('x-data-lsn');

    // Every message the bridge published about this product so far, re-delivered oldest last.
    const entityId = (fresh.body as MagentoProduct).id;
    const mine = stack.fixture.received.filter((m) => m.body.after?.entity_id === entityId || m.body.before?.entity_id === entityId);
    expect(mine.length).toBeGreaterThan(4);
    const skippedBefore = await skippedCount();
    const connection = await amqp.connect(stack.fixture.amqpUrl);
    const channel = await connection.createConfirmChannel();
    for (const message of [...mine].reverse()) {
      channel.sendToQueue(stack.queue, Buffer.from(JSON.stringify(message.body)), {
        messageId: message.messageId,
        headers: message.headers,
        contentType: 'application/json',
        persistent: true,
      });
    }
    await channel.waitForConfirms();
    await connection.close();
    await eventually(skippedCount, (count) => count >= skippedBefore + mine.length, 5000, 'the replayed changes to be handled');

    const after = await pim(`/rest/V1/products/${sku}`);
    expect(after.text).toBe(fresh.text);
    expect(after.body.name).toBe('Second Name');
    expect(after.headers.get('x-data-lsn')).toBe(lsnBefore);
  });
});

async function skippedCount(): Promise<number> {
  const metrics = await pim('/metrics');
  const match = /^pim_changes_skipped_total (\d+)/m.exec(metrics.text);
  return Number(match?.[1] ?? 0);
}
