import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

const routes = `  - id: product-by-sku
    match: { path: "/rest/V1/products/:sku" }
    mode: extracted
    target: pim
`;

describe('request and response headers through the proxy', () => {
  let legacy: TestUpstream;
  let pim: TestUpstream;
  let proxy: TestProxy;

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    pim = await startUpstream(echo('pim'));
    proxy = await startProxy(routesFor({ legacy: legacy.url, pim: pim.url }, routes));
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), pim.close()]);
  });

  const seen = async (path: string, headers: Record<string, string> = {}) => JSON.parse((await send(`${proxy.url}${path}`, { headers })).body).headers as Record<string, string>;

  it('legacy sees the Host the shopper used; an extracted service sees its own', async () => {
    expect((await seen('/customer/account', { host: 'shop.example.com' })).host).toBe('shop.example.com');
    expect((await seen('/rest/V1/products/A', { host: 'shop.example.com' })).host).toBe(`127.0.0.1:${pim.port}`);
  });

  it('appends X-Forwarded-For, -Proto and -Host to what an earlier proxy sent', async () => {
    const first = await seen('/x', { host: 'shop.example.com' });
    expect(first).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'shop.example.com' });
    const chained = await seen('/x', { host: 'shop.example.com', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'www.example.com' });
    expect(chained).toMatchObject({ 'x-forwarded-for': '203.0.113.7, 127.0.0.1', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'www.example.com, shop.example.com' });
  });

  it('drops hop-by-hop request headers, including those the Connection header names', async () => {
    const headers = await seen('/x', { connection: 'keep-alive, x-hop-secret', 'x-hop-secret': 'only-for-the-proxy', 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'Basic Zm9vOmJhcg==', 'x-end-to-end': 'kept' });
    expect(headers['x-hop-secret']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
    expect(headers.te).toBeUndefined();
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(headers['x-end-to-end']).toBe('kept');
  });

  it('generates X-Request-Id when absent, forwards it, and returns it; keeps one the client sent', async () => {
    const response = await send(`${proxy.url}/x`);
    const generated = response.headers['x-request-id'];
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(response.body).headers['x-request-id']).toBe(generated);
    const kept = await send(`${proxy.url}/x`, { headers: { 'x-request-id': 'from-the-edge-42' } });
    expect(kept.headers['x-request-id']).toBe('from-the-edge-42');
    expect(JSON.parse(kept.body).headers['x-request-id']).toBe('from-the-edge-42');
  });

  it('when settings.routeHeaders is false, then no X-Strangler-Route/-Target is added', async () => {
    const quiet = await startProxy(routesFor({ legacy: legacy.url, pim: pim.url }, routes, 'settings: { routeHeaders: false }\n'));
    try {
      const response = await send(`${quiet.url}/rest/V1/products/A`);
      expect(JSON.parse(response.body).upstream).toBe('pim');
      expect(response.headers['x-strangler-route']).toBeUndefined();
      expect(response.headers['x-strangler-target']).toBeUndefined();
    } finally {
      await quiet.close();
    }
  });
});

describe('a request line in absolute form (RFC 9112 §3.2.2)', () => {
  it('is routed and forwarded by its path and query', async () => {
    const legacy = await startUpstream(echo('legacy'));
    const pim = await startUpstream(echo('pim'));
    const proxy = await startProxy(routesFor({ legacy: legacy.url, pim: pim.url }, routes));
    try {
      const { connect } = await import('node:net');
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(proxy.port, '127.0.0.1', () => socket.write('GET http://shop.example.com/rest/V1/products/A?x=1 HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n'));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(raw).toContain('X-Strangler-Route: product-by-sku');
      expect(raw).toContain('"url":"/rest/V1/products/A?x=1"');
    } finally {
      await proxy.close();
      await Promise.all([legacy.close(), pim.close()]);
    }
  });
});
