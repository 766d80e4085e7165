import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MagentoProduct } from '../../../legacy-stub/catalog/magento-product.ts';
import { call, eventually, PimStack } from '../testing/pim-stack.ts';

// `npm start` spawns every process at once: the PIM may request its snapshot before the bridge
// runs; the request waits in the signal queue until the bridge takes it.
let stack: PimStack;

beforeAll(async () => {
  stack = await PimStack.start({ products: 30, label: 'pim_early', pimFirst: true });
});

afterAll(async () => {
  await stack?.stop();
});

describe('when the PIM starts before the CDC bridge has ever run', () => {
  it('then it is seeding, not ready, and seeds itself once the bridge runs', async () => {
    await stack.pim.synced;
    const early = await call(stack.pimBase, '/readyz');
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ ready: false, status: 'seeding', snapshot: { id: expect.any(String), rowsEmitted: 0 }, initialFillDone: false });

    await stack.startBridge();
    await eventually(() => call(stack.pimBase, '/readyz'), (answer) => answer.status === 200, 60_000, 'readyz');
    const listing = await call(stack.legacyBase, '/rest/V1/products?searchCriteria[pageSize]=100');
    expect(listing.body.items).toHaveLength(30);
    for (const item of listing.body.items as MagentoProduct[]) {
      const [expected, actual] = await Promise.all([call(stack.legacyBase, `/rest/V1/products/${item.sku}`), call(stack.pimBase, `/rest/V1/products/${item.sku}`)]);
      expect(actual.text).toBe(expected.text);
    }
  });
});
