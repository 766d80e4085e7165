import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('fallback: legacy, and the errors without it', () => {
  let legacy: TestUpstream;
  let slow: TestUpstream;
  let failing: TestUpstream;
  let proxy: TestProxy;
  const deadUrl = 'http://127.0.0.1:1'; // nothing listens on port 1

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    slow = await startUpstream((_req, res) => {
      const timer = setTimeout(() => res.end('too late'), 2000);
      res.on('close', () => clearTimeout(timer));
    });
    failing = await startUpstream((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('pricing is redeploying');
    });
    const route = (id: string, path: string, target: string, fallback: boolean) =>
      `  - id: ${id}\n    match: { path: "${path}" }\n    mode: extracted\n    target: ${target}\n${fallback ? '    fallback: legacy\n' : ''}`;
    proxy = await startProxy(`upstreams:
  legacy: { url: "${legacy.url}" }
  dead: { url: "${deadUrl}", circuit: { failures: 1000 } }
  slow: { url: "${slow.url}", timeoutMs: 150, circuit: { failures: 1000 } }
  failing: { url: "${failing.url}", circuit: { failures: 1000 } }
routes:
${route('dead-fb', '/rest/V1/dead-fb/*', 'dead', true)}${route('slow-fb', '/rest/V1/slow-fb/*', 'slow', true)}${route('failing-fb', '/rest/V1/failing-fb/*', 'failing', true)}${route('dead', '/rest/V1/dead/*', 'dead', false)}${route('slow', '/rest/V1/slow/*', 'slow', false)}${route('dead-page', '/catalog/*', 'dead', false)}`);
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), slow.close(), failing.close()]);
  });

  it('when the target is dead, a GET is answered by legacy and says why', async () => {
    const response = await send(`${proxy.url}/rest/V1/dead-fb/x`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).upstream).toBe('legacy');
    expect(response.headers['x-strangler-fallback']).toBe('error');
    expect(response.headers['x-strangler-target']).toBe('legacy');
  });

  it('when the target is too slow, a GET is answered by legacy after the timeout', async () => {
    const started = Date.now();
    const response = await send(`${proxy.url}/rest/V1/slow-fb/x`);
    expect(JSON.parse(response.body).upstream).toBe('legacy');
    expect(response.headers['x-strangler-fallback']).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('when the target answers 5xx, a GET is answered by legacy', async () => {
    const response = await send(`${proxy.url}/rest/V1/failing-fb/x`);
    expect(JSON.parse(response.body).upstream).toBe('legacy');
    expect(response.headers['x-strangler-fallback']).toBe('status-503');
  });

  it('an unsafe method is never replayed on legacy: POST gets the 502', async () => {
    const response = await send(`${proxy.url}/rest/V1/dead-fb/x`, { method: 'POST', body: '{"cartItem":{}}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(502);
    expect(response.headers['x-strangler-fallback']).toBeUndefined();
  });

  it('without fallback, a dead target gives 502 as Magento-style JSON under /rest/, with no stack trace', async () => {
    const response = await send(`${proxy.url}/rest/V1/dead/x`);
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toContain('application/json');
    expect(JSON.parse(response.body)).toEqual({ message: 'The service is temporarily unavailable.', parameters: [] });
    expect(response.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|at /);
  });

  it('without fallback, a slow target gives 504', async () => {
    const response = await send(`${proxy.url}/rest/V1/slow/x`);
    expect(response.status).toBe(504);
    expect(JSON.parse(response.body).message).toBe('The service took too long to respond.');
  });

  it('a storefront page gets a small HTML error page instead', async () => {
    const response = await send(`${proxy.url}/catalog/product/view/id/1`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body.length).toBeLessThan(600);
    expect(response.body).toContain(response.headers['x-request-id'] as string);
  });
});
