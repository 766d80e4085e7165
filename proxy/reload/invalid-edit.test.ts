import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('when routes.yaml becomes invalid', () => {
  let legacy: TestUpstream;
  let pim: TestUpstream;
  let proxy: TestProxy;
  const valid = (mode: 'legacy' | 'extracted') => routesFor({ legacy: legacy.url, pim: pim.url }, `  - id: product\n    match: { path: "/rest/V1/products/:sku" }\n    mode: ${mode}\n    target: ${mode === 'legacy' ? 'legacy' : 'pim'}\n`);

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    pim = await startUpstream(echo('pim'));
    proxy = await startProxy(valid('legacy'));
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([legacy.close(), pim.close()]);
  });

  it('then the last good table keeps serving, the error has line and column, and the next valid edit is picked up', async () => {
    proxy.writeRoutes(valid('extracted'));
    expect((await proxy.proxy.store.reload()).result).toBe('applied');
    expect(JSON.parse((await send(`${proxy.url}/rest/V1/products/A`)).body).upstream).toBe('pim');
    const good = proxy.proxy.store.current.table.version;

    proxy.writeRoutes(`${valid('extracted')}  - id: broken\n    match: { path: "/x" }\n    mode: extracted\n    target: nowhere\n`);
    const refused = await proxy.proxy.store.reload();
    expect(refused.result).toBe('invalid');
    expect(proxy.proxy.store.current.table.version).toBe(good);
    expect(proxy.proxy.store.lastError).toMatchObject({ code: 'PROXY_ROUTES_INVALID', line: 12, column: 13, message: expect.stringContaining('unknown upstream "nowhere"') });
    expect(JSON.parse((await send(`${proxy.url}/rest/V1/products/A`)).body).upstream).toBe('pim');

    proxy.writeRoutes('upstreams: [this is: not, a map\n');
    expect((await proxy.proxy.store.reload()).result).toBe('invalid');
    expect(proxy.proxy.store.lastError?.line).toBeGreaterThan(0);
    expect(JSON.parse((await send(`${proxy.url}/rest/V1/products/A`)).body).upstream).toBe('pim');

    proxy.writeRoutes(valid('legacy'));
    expect((await proxy.proxy.store.reload()).result).toBe('applied');
    expect(proxy.proxy.store.lastError).toBeNull();
    expect(JSON.parse((await send(`${proxy.url}/rest/V1/products/A`)).body).upstream).toBe('legacy');
  });
});
