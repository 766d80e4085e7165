import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../proxy/test-kit.ts';
import { checkRoutes, registerRoutesCommands, showRoutes, type RoutesCommandDeps } from './routes-commands.ts';

function capture(env: Record<string, string> = {}): RoutesCommandDeps & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { env, out: (line) => stdout.push(line), err: (line) => stderr.push(line), fetch: globalThis.fetch, stdout, stderr };
}

describe('strangler routes check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'strangler-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the repository routes.yaml and summarises it', async () => {
    const deps = capture();
    expect(await checkRoutes(new URL('../routes.yaml', import.meta.url).pathname, deps)).toBe(0);
    expect(deps.stdout.at(-1)).toMatch(/valid — 4 routes \(4 legacy\), upstreams legacy=http:\/\/127\.0\.0\.1:8081, pricing=.*, version [0-9a-f]{16}/);
  });

  it('exits 1 and prints file:line:column for each problem', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'upstreams:\n  legacy: { url: "http://127.0.0.1:8081" }\nroutes:\n  - id: a\n    match: { path: "/a" }\n    mode: extracted\n    target: pim\n');
    const deps = capture();
    expect(await checkRoutes(file, deps)).toBe(1);
    expect(deps.stderr[0]).toBe(`${file}:7:13: error: routes.0.target: unknown upstream "pim" (declared: legacy)`);
  });

  it('exits 1 for a missing file with the remedy', async () => {
    const deps = capture();
    expect(await checkRoutes(join(dir, 'missing.yaml'), deps)).toBe(1);
    expect(deps.stderr.join('\n')).toContain('PROXY_ROUTES_UNREADABLE');
  });

  it('is wired as `routes check [file]` and sets the exit status', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'upstreams: {\n');
    const program = new Command().exitOverride();
    const deps = capture();
    registerRoutesCommands(program, deps);
    const previous = process.exitCode;
    await program.parseAsync(['node', 'strangler', 'routes', 'check', file]);
    expect(process.exitCode).toBe(1);
    process.exitCode = previous;
    expect(deps.stderr[0]).toMatch(new RegExp(`^${file}:\\d+:\\d+: error: `));
  });
});

describe('strangler routes show', () => {
  let legacy: TestUpstream;
  let proxy: TestProxy;
  let adminPort = 0;
  let dataDir: string;

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    proxy = await startProxy(`upstreams:\n  legacy: { url: "${legacy.url}" }\n  pim: { url: "http://127.0.0.1:1" }\nroutes:\n  - id: product\n    match: { method: [GET, HEAD], path: "/rest/V1/products/:sku" }\n    mode: canary\n    target: pim\n    canary: { percent: 10, stickyBy: "cookie:PHPSESSID" }\n`, { adminToken: 'file-token' });
    adminPort = (await proxy.proxy.listenAdmin(0))?.port ?? 0;
    dataDir = mkdtempSync(join(tmpdir(), 'strangler-data-'));
    writeFileSync(join(dataDir, 'admin-token'), 'file-token\n', { mode: 0o600 });
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads the token from DATA_DIR/admin-token and prints the live table', async () => {
    const deps = capture({ ADMIN_PORT: String(adminPort), DATA_DIR: dataDir });
    expect(await showRoutes(deps, false)).toBe(0);
    const text = deps.stdout.join('\n');
    expect(text).toContain(`route table ${proxy.proxy.store.current.table.version}`);
    expect(text).toMatch(/product\s+GET,HEAD\s+\/rest\/V1\/products\/:sku\s+canary\s+pim\s+10% by cookie:PHPSESSID/);
    expect(text).toMatch(/\(no match\)\s+\*\s+legacy\s+legacy/);
    expect(text).toMatch(/pim\s+http:\/\/127\.0\.0\.1:1\/\s+30000 ms\s+closed/);
  });

  it('prefers STRANGLER_ADMIN_TOKEN and explains a refused token', async () => {
    const deps = capture({ ADMIN_PORT: String(adminPort), DATA_DIR: dataDir, STRANGLER_ADMIN_TOKEN: 'wrong' });
    expect(await showRoutes(deps, true)).toBe(1);
    expect(deps.stderr.join('\n')).toContain('PROXY_ADMIN_UNAUTHORIZED');
  });

  it('explains an unreachable admin API', async () => {
    const deps = capture({ ADMIN_PORT: '1', STRANGLER_ADMIN_TOKEN: 'x' });
    expect(await showRoutes(deps, false)).toBe(1);
    expect(deps.stderr.join('\n')).toContain('PROXY_ADMIN_UNREACHABLE');
  });
});
