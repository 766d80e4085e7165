import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';
import { createBearerCheck } from './admin-token.ts';

describe('the admin API', () => {
  let legacy: TestUpstream;
  let proxy: TestProxy;
  let admin: string;
  const token = 'test-token-0123456789abcdef';
  const auth = { authorization: `Bearer ${token}` };
  const table = routesFor({ legacy: '${LEGACY_URL}' }, '  - id: all-products\n    match: { path: "/rest/V1/products/*" }\n  - id: one\n    match: { path: "/rest/V1/products/:sku" }\n');

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    proxy = await startProxy(table, { adminToken: token, env: { LEGACY_URL: legacy.url } });
    const address = await proxy.proxy.listenAdmin(0);
    admin = `http://127.0.0.1:${address?.port}`;
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
  });

  it('refuses every endpoint without the right bearer token', async () => {
    for (const path of ['/routes', '/metrics', '/healthz']) {
      expect((await send(`${admin}${path}`)).status).toBe(401);
      expect((await send(`${admin}${path}`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    }
    expect((await send(`${admin}/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
  });

  it('GET /routes shows the effective table, version, load time and warnings', async () => {
    const body = JSON.parse((await send(`${admin}/routes`, { headers: auth })).body);
    expect(body).toMatchObject({
      version: proxy.proxy.store.current.table.version,
      upstreams: [{ name: 'legacy', url: `${legacy.url}/`, circuit: { state: 'closed' } }],
      routes: [{ id: 'all-products', mode: 'legacy' }, { id: 'one', mode: 'legacy' }],
      warnings: [expect.objectContaining({ line: 6, message: expect.stringContaining('"one" is unreachable') })],
      lastError: null,
    });
    expect(Date.parse(body.loadedAt)).not.toBeNaN();
  });

  it('POST /reload applies a valid file, and reports an invalid one with line and column (422) while the old table stays', async () => {
    proxy.writeRoutes(`${table}  - id: bad\n    match: { path: "/b" }\n    mode: canary\n    target: legacy\n    canary: { percent: -1 }\n`);
    const refused = await send(`${admin}/reload`, { method: 'POST', headers: auth });
    expect(refused.status).toBe(422);
    const body = JSON.parse(refused.body);
    expect(body.result).toBe('invalid');
    expect(body.lastError).toMatchObject({ code: 'PROXY_ROUTES_INVALID', line: 12, column: 24 });
    expect(body.routes).toHaveLength(2);

    proxy.writeRoutes(table.replace('all-products', 'all'));
    const applied = JSON.parse((await send(`${admin}/reload`, { method: 'POST', headers: auth })).body);
    expect(applied).toMatchObject({ result: 'applied', lastError: null, routes: [{ id: 'all' }, { id: 'one' }] });
  });

  it('GET /metrics counts requests by route, target, mode and status, and the share served per upstream', async () => {
    await send(`${proxy.url}/rest/V1/products/X`);
    await send(`${proxy.url}/elsewhere`);
    const text = (await send(`${admin}/metrics`, { headers: auth })).body;
    expect(text).toMatch(/strangler_proxy_requests_total\{route="all",target="legacy",mode="legacy",status="200"\} 1/);
    expect(text).toMatch(/strangler_proxy_requests_total\{route="default-legacy",target="legacy",mode="legacy",status="200"\} 1/);
    expect(text).toContain('strangler_proxy_request_duration_seconds_bucket');
    expect(text).toContain('strangler_proxy_upstream_traffic_share{upstream="legacy"} 1');
    expect(text).toContain('strangler_proxy_migrated_share 0');
    expect(text).toContain('strangler_proxy_circuit_state{upstream="legacy"} 0');
  });

  it('GET /healthz answers with the table version', async () => {
    expect(JSON.parse((await send(`${admin}/healthz`, { headers: auth })).body)).toEqual({ status: 'ok', version: proxy.proxy.store.current.table.version });
  });
});

describe('createBearerCheck', () => {
  it('accepts only the exact token, whatever the length of the attempt', () => {
    const check = createBearerCheck('s3cret');
    expect(check('Bearer s3cret')).toBe(true);
    expect(check('Bearer s3cre')).toBe(false);
    expect(check('Bearer s3cretX')).toBe(false);
    expect(check('s3cret')).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(createBearerCheck('')('Bearer ')).toBe(false);
  });
});
