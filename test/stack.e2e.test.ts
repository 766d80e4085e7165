import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../platform/free-port.ts';

// `npm start` as a person runs it: the real launcher, its embedded PostgreSQL in a temporary
// DATA_DIR, every process of the stack that exists in this checkout, on free ports.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROXY_PRESENT = existsSync(path.join(ROOT, 'proxy', 'main.ts'));
const PRODUCTS = 50;
// On a quiet machine the stack is up in about ten seconds; the whole suite running beside it on
// two cores can make it several times slower, and this test is about behaviour, not speed.
const UP_WITHIN_MS = 150_000;

interface RunningStack {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Processes whose command line or environment mentions the temporary DATA_DIR: the stack's own. */
async function processesUsing(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    for (const file of ['cmdline', 'environ']) {
      const text = await readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => '');
      if (text.includes(marker)) {
        found.push(`${pid}: ${(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ')}`);
        break;
      }
    }
  }
  return found;
}

describe('the stack, started with npm start', () => {
  // RabbitMQ is shared by every run and every engineer: this stack's exchange, history stream and
  // service queues get names of their own, deleted afterwards, so that no other stack (a person's
  // `npm start`) ever reads this one's changes.
  const id = randomBytes(4).toString('hex');
  const broker = {
    CDC_EXCHANGE: `e2e.${id}.cdc`,
    CDC_STREAM: `e2e.${id}.cdc.log`,
    // Where the services request their seeding snapshots: another stack's bridge must not take them.
    CDC_SIGNAL_QUEUE: `e2e.${id}.cdc.signals`,
    PRICING_QUEUE: `e2e.${id}.pricing`,
    PIM_QUEUE: `e2e.${id}.pim`,
  };
  let dataDir: string;
  let env: Record<string, string>;
  let ports: Record<string, number>;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'strangler-stack-'));
    ports = {};
    for (const name of ['PG_PORT', 'PROXY_PORT', 'LEGACY_PORT', 'PRICING_PORT', 'PIM_PORT', 'CDC_PORT', 'ADMIN_PORT']) {
      let port = await freePort();
      while (Object.values(ports).includes(port)) port = await freePort();
      ports[name] = port;
    }
    env = {};
    for (const [name, value] of Object.entries(process.env)) {
      // The run's own database settings must not leak into the stack under test.
      if (value !== undefined && !/_DATABASE_URL$|^STRANGLER_ADMIN_TOKEN$|^ROUTES_FILE$/.test(name)) env[name] = value;
    }
    Object.assign(env, Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])), {
      DATA_DIR: dataDir,
      AMQP_URL: inject('amqpUrl'),
      LOG_LEVEL: 'info',
      NO_COLOR: '1',
      ...broker,
    });
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    const connection = await amqp.connect(inject('amqpUrl'));
    try {
      const channel = await connection.createChannel();
      for (const queue of [broker.PRICING_QUEUE, broker.PIM_QUEUE]) {
        for (const name of [queue, `${queue}.retry`, `${queue}.dead`]) await channel.deleteQueue(name);
      }
      await channel.deleteQueue(broker.CDC_STREAM);
      await channel.deleteQueue(broker.CDC_SIGNAL_QUEUE);
      await channel.deleteExchange(broker.CDC_EXCHANGE);
    } finally {
      await connection.close();
    }
  });

  /** `asTerminal`: in a process group of its own, as a shell runs a foreground job, to send it Ctrl-C. */
  function start(seedProducts: number, asTerminal = false, extraEnv: Record<string, string> = {}): RunningStack {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/strangler.js'), 'up'], {
      cwd: ROOT,
      env: { ...env, SEED_PRODUCTS: String(seedProducts), ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: asTerminal,
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return { child, output: () => output, exited };
  }

  async function untilUp(stack: RunningStack, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitedEarly = false;
    void stack.exited.then(() => (exitedEarly = true));
    while (!stack.output().includes('Strangler is up')) {
      if (exitedEarly) throw new Error(`the stack exited before it was up:\n${stack.output()}`);
      if (Date.now() > deadline) throw new Error(`the stack was not up within ${timeoutMs} ms:\n${stack.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGTERM to the launcher; or, like Ctrl-C on a terminal, SIGINT to its whole process group. */
  async function stop(stack: RunningStack, how: 'SIGTERM' | 'Ctrl-C' = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (stack.child.exitCode === null && stack.child.signalCode === null) {
      if (how === 'Ctrl-C') process.kill(-(stack.child.pid as number), 'SIGINT');
      else stack.child.kill('SIGTERM');
    }
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`the stack did not stop within 30 s:\n${stack.output()}`)), 30_000),
    );
    return Promise.race([stack.exited, timeout]);
  }

  async function products(port: number): Promise<{ status: number; body: { items: Array<{ sku: string }>; total_count: number } }> {
    const response = await fetch(`http://127.0.0.1:${port}/rest/V1/products?searchCriteria[pageSize]=5`);
    return { status: response.status, body: (await response.json()) as { items: Array<{ sku: string }>; total_count: number } };
  }

  async function expectNothingLeft(): Promise<void> {
    for (const [name, port] of Object.entries(ports)) expect(await listening(port), `${name} ${port} still listening`).toBe(false);
    expect(await processesUsing(dataDir)).toEqual([]);
  }

  it(
    'when started on a clean DATA_DIR, then it seeds, serves the REST API and the storefront (directly and through the proxy), and SIGTERM leaves nothing running',
    async () => {
      const stack = start(PRODUCTS);
      try {
        await untilUp(stack, UP_WITHIN_MS);

        const direct = await products(ports.LEGACY_PORT as number);
        expect(direct.status).toBe(200);
        expect(direct.body.items).toHaveLength(5);
        expect(direct.body.total_count).toBe(PRODUCTS);

        const home = await fetch(`http://127.0.0.1:${ports.LEGACY_PORT}/`);
        expect(home.status).toBe(200);
        expect(home.headers.get('content-type')).toMatch(/text\/html/);
        await home.body?.cancel();

        if (PROXY_PRESENT) {
          const proxied = await products(ports.PROXY_PORT as number);
          expect(proxied.status).toBe(200);
          expect(proxied.body).toEqual(direct.body);
          const shop = await fetch(`http://127.0.0.1:${ports.PROXY_PORT}/`);
          expect(shop.status).toBe(200);
          await shop.body?.cancel();
          expect(stack.output()).toContain(`storefront (through the proxy)  http://127.0.0.1:${ports.PROXY_PORT}/`);
        }

        // The admin token was generated and kept for the CLI, readable by its owner only.
        const token = path.join(dataDir, 'admin-token');
        expect(existsSync(token)).toBe(true);
        expect((await import('node:fs/promises').then((fs) => fs.stat(token))).mode & 0o777).toBe(0o600);
        // Logs arrive prefixed with the process they come from.
        expect(stack.output()).toMatch(/^legacy +│ /m);
      } finally {
        const exit = await stop(stack);
        expect(exit, stack.output()).toEqual({ code: 0, signal: null });
      }
      expect(stack.output()).toContain('stack stopped; nothing left running');
      await expectNothingLeft();
    },
    240_000,
  );

  it(
    'when started again on the same DATA_DIR, then the data is still there and nothing is seeded again; Ctrl-C stops it cleanly',
    async () => {
      const stack = start(PRODUCTS + 30, true);
      try {
        await untilUp(stack, UP_WITHIN_MS);
        const again = await products(ports.LEGACY_PORT as number);
        expect(again.body.total_count).toBe(PRODUCTS);
      } finally {
        const exit = await stop(stack, 'Ctrl-C');
        expect(exit, stack.output()).toEqual({ code: 0, signal: null });
      }
      // PostgreSQL went last: the processes stopped before it, none of them lost its database.
      expect(stack.output()).not.toMatch(/terminating connection due to administrator command|Connection terminated unexpectedly/);
      await expectNothingLeft();
    },
    240_000,
  );

  it(
    'when a process dies on its own, then the stack says which one and how, stops everything and exits 1',
    async () => {
      const stack = start(PRODUCTS);
      await untilUp(stack, UP_WITHIN_MS);
      const legacy = (await processesUsing(dataDir)).find((line) => line.includes('legacy-stub/main.ts'));
      expect(legacy, 'the legacy process').toBeDefined();
      process.kill(Number(legacy?.split(':')[0]), 'SIGKILL');
      const exit = await Promise.race([
        stack.exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(stack.output())), 30_000)),
      ]);
      expect(exit).toEqual({ code: 1, signal: null });
      expect(stack.output()).toContain('PLATFORM_PROCESS_DIED: legacy was killed by SIGKILL');
      await expectNothingLeft();
    },
    240_000,
  );

  it(
    'when a port the stack needs is taken, then it refuses to start and names the variable to change',
    async () => {
      const squatter = net.createServer().listen(ports.LEGACY_PORT, '127.0.0.1');
      await new Promise((resolve) => squatter.once('listening', resolve));
      try {
        const stack = start(PRODUCTS);
        const exit = await stack.exited;
        expect(exit.code).toBe(1);
        expect(stack.output()).toContain(`port ${ports.LEGACY_PORT} (LEGACY_PORT) is already in use`);
        expect(await processesUsing(dataDir)).toEqual([]);
      } finally {
        squatter.close();
      }
    },
    60_000,
  );

  it.runIf(existsSync(path.join(ROOT, 'cdc', 'main.ts')))(
    'when RabbitMQ is not reachable, then it refuses to start at once and says what to start or set',
    async () => {
      const stack = start(PRODUCTS, false, { AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}` });
      const exit = await stack.exited;
      expect(exit.code).toBe(1);
      expect(stack.output()).toMatch(/PLATFORM_SERVER_UNREACHABLE: RabbitMQ \(needed by cdc[^)]*\) is not reachable at amqp:\/\/127\.0\.0\.1:\d+ \(AMQP_URL\)/);
      expect(stack.output()).toContain('rabbitmq-server -detached');
      expect(await processesUsing(dataDir)).toEqual([]);
    },
    60_000,
  );
});
