import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('every mode, through a real proxy to real upstreams', () => {
  let legacy: TestUpstream;
  let pim: TestUpstream;
  let pricing: TestUpstream;
  let proxy: TestProxy;

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    pim = await startUpstream(echo('pim'));
    pricing = await startUpstream(echo('pricing'));
    proxy = await startProxy(
      routesFor(
        { legacy: legacy.url, pim: pim.url, pricing: pricing.url },
        `  - id: final-price
    match: { method: GET, path: "/rest/V1/products/:sku/final-price" }
    mode: canary
    target: pricing
    canary: { percent: 50, stickyBy: "cookie:PHPSESSID" }
  - id: product-by-sku
    match: { method: [GET, HEAD], path: "/rest/V1/products/:sku" }
    mode: extracted
    target: pim
  - id: product-search
    match: { path: "/rest/V1/products" }
    mode: shadow
    target: pim
  - id: carts
    match: { path: "/rest/V1/carts/*" }
    mode: legacy
`,
      ),
    );
  });

  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), pim.close(), pricing.close()]);
  });

  it('mode extracted goes to the target and says so in X-Strangler-Route / -Target', async () => {
    const response = await send(`${proxy.url}/rest/V1/products/24-MB01`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ upstream: 'pim', url: '/rest/V1/products/24-MB01' });
    expect(response.headers['x-strangler-route']).toBe('product-by-sku');
    expect(response.headers['x-strangler-target']).toBe('pim');
  });

  it('mode legacy and unmatched requests go to legacy', async () => {
    expect(JSON.parse((await send(`${proxy.url}/rest/V1/carts/mine`)).body).upstream).toBe('legacy');
    const unmatched = await send(`${proxy.url}/checkout/cart/`);
    expect(JSON.parse(unmatched.body).upstream).toBe('legacy');
    expect(unmatched.headers['x-strangler-route']).toBe('default-legacy');
  });

  it('mode shadow is answered by legacy (the target is only asked on the side: proxy/shadow/shadow-mode.test.ts)', async () => {
    const response = await send(`${proxy.url}/rest/V1/products?searchCriteria[pageSize]=2`);
    expect(JSON.parse(response.body)).toMatchObject({ upstream: 'legacy', url: '/rest/V1/products?searchCriteria[pageSize]=2' });
    expect(response.headers['x-strangler-target']).toBe('legacy');
  });

  it('mode canary keeps each session on one side and splits sessions roughly by percent', async () => {
    const sides = new Map<string, string>();
    for (let session = 0; session < 60; session += 1) {
      const cookie = `PHPSESSID=session-${session}`;
      const first = JSON.parse((await send(`${proxy.url}/rest/V1/products/X/final-price`, { headers: { cookie } })).body).upstream as string;
      const second = JSON.parse((await send(`${proxy.url}/rest/V1/products/X/final-price`, { headers: { cookie } })).body).upstream as string;
      expect(second).toBe(first);
      sides.set(cookie, first);
    }
    const toPricing = [...sides.values()].filter((side) => side === 'pricing').length;
    expect(toPricing).toBeGreaterThan(15);
    expect(toPricing).toBeLessThan(45);
  });

  it('a path climbing out of an extracted route with ../ lands where it resolves, and the upstream sees the resolved path', async () => {
    const response = await send(`${proxy.url}/rest/V1/products/%2e%2e/carts/mine`);
    expect(JSON.parse(response.body)).toMatchObject({ upstream: 'legacy', url: '/rest/V1/carts/mine' });
    expect(response.headers['x-strangler-route']).toBe('carts');
  });
});
