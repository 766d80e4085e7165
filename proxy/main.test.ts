import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startUpstream, type TestUpstream } from './test-kit.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Started {
  child: ChildProcessWithoutNullStreams;
  lines: Record<string, unknown>[];
  port: number;
  adminPort: number | undefined;
}

// The shadow report's journal goes under DATA_DIR: a throw-away one, not the repository's .data.
const dataDir = join(tmpdir(), `strangler-main-data-${process.pid}`);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// A test that fails before its SIGTERM must not leave its proxy running after the run.
const spawned: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function startMain(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'proxy/main.ts'], { cwd: root, env: { PATH: process.env.PATH ?? '', PROXY_PORT: '0', ADMIN_PORT: '0', DATA_DIR: dataDir, ...env } });
  spawned.push(child);
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  const deadline = Date.now() + 20_000;
  while (!lines.some((line) => typeof line.port === 'number')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`proxy did not start: ${JSON.stringify(lines)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const ready = lines.find((line) => typeof line.port === 'number') as { port: number; adminPort?: number };
  return { child, lines, port: ready.port, adminPort: ready.adminPort };
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('proxy/main.ts, the process', () => {
  let legacy: TestUpstream;
  let dir: string;
  let routesFile: string;
  let releaseSlow: () => void = () => {};

  beforeAll(async () => {
    legacy = await startUpstream((req, res) => {
      if (req.url === '/slow') releaseSlow = () => res.end('finished');
      else res.end('legacy');
    });
    dir = mkdtempSync(join(tmpdir(), 'strangler-main-'));
    routesFile = join(dir, 'routes.yaml');
    writeFileSync(routesFile, 'upstreams:\n  legacy: { url: "http://127.0.0.1:${LEGACY_PORT:-1}" }\nroutes:\n  - id: first\n    match: { path: "/*" }\n');
  });
  afterAll(async () => {
    await legacy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a token it proxies but keeps the admin API closed and says how to set the token', async () => {
    const started = await startMain({ ROUTES_FILE: routesFile, LEGACY_PORT: String(legacy.port), LOG_LEVEL: 'info' });
    try {
      expect(started.adminPort).toBeUndefined();
      expect(started.lines.some((line) => line.code === 'PROXY_ADMIN_TOKEN_MISSING' && String(line.remedy).includes('STRANGLER_ADMIN_TOKEN'))).toBe(true);
      expect((await send(`http://127.0.0.1:${started.port}/`)).body).toBe('legacy');
    } finally {
      started.child.kill('SIGTERM');
      await exited(started.child);
    }
  });

  it('reloads on SIGHUP, and on SIGTERM finishes the request in flight before exiting 0', async () => {
    const started = await startMain({ ROUTES_FILE: routesFile, LEGACY_PORT: String(legacy.port), STRANGLER_ADMIN_TOKEN: 'tok' });
    expect(started.adminPort).toBeGreaterThan(0);
    const url = `http://127.0.0.1:${started.port}`;
    expect((await send(`${url}/`)).headers['x-strangler-route']).toBe('first');

    // The file watcher would notice this edit too; the log line proves SIGHUP asked for the reload.
    writeFileSync(routesFile, 'upstreams:\n  legacy: { url: "http://127.0.0.1:${LEGACY_PORT:-1}" }\nroutes:\n  - id: second\n    match: { path: "/*" }\n');
    started.child.kill('SIGHUP');
    const deadline = Date.now() + 3000;
    while ((await send(`${url}/`)).headers['x-strangler-route'] !== 'second') {
      if (Date.now() > deadline) throw new Error('not reloaded');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(started.lines.some((line) => line.msg === 'SIGHUP: reloading routes.yaml')).toBe(true);

    const inFlight = send(`${url}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    started.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    releaseSlow();
    expect((await inFlight).body).toBe('finished');
    expect(await exited(started.child)).toBe(0);
  });
});
