import { request, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, routesFor, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

/**
 * Regression for http-proxy issue #1586: http-proxy 1.18 aborts the upstream request only on the
 * incoming request's 'aborted' event, which Node stops emitting once the request body has been
 * read — so a shopper closing the tab during a slow page left the upstream socket (and the
 * response it later produced) to leak.
 */
describe('a client that aborts', () => {
  let legacy: TestUpstream;
  let proxy: TestProxy;
  const held: ServerResponse[] = [];
  let upstreamSawClose = 0;

  beforeAll(async () => {
    legacy = await startUpstream((req, res) => {
      res.on('close', () => (upstreamSawClose += 1));
      if (req.url === '/slow') {
        held.push(res); // never answers
        return;
      }
      // /stream: an endless response, one chunk every 10 ms.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('tick\n'), 10);
      res.on('close', () => clearInterval(timer));
    });
    proxy = await startProxy(routesFor({ legacy: legacy.url }, '  - id: all\n    match: { path: "/*" }\n'));
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
  });

  it('while the upstream is still thinking, leaks no upstream socket', async () => {
    for (let index = 0; index < 5; index += 1) {
      const req = request(`${proxy.url}/slow`, { agent: false });
      req.on('error', () => {});
      req.end();
      await eventually(() => held.length === index + 1);
      req.destroy();
    }
    await eventually(() => upstreamSawClose === 5 && legacy.openSockets() === 0);
    expect(legacy.openSockets()).toBe(0);
  });

  it('in the middle of a streamed response, leaks no upstream socket', async () => {
    const before = upstreamSawClose;
    await new Promise<void>((resolve, reject) => {
      const req = request(`${proxy.url}/stream`, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.end();
      setTimeout(() => reject(new Error('no data')), 3000);
    });
    await eventually(() => upstreamSawClose === before + 1 && legacy.openSockets() === 0);
    expect(legacy.openSockets()).toBe(0);
  });
});
