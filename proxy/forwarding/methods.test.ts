import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('HEAD, OPTIONS and Expect: 100-continue', () => {
  let legacy: TestUpstream;
  let proxy: TestProxy;

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    proxy = await startProxy(routesFor({ legacy: legacy.url }, '  - id: all\n    match: { path: "/*" }\n'));
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
  });

  it('HEAD gets the headers of GET and no body', async () => {
    const response = await send(`${proxy.url}/catalog/product/view/id/1`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.body).toBe('');
    expect(Number(response.headers['content-length'])).toBeGreaterThan(0);
  });

  it('OPTIONS (a CORS preflight) reaches the upstream', async () => {
    const response = await send(`${proxy.url}/rest/V1/carts/mine`, { method: 'OPTIONS', headers: { origin: 'https://pwa.example.com', 'access-control-request-method': 'PUT' } });
    expect(JSON.parse(response.body)).toMatchObject({ method: 'OPTIONS', headers: { 'access-control-request-method': 'PUT' } });
  });

  it('a client sending Expect: 100-continue gets 100 Continue, then its body arrives upstream', async () => {
    const body = Buffer.alloc(64 * 1024, 'a');
    const result = await new Promise<{ continued: boolean; status: number; text: string }>((resolve, reject) => {
      let continued = false;
      const req = request(`${proxy.url}/checkout/upload`, { method: 'POST', agent: false, headers: { expect: '100-continue', 'content-length': body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ continued, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      });
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
    });
    expect(result.continued).toBe(true);
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text).bodyBytes).toBe(body.length);
  });
});
