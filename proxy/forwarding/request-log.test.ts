import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootLogger } from '../../platform/logger.ts';
import { echo, routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('the request log', () => {
  let legacy: TestUpstream;
  let proxy: TestProxy;
  const lines: string[] = [];

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    proxy = await startProxy(routesFor({ legacy: legacy.url }, '  - id: carts\n    match: { path: "/rest/V1/carts/*" }\n'), { logger: createRootLogger({ name: 'test', destination }) });
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
  });

  it('writes one line per request with route, target, mode, status, duration, bytes and request id — and no secrets', async () => {
    const response = await send(`${proxy.url}/rest/V1/carts/mine`, { headers: { authorization: 'Bearer customer-token-SECRET', cookie: 'PHPSESSID=session-SECRET' } });
    // Request lines reach the stream in batches, at most a second late (request-log.ts).
    const requestLines = await eventually(() => {
      const found = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request');
      return found.length > 0 ? found : undefined;
    });
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({
      component: 'proxy',
      reqId: response.headers['x-request-id'],
      method: 'GET',
      path: '/rest/V1/carts/mine',
      route: 'carts',
      target: 'legacy',
      mode: 'legacy',
      status: 200,
      bytes: Buffer.byteLength(response.body),
    });
    expect(typeof requestLines[0]?.ms).toBe('number');
    expect(lines.join('\n')).not.toContain('SECRET');
  });
});

async function eventually<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
