import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RoutesInvalidError } from '../errors.ts';
import { parseRouteTable } from '../routes/route-table.ts';
import { routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

/** Mode shadow through the real proxy: routes.yaml, forwarder, admin API, metrics, journal. */
const TOKEN = 'shadow-mode-test-token-0123456789';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const json = (value: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

async function upstream(handler: Handler): Promise<TestUpstream> {
  const server = await startUpstream(handler);
  cleanup.push(() => server.close());
  return server;
}

async function proxyWith(legacy: TestUpstream, pricing: TestUpstream, shadowBlock: string, options: { dataDir?: string } = {}): Promise<TestProxy> {
  const routes = routesFor(
    { legacy: legacy.url, pricing: pricing.url },
    `  - id: final-price\n    match: { method: [GET, POST], path: "/rest/V1/products/:sku/final-price" }\n    mode: shadow\n    target: pricing\n    shadow: ${shadowBlock}\n`,
  );
  const proxy = await startProxy(routes, { adminToken: TOKEN, ...options });
  cleanup.push(() => proxy.close());
  return proxy;
}

async function admin(proxy: TestProxy, path: string): Promise<{ status: number; body: string }> {
  const address = await proxy.proxy.listenAdmin(0);
  const answer = await send(`http://127.0.0.1:${address?.port}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  await new Promise<void>((resolve) => proxy.proxy.adminServer?.close(() => resolve()));
  return answer;
}

describe('mode shadow through the proxy', () => {
  it('when a route is in shadow, then legacy answers the shopper and the target is asked the same question with X-Strangler-Shadow: 1', async () => {
    const seen: (string | undefined)[] = [];
    const legacy = await upstream(json({ price: 10 }));
    const pricing = await upstream((req, res) => {
      seen.push(req.headers['x-strangler-shadow'] as string | undefined);
      json({ price: 10 })(req, res);
    });
    const proxy = await proxyWith(legacy, pricing, '{ sampleRate: 1 }');
    const answer = await send(`${proxy.url}/rest/V1/products/A/final-price`);
    expect(answer.body).toBe('{"price":10}');
    expect(answer.headers['x-strangler-target']).toBe('legacy');
    await proxy.proxy.shadow.idle();
    expect(seen).toEqual(['1']);
    expect(proxy.proxy.shadowReport.route('final-price').summary().counts.match).toBe(1);
  });

  it('when a route is in shadow, then the target is asked only once the legacy has answered (the shopper first)', async () => {
    let legacyAnsweredAt = Number.NaN;
    let targetAskedAt = Number.NaN;
    const legacy = await upstream((req, res) => {
      setTimeout(() => {
        legacyAnsweredAt = performance.now();
        json({ price: 10 })(req, res);
      }, 100).unref();
    });
    const pricing = await upstream((req, res) => {
      targetAskedAt = performance.now();
      json({ price: 10 })(req, res);
    });
    const proxy = await proxyWith(legacy, pricing, '{ sampleRate: 1 }');
    expect((await send(`${proxy.url}/rest/V1/products/A/final-price`)).status).toBe(200);
    await proxy.proxy.shadow.idle();
    expect(targetAskedAt).toBeGreaterThan(legacyAnsweredAt);
    expect(proxy.proxy.shadowReport.route('final-price').summary().counts.match).toBe(1);
  });

  it('when the shadow target takes 2 s, then the shopper still gets the legacy answer at legacy speed', async () => {
    const legacy = await upstream(json({ price: 10 }));
    const pricing = await upstream((req, res) => setTimeout(() => json({ price: 10 })(req, res), 2000).unref());
    const proxy = await proxyWith(legacy, pricing, '{ timeoutMs: 300 }');
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(`${proxy.url}/rest/V1/products/A/final-price`)));
    expect(performance.now() - started).toBeLessThan(250);
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    await proxy.proxy.shadow.idle();
    expect(proxy.proxy.shadowReport.route('final-price').summary().reasons).toEqual({ 'error:timeout': 10 });
  });

  it('when the shadow target is dead, then the shopper is not affected and the verdict is error', async () => {
    const legacy = await upstream(json({ price: 10 }));
    const pricing = await upstream(json({ price: 10 }));
    const proxy = await proxyWith(legacy, pricing, '{}');
    await pricing.close();
    const answer = await send(`${proxy.url}/rest/V1/products/A/final-price`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('{"price":10}');
    await proxy.proxy.shadow.idle();
    expect(proxy.proxy.shadowReport.route('final-price').summary().counts.error).toBe(1);
  });

  it('when a POST matches a shadow route, then it goes to legacy only and is counted as skipped', async () => {
    let shadowCalls = 0;
    const legacy = await upstream(json({ ok: true }));
    const pricing = await upstream((req, res) => (shadowCalls++, json({ ok: true })(req, res)));
    const proxy = await proxyWith(legacy, pricing, '{}');
    expect((await send(`${proxy.url}/rest/V1/products/A/final-price`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(200);
    await proxy.proxy.shadow.idle();
    expect(shadowCalls).toBe(0);
    expect(proxy.proxy.shadowReport.route('final-price').summary().reasons).toEqual({ 'skipped:unsafe-method': 1 });
  });

  it('when the primary body is larger than maxBodyBytes, then the shopper gets every byte and the sides are compared by hash', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(200_000) });
    const legacy = await upstream((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(big));
    const pricing = await upstream((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`${big} `));
    const proxy = await proxyWith(legacy, pricing, '{ maxBodyBytes: 1000 }');
    expect((await send(`${proxy.url}/rest/V1/products/A/final-price`)).body).toBe(big);
    await proxy.proxy.shadow.idle();
    const report = proxy.proxy.shadowReport.route('final-price');
    expect(report.summary().counts.mismatch).toBe(1);
    expect(report.mismatches()[0]?.diffs.map((diff) => diff.kind)).toEqual(['hash']);
  });

  it('when the shopper leaves before the legacy answers, then nothing is compared and the shadow slot is freed', async () => {
    // The shopper leaves once the legacy has the request in hand (not after a fixed delay, which a
    // loaded machine can outrun before the request even reaches the proxy).
    let legacyHasIt: () => void = () => {};
    const legacyReceived = new Promise<void>((resolve) => {
      legacyHasIt = resolve;
    });
    const legacy = await upstream((req, res) => {
      legacyHasIt();
      setTimeout(() => json({ price: 10 })(req, res), 300).unref();
    });
    const pricing = await upstream(json({ price: 10 }));
    const proxy = await proxyWith(legacy, pricing, '{ maxConcurrent: 1 }');
    const controller = new AbortController();
    const leaving = fetch(`${proxy.url}/rest/V1/products/A/final-price`, { signal: controller.signal }).catch((error: unknown) => error);
    await legacyReceived;
    controller.abort();
    await leaving;
    await proxy.proxy.shadow.idle();
    // The one slot is free again: the next request is mirrored and compared.
    expect((await send(`${proxy.url}/rest/V1/products/B/final-price`)).status).toBe(200);
    await proxy.proxy.shadow.idle();
    const summary = proxy.proxy.shadowReport.route('final-price').summary();
    expect(summary.counts).toMatchObject({ match: 1, skipped: 1 });
    expect(summary.reasons).toEqual({ 'skipped:client-aborted': 1 });
  });

  it('when primary: target (reverse shadow), then the service answers and the legacy is compared', async () => {
    const legacy = await upstream(json({ price: 10, from: 'legacy' }));
    const pricing = await upstream(json({ price: 10, from: 'pricing' }));
    const proxy = await proxyWith(legacy, pricing, '{ primary: target }');
    const answer = await send(`${proxy.url}/rest/V1/products/A/final-price`);
    expect(answer.headers['x-strangler-target']).toBe('pricing');
    expect(JSON.parse(answer.body)).toEqual({ price: 10, from: 'pricing' });
    await proxy.proxy.shadow.idle();
    expect(proxy.proxy.shadowReport.route('final-price').mismatches()[0]?.diffs).toEqual([{ path: '$.from', kind: 'changed', primary: 'pricing', shadow: 'legacy' }]);
  });

  it('then the admin API shows GET /shadow and /shadow/:routeId, and /metrics counts by route and verdict', async () => {
    const legacy = await upstream(json({ price: 10 }));
    const pricing = await upstream((req, res) => json({ price: req.url?.includes('/B/') ? 11 : 10 })(req, res));
    const proxy = await proxyWith(legacy, pricing, '{ sampleRate: 1, redact: ["$.price"] }');
    await send(`${proxy.url}/rest/V1/products/A/final-price`);
    await send(`${proxy.url}/rest/V1/products/B/final-price`, { headers: { cookie: 'PHPSESSID=secret' } });
    await proxy.proxy.shadow.idle();

    const all = JSON.parse((await admin(proxy, '/shadow')).body) as { routes: { routeId: string; compared: number; matchRate: number; route: { mode: string; target: string } }[] };
    expect(all.routes).toEqual([expect.objectContaining({ routeId: 'final-price', compared: 2, matchRate: 0.5, route: expect.objectContaining({ mode: 'shadow', target: 'pricing' }) })]);

    const one = JSON.parse((await admin(proxy, '/shadow/final-price')).body) as { topPaths: unknown; mismatches: { request: { url: string; headers: Record<string, string> }; primary: { body: string }; diffs: unknown }[] };
    expect(one.topPaths).toEqual([{ path: '$.price', count: 1 }]);
    expect(one.mismatches[0]?.request.url).toBe('/rest/V1/products/B/final-price');
    expect(one.mismatches[0]?.request.headers.cookie).toBe('[redacted]');
    expect(one.mismatches[0]?.primary.body).toBe('{"price":"[redacted]"}');
    expect(one.mismatches[0]?.diffs).toEqual([{ path: '$.price', kind: 'changed', primary: '[redacted]', shadow: '[redacted]' }]);
    expect((await admin(proxy, '/shadow/nope')).status).toBe(404);

    const metrics = (await admin(proxy, '/metrics')).body;
    expect(metrics).toContain('strangler_shadow_comparisons_total{route="final-price",verdict="match"} 1');
    expect(metrics).toContain('strangler_shadow_comparisons_total{route="final-price",verdict="mismatch"} 1');
  });

  it('when the proxy restarts on the same DATA_DIR, then the shadow report is still there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strangler-shadow-data-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const legacy = await upstream(json({ price: 10 }));
    const pricing = await upstream((req, res) => json({ price: req.url?.includes('/B/') ? 11 : 10 })(req, res));
    const first = await proxyWith(legacy, pricing, '{}', { dataDir });
    await send(`${first.url}/rest/V1/products/A/final-price`);
    await send(`${first.url}/rest/V1/products/B/final-price`);
    await first.proxy.shadow.idle();
    await first.close();
    cleanup.pop();

    const second = await proxyWith(legacy, pricing, '{}', { dataDir });
    const summary = second.proxy.shadowReport.route('final-price').summary();
    expect(summary.counts).toMatchObject({ match: 1, mismatch: 1 });
    expect(second.proxy.shadowReport.route('final-price').mismatches()[0]?.request.url).toBe('/rest/V1/products/B/final-price');
  });
});

describe('the shadow block in routes.yaml', () => {
  const file = (block: string, target = 'pricing') =>
    routesFor({ legacy: 'http://127.0.0.1:1', pricing: 'http://127.0.0.1:2' }, `  - id: r\n    match: { path: "/r" }\n    mode: shadow\n    target: ${target}\n    shadow:\n${block}`);
  const problem = (text: string) => {
    try {
      parseRouteTable(text, { file: 'routes.yaml', env: {} });
    } catch (error) {
      if (error instanceof RoutesInvalidError) return `${error.line}:${error.column} ${error.problems[0]?.message ?? ''}`;
      throw error;
    }
    return 'valid';
  };

  it('accepts every documented field and compiles the rules', () => {
    const table = parseRouteTable(
      file('      sampleRate: 0.5\n      maxConcurrent: 8\n      timeoutMs: 500\n      primary: legacy\n      maxBodyBytes: 2048\n      oversize: skip\n      unsafe: skip\n      headers: [Content-Type, ETag]\n      ignore: ["$.items[*].updated_at"]\n      tolerance: { "$.price": 0.01 }\n      unordered: [{ path: "$.items", key: sku }]\n      noise: auto\n      noiseSamples: 5\n      recheckAfterMs: 100\n      lsnWaitMs: 1000\n      redact: ["$.email"]\n      keepMismatches: 5\n'),
      { file: 'routes.yaml', env: {} },
    );
    expect(table.routes[0]?.shadow).toMatchObject({ sampleRate: 0.5, headers: ['content-type', 'etag'], oversize: 'skip', noise: 'auto', recheckAfterMs: 100 });
  });

  it('refuses a sampleRate above 1, a bad JSON path and an unknown field with line and column', () => {
    expect(problem(file('      sampleRate: 2\n'))).toBe('10:19 routes.0.shadow.sampleRate: sampleRate must be between 0 and 1');
    expect(problem(file('      ignore: ["items.price"]\n'))).toMatch(/^10:16 routes\.0\.shadow\.ignore\.0: a JSON path starts with "\$"/);
    expect(problem(file('      sampelRate: 1\n'))).toBe('10:7 routes.0.shadow: unknown field "sampelRate"');
  });

  it('refuses shadowing legacy with itself', () => {
    expect(problem(file('      sampleRate: 1\n', 'legacy'))).toMatch(/target must be the extracted service, not legacy/);
  });
});
