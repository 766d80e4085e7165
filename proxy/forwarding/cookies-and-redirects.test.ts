import { gzipSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('cookies, redirects and encodings pass through as the storefront expects', () => {
  let legacy: TestUpstream;
  let pim: TestUpstream;
  let proxy: TestProxy;
  const compressed = gzipSync(Buffer.from('<html>'.padEnd(5000, 'x')));

  beforeAll(async () => {
    legacy = await startUpstream((req, res) => {
      if (req.url === '/customer/account/loginPost') {
        res.writeHead(302, [
          'Location', `http://${req.headers.host}/customer/account/`,
          'Set-Cookie', 'PHPSESSID=abc123; path=/; HttpOnly; SameSite=Lax',
          'Set-Cookie', 'form_key=XyZ; expires=Wed, 01 Jan 2031 00:00:00 GMT; path=/',
          'Set-Cookie', 'private_content_version=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/',
        ]);
        res.end();
        return;
      }
      if (req.url === '/gzipped') {
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': compressed.length });
        res.end(compressed);
        return;
      }
      res.end(JSON.stringify({ cookie: req.headers.cookie ?? null }));
    });
    pim = await startUpstream((req, res) => {
      const target = req.url === '/rest/V1/pim/away' ? 'https://payments.example.net/pay?x=1' : `http://127.0.0.1:${pim.port}/rest/V1/products/NEW-SKU?ref=1`;
      res.writeHead(301, { location: target });
      res.end();
    });
    proxy = await startProxy(
      routesFor({ legacy: legacy.url, pim: pim.url }, `  - id: pim
    match: { path: "/rest/V1/pim/*" }
    mode: extracted
    target: pim
`),
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), pim.close()]);
  });

  it('passes every Set-Cookie line untouched and forwards the Cookie header', async () => {
    const response = await send(`${proxy.url}/customer/account/loginPost`, { method: 'POST', headers: { host: 'shop.example.com' } });
    expect(response.status).toBe(302);
    expect(response.headers['set-cookie']).toEqual([
      'PHPSESSID=abc123; path=/; HttpOnly; SameSite=Lax',
      'form_key=XyZ; expires=Wed, 01 Jan 2031 00:00:00 GMT; path=/',
      'private_content_version=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/',
    ]);
    expect(response.headers.location).toBe('http://shop.example.com/customer/account/');
    const echoed = await send(`${proxy.url}/cart`, { headers: { cookie: 'PHPSESSID=abc123; form_key=XyZ' } });
    expect(JSON.parse(echoed.body).cookie).toBe('PHPSESSID=abc123; form_key=XyZ');
  });

  it('rewrites a redirect that points at the upstream itself to the origin the shopper used', async () => {
    const response = await send(`${proxy.url}/rest/V1/pim/old-sku`, { headers: { host: 'shop.example.com' } });
    expect(response.status).toBe(301);
    expect(response.headers.location).toBe('http://shop.example.com/rest/V1/products/NEW-SKU?ref=1');
  });

  it('leaves a redirect to a third party alone', async () => {
    const response = await send(`${proxy.url}/rest/V1/pim/away`, { headers: { host: 'shop.example.com' } });
    expect(response.headers.location).toBe('https://payments.example.net/pay?x=1');
  });

  it('passes Content-Encoding and the compressed bytes untouched', async () => {
    const response = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${proxy.url}/gzipped`, { agent: false, headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        }).on('error', reject),
      );
    });
    expect(response.encoding).toBe('gzip');
    expect(response.body.equals(compressed)).toBe(true);
    expect(gunzipSync(response.body).toString().startsWith('<html>')).toBe(true);
  });
});
