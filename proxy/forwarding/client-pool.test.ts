import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe("an upstream's keep-alive connections", () => {
  let legacy: TestUpstream;
  let proxy: TestProxy;
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    legacy = await startUpstream((req, res) => {
      if (req.url === '/held') {
        held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
    });
    proxy = await startProxy(`upstreams:\n  legacy: { url: "${legacy.url}", maxFreeSockets: 2 }\nroutes:\n  - id: all\n    match: { path: "/*" }\n`);
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
  });

  it('are reused one after another, and at most maxFreeSockets stay open once a burst is over', async () => {
    for (let index = 0; index < 5; index += 1) expect((await send(`${proxy.url}/one-by-one`)).status).toBe(200);
    expect(legacy.openSockets()).toBe(1);

    const burst = Array.from({ length: 5 }, () => send(`${proxy.url}/held`));
    await eventually(() => held.length === 5);
    expect(legacy.openSockets()).toBe(5);
    for (const res of held) res.end('done');
    expect((await Promise.all(burst)).map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    await eventually(() => legacy.openSockets() === 2);
    expect(legacy.openSockets()).toBe(2);
  });
});
