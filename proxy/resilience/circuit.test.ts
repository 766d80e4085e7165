import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('the circuit breaker through the proxy', () => {
  let legacy: TestUpstream;
  let pricing: TestUpstream;
  let proxy: TestProxy;
  let healthy = false;
  let pricingHits = 0;

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    pricing = await startUpstream((req, res) => {
      pricingHits += 1;
      if (healthy) echo('pricing')(req, res);
      else {
        res.writeHead(502);
        res.end();
      }
    });
    proxy = await startProxy(`upstreams:
  legacy: { url: "${legacy.url}" }
  pricing: { url: "${pricing.url}", circuit: { failures: 3, resetMs: 300 } }
routes:
  - id: final-price
    match: { path: "/rest/V1/products/:sku/final-price" }
    mode: extracted
    target: pricing
    fallback: legacy
`);
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), pricing.close()]);
  });

  const get = () => send(`${proxy.url}/rest/V1/products/A/final-price`);

  it('opens after consecutive failures, stops calling the target, probes after resetMs and closes on success', async () => {
    for (let index = 0; index < 3; index += 1) expect((await get()).headers['x-strangler-fallback']).toBe('status-502');
    expect(pricingHits).toBe(3);

    const whileOpen = await get();
    expect(whileOpen.headers['x-strangler-fallback']).toBe('circuit-open');
    expect(JSON.parse(whileOpen.body).upstream).toBe('legacy');
    expect(pricingHits).toBe(3);
    const metrics = await proxy.proxy.metrics.registry.getSingleMetricAsString('strangler_proxy_circuit_state');
    expect(metrics).toContain('strangler_proxy_circuit_state{upstream="pricing"} 1');

    healthy = true;
    await new Promise((resolve) => setTimeout(resolve, 350));
    const probe = await get();
    expect(JSON.parse(probe.body).upstream).toBe('pricing');
    expect(probe.headers['x-strangler-fallback']).toBeUndefined();
    expect(pricingHits).toBe(4);
    expect(proxy.proxy.pool.states().find((state) => state.upstream === 'pricing')?.state).toBe('closed');
    expect(JSON.parse((await get()).body).upstream).toBe('pricing');
  });
});
