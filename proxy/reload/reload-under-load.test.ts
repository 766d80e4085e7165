import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesFor, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('reloading under concurrent load', () => {
  let legacy: TestUpstream;
  let pim: TestUpstream;
  let proxy: TestProxy;
  let release: (() => void)[] = [];
  const respond = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
    const finish = () => res.end(name);
    if (req.url?.endsWith('/hold')) release.push(finish);
    else finish();
  };
  const table = (mode: 'legacy' | 'extracted') => routesFor({ legacy: legacy.url, pim: pim.url }, `  - id: product-${mode}\n    match: { path: "/rest/V1/products/*" }\n    mode: ${mode}\n    target: ${mode === 'legacy' ? 'legacy' : 'pim'}\n`);

  beforeAll(async () => {
    legacy = await startUpstream(respond('legacy'));
    pim = await startUpstream(respond('pim'));
    proxy = await startProxy(table('legacy'));
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), pim.close()]);
  });

  function get(agent: Agent, path: string): Promise<{ status: number; body: string; route: string }> {
    return new Promise((resolve, reject) => {
      request(`${proxy.url}${path}`, { agent }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, route: String(res.headers['x-strangler-route']) }));
      })
        .on('error', reject)
        .end();
    });
  }

  it('30 reloads while 8 clients keep requesting: zero failed requests, both sides served', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes = { ok: 0, failed: 0, legacy: 0, pim: 0 };
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const response = await get(agent, '/rest/V1/products/A');
          if (response.status === 200) {
            outcomes.ok += 1;
            outcomes[response.body as 'legacy' | 'pim'] += 1;
          } else outcomes.failed += 1;
        } catch {
          outcomes.failed += 1;
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    for (let reload = 0; reload < 30; reload += 1) {
      proxy.writeRoutes(table(reload % 2 === 0 ? 'extracted' : 'legacy'));
      expect((await proxy.proxy.store.reload()).result).toBe('applied');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    running = false;
    await Promise.all(clients);
    agent.destroy();
    expect(outcomes.failed).toBe(0);
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes.legacy).toBeGreaterThan(0);
    expect(outcomes.pim).toBeGreaterThan(0);
  });

  it('a request in flight finishes on the table it started with', async () => {
    proxy.writeRoutes(table('legacy'));
    await proxy.proxy.store.reload();
    const agent = new Agent({ keepAlive: false });
    const inFlight = get(agent, '/rest/V1/products/hold');
    while (release.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    proxy.writeRoutes(table('extracted'));
    expect((await proxy.proxy.store.reload()).result).toBe('applied');
    release.forEach((finish) => finish());
    release = [];
    const response = await inFlight;
    expect(response).toMatchObject({ status: 200, body: 'legacy', route: 'product-legacy' });
    expect((await get(agent, '/rest/V1/products/A')).route).toBe('product-extracted');
  });
});
