import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRouteTable } from '../proxy/routes/route-table.ts';
import { send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../proxy/test-kit.ts';
import { cutover, rollback, shadowReport, type ShadowCommandDeps } from './shadow-commands.ts';

const TOKEN = 'shadow-cli-test-token-0123456789';

function capture(env: Record<string, string>, now = () => new Date()): ShadowCommandDeps & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { env, out: (line) => stdout.push(line), err: (line) => stderr.push(line), fetch: globalThis.fetch, now, stdout, stderr };
}

const routesText = (legacy: string, pricing: string, mode = 'shadow') => `# Route table for the shadow CLI spec.
# This comment must survive every edit.
upstreams:
  legacy:  { url: "${legacy}" }
  pricing: { url: "${pricing}", timeoutMs: 2000 }   # the extracted service
routes:
  - id: final-price
    match: { method: GET, path: "/rest/V1/products/:sku/final-price" }
    mode: ${mode}               # shadowed since the pricing service went live
    target: pricing
    shadow:
      sampleRate: 1.0          # every request
      ignore: ["$.generated_at"]

  # A plain legacy route below, with its own comment.
  - id: everything-else
    match: { path: "/*" }
    mode: legacy
`;

describe('strangler shadow report / cutover / rollback', () => {
  let legacy: TestUpstream;
  let pricing: TestUpstream;
  let proxy: TestProxy;
  let dir: string;
  let env: Record<string, string>;
  let wrongSku = '';

  beforeAll(async () => {
    const answer = (price: (sku: string) => number) => (req: IncomingMessage, res: ServerResponse) => {
      const sku = decodeURIComponent((req.url ?? '').split('/')[4] ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sku, price: price(sku), generated_at: Date.now() }));
    };
    legacy = await startUpstream(answer(() => 10));
    pricing = await startUpstream(answer((sku) => (sku === wrongSku ? 11 : 10)));
    dir = mkdtempSync(join(tmpdir(), 'strangler-shadow-cli-'));
    proxy = await startProxy(routesText(legacy.url, pricing.url), { adminToken: TOKEN });
    const admin = await proxy.proxy.listenAdmin(0);
    env = { ADMIN_PORT: String(admin?.port), STRANGLER_ADMIN_TOKEN: TOKEN, DATA_DIR: dir, ROUTES_FILE: proxy.routesFile };
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
    await pricing.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const policy = { minSamples: 30, minMatchRate: 0.999, quietMinutes: 10 };
  const drive = async (count: number) => {
    for (let index = 0; index < count; index++) await send(`${proxy.url}/rest/V1/products/SKU-${index}/final-price`);
    await proxy.proxy.shadow.idle();
  };

  it('when there is no evidence yet, then cutover refuses, says why, and leaves the file as it was', async () => {
    const before = readFileSync(proxy.routesFile, 'utf8');
    const deps = capture(env);
    expect(await cutover(deps, 'final-price', { policy, force: false })).toBe(1);
    expect(deps.stderr.join('\n')).toContain('refusing to cut over "final-price"');
    expect(deps.stderr.join('\n')).toContain('only 0 compared requests, at least 30 needed');
    expect(readFileSync(proxy.routesFile, 'utf8')).toBe(before);
    expect(readFileSync(join(dir, 'shadow', 'cutover-log.jsonl'), 'utf8')).toContain('"result":"refused"');
  });

  it('when a mismatch happened a minute ago, then cutover refuses even with enough samples', async () => {
    wrongSku = 'SKU-3';
    await drive(40);
    wrongSku = '';
    const deps = capture(env);
    expect(await cutover(deps, 'final-price', { policy: { ...policy, minMatchRate: 0.9 }, force: false })).toBe(1);
    expect(deps.stderr.join('\n')).toMatch(/last mismatch \d+ s ago, needs 10 min without one/);
  });

  it('then shadow report shows the route, its counts, match rate and the differing path', async () => {
    const deps = capture(env);
    expect(await shadowReport(deps, undefined, false)).toBe(0);
    const text = deps.stdout.join('\n');
    expect(deps.stdout[0]).toMatch(/^ROUTE\s+MODE\s+COMPARED\s+MATCH RATE/);
    expect(text).toMatch(/final-price\s+shadow → pricing\s+40\s+97\.50%\s+39\s+0\s+1\s+0\s+0/);
    expect(text).toContain('top differing paths: $.price (1)');

    const one = capture(env);
    expect(await shadowReport(one, 'final-price', false)).toBe(0);
    expect(one.stdout.join('\n')).toContain('GET /rest/V1/products/SKU-3/final-price');
    expect(one.stdout.join('\n')).toContain('$.price  changed: 10 → 11');

    const json = capture(env);
    expect(await shadowReport(json, 'final-price', true)).toBe(0);
    expect(JSON.parse(json.stdout.join('\n'))).toMatchObject({ routeId: 'final-price', compared: 40, counts: { mismatch: 1 } });
  });

  it('when the evidence is there, then cutover switches the route to extracted with fallback: legacy and keeps every comment', async () => {
    const before = readFileSync(proxy.routesFile, 'utf8');
    await drive(40);
    const deps = capture(env, () => new Date(Date.now() + 11 * 60_000));
    expect(await cutover(deps, 'final-price', { policy: { ...policy, minMatchRate: 0.95 }, force: false })).toBe(0);
    const after = readFileSync(proxy.routesFile, 'utf8');
    expect(after).toContain('    mode: extracted               # shadowed since the pricing service went live\n    fallback: legacy\n    target: pricing\n');
    for (const line of before.split('\n').filter((line) => line.includes('#'))) {
      if (!line.includes('mode:')) expect(after).toContain(line);
    }
    const table = parseRouteTable(after, { file: 'routes.yaml', env: {} });
    expect(table.routes[0]).toMatchObject({ id: 'final-price', mode: 'extracted', target: 'pricing', fallback: true });
    expect(deps.stdout.join('\n')).toContain('is now extracted with fallback: legacy');
  });

  it('when rolled back, then the route is in shadow again, valid, comments intact; --to legacy drops the target', async () => {
    const deps = capture(env);
    expect(await rollback(deps, 'final-price', { to: 'shadow' })).toBe(0);
    const after = readFileSync(proxy.routesFile, 'utf8');
    expect(after).toBe(routesText(legacy.url, pricing.url));
    expect(await rollback(deps, 'final-price', { to: 'legacy' })).toBe(0);
    expect(parseRouteTable(readFileSync(proxy.routesFile, 'utf8'), { file: 'routes.yaml', env: {} }).routes[0]).toMatchObject({ mode: 'legacy', target: undefined });
    expect(readFileSync(proxy.routesFile, 'utf8')).toContain('# This comment must survive every edit.');
  });

  it('when forced without evidence, then cutover proceeds and says so on stderr and in the cutover log', async () => {
    writeFileSync(proxy.routesFile, routesText(legacy.url, pricing.url));
    const deps = capture(env);
    expect(await cutover(deps, 'final-price', { policy: { ...policy, minSamples: 1_000_000 }, force: true })).toBe(0);
    expect(deps.stderr.join('\n')).toMatch(/WARNING: cutover of "final-price" FORCED without the evidence: only \d+ compared requests/);
    expect(readFileSync(join(dir, 'shadow', 'cutover-log.jsonl'), 'utf8')).toContain('"result":"forced"');
  });

  it('when the route is unknown or not in shadow, then nothing changes and the error says what to do', async () => {
    const deps = capture(env);
    expect(await cutover(deps, 'nope', { policy, force: true })).toBe(1);
    expect(deps.stderr.join('\n')).toContain('PROXY_SHADOW_ROUTE_NOT_FOUND');
    expect(await cutover(deps, 'everything-else', { policy, force: true })).toBe(1);
    expect(deps.stderr.join('\n')).toContain('PROXY_SHADOW_WRONG_MODE');
    expect(existsSync(proxy.routesFile)).toBe(true);
  });
});
