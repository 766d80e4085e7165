import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MagentoProduct } from '../../../legacy-stub/catalog/magento-product.ts';
import { call, eventually, PimStack } from '../testing/pim-stack.ts';

// `npm start` spawns every process at once: the PIM may look for the bridge's stream before the
// bridge has declared it, while the bridge is about to publish the seed.
let stack: PimStack;

beforeAll(async () => {
  stack = await PimStack.start({ products: 30, label: 'pim_early', pimFirst: true });
});

afterAll(async () => {
  await stack?.stop();
});

describe('when the PIM starts before the CDC bridge has ever run', () => {
  it('then it is not ready, waits for the stream, and catches up from it once the bridge runs', async () => {
    const early = await call(stack.pimBase, '/readyz');
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ ready: false, initialFillDone: false });

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
