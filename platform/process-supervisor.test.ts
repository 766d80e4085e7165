import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from './logger.ts';
import { ProcessSupervisor, type ProcessExit } from './process-supervisor.ts';
import { freePort } from './free-port.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const SERVER = `
import http from 'node:http';
const port = Number(process.env.PORT);
const server = http.createServer((req, res) => { res.end('ok'); });
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ level: 30, time: Date.now(), msg: 'listening on ' + port })));
process.on('SIGTERM', () => { console.log('bye'); server.close(() => process.exit(0)); });
`;
const CRASHER = `console.error('cannot open the database'); process.exit(3);`;
const STUBBORN = `
import http from 'node:http';
http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the process supervisor', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'strangler-supervisor-'));
    await writeFile(path.join(dir, 'server.ts'), SERVER);
    await writeFile(path.join(dir, 'crasher.ts'), CRASHER);
    await writeFile(path.join(dir, 'stubborn.ts'), STUBBORN);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function supervisor(lines: string[], exits: ProcessExit[], stopTimeoutMs = 5000) {
    return new ProcessSupervisor({
      cwd: ROOT,
      logger: silentLogger(),
      onLine: (name, line) => lines.push(`${name}: ${line}`),
      onUnexpectedExit: (exit) => exits.push(exit),
      stopTimeoutMs,
    });
  }

  it('when a process answers its health URL, then it is ready, its lines are forwarded, and SIGTERM stops it', async () => {
    const lines: string[] = [];
    const exits: ProcessExit[] = [];
    const port = await freePort();
    const processes = supervisor(lines, exits);
    processes.start({ name: 'web', entry: path.join(dir, 'server.ts'), env: { ...process.env, PORT: String(port) } as Record<string, string>, healthUrl: `http://127.0.0.1:${port}/healthz` });
    await processes.waitUntilReady({ timeoutMs: 20_000 });
    const [pid] = processes.pids;
    const stopped = await processes.stopAll();
    expect(stopped).toEqual([{ name: 'web', code: 0, signal: null }]);
    expect(exits).toEqual([]);
    expect(alive(pid as number)).toBe(false);
    expect(lines.some((line) => line.startsWith('web: {') && line.includes(`listening on ${port}`))).toBe(true);
    expect(lines).toContain('web: bye');
  });

  it('when a process dies on its own, then the death is reported with its exit code and readiness fails at once', async () => {
    const lines: string[] = [];
    const exits: ProcessExit[] = [];
    const processes = supervisor(lines, exits);
    processes.start({ name: 'db', entry: path.join(dir, 'crasher.ts'), env: process.env as Record<string, string>, healthUrl: 'http://127.0.0.1:1/healthz' });
    const error = await processes.waitUntilReady({ timeoutMs: 20_000 }).catch((caught: unknown) => caught);
    expect(String(error)).toContain('db exited with code 3');
    expect(exits).toEqual([{ name: 'db', code: 3, signal: null }]);
    expect(lines).toContain('db: cannot open the database');
    await processes.stopAll();
  });

  it('when a process ignores SIGTERM, then it is killed after the grace period and nothing is left', async () => {
    const exits: ProcessExit[] = [];
    const port = await freePort();
    const processes = supervisor([], exits, 500);
    processes.start({ name: 'stubborn', entry: path.join(dir, 'stubborn.ts'), env: { ...process.env, PORT: String(port) } as Record<string, string>, healthUrl: `http://127.0.0.1:${port}/` });
    await processes.waitUntilReady({ timeoutMs: 20_000 });
    const [pid] = processes.pids;
    const stopped = await processes.stopAll();
    expect(stopped).toEqual([{ name: 'stubborn', code: null, signal: 'SIGKILL' }]);
    expect(exits).toEqual([]);
    expect(alive(pid as number)).toBe(false);
  });

  it('when a process never becomes healthy, then readiness fails naming it and what its health URL said', async () => {
    const port = await freePort();
    const processes = supervisor([], []);
    processes.start({ name: 'slow', entry: path.join(dir, 'server.ts'), env: { ...process.env, PORT: String(port) } as Record<string, string>, healthUrl: `http://127.0.0.1:${await freePort()}/healthz` });
    await expect(processes.waitUntilReady({ timeoutMs: 1500 })).rejects.toThrow(/slow did not become ready in time/);
    await processes.stopAll();
  });
});

describe('the stop order', () => {
  it('when asked to stop the proxy first, then the others get SIGTERM only after it has exited', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strangler-order-'));
    try {
      // Takes 500 ms to stop and says when it did; the other says when its SIGTERM came.
      await writeFile(path.join(dir, 'slow.ts'), `
import http from 'node:http';
http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => setTimeout(() => { console.log('proxy stopped at ' + Date.now()); process.exit(0); }, 500));
`);
      await writeFile(path.join(dir, 'other.ts'), `
import http from 'node:http';
http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { console.log('legacy asked at ' + Date.now()); process.exit(0); });
`);
      const lines: string[] = [];
      const processes = new ProcessSupervisor({ cwd: ROOT, logger: silentLogger(), onLine: (_name, line) => lines.push(line), onUnexpectedExit: () => {} });
      const ports = [await freePort(), await freePort()];
      processes.start({ name: 'legacy', entry: path.join(dir, 'other.ts'), env: { ...process.env, PORT: String(ports[0]) } as Record<string, string>, healthUrl: `http://127.0.0.1:${ports[0]}/` });
      processes.start({ name: 'proxy', entry: path.join(dir, 'slow.ts'), env: { ...process.env, PORT: String(ports[1]) } as Record<string, string>, healthUrl: `http://127.0.0.1:${ports[1]}/` });
      await processes.waitUntilReady({ timeoutMs: 20_000 });
      await processes.stopAll({ first: ['proxy'] });
      const at = (prefix: string) => Number(lines.find((line) => line.startsWith(prefix))?.split(' ').pop());
      expect(at('legacy asked at')).toBeGreaterThanOrEqual(at('proxy stopped at'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
