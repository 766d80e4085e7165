import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * HTTP load in its own process, timed to the microsecond, in two shapes:
 *
 * - **open loop** (`perSecond`): request i is due at `start + i / rate`, whatever happened to the
 *   requests before it, and its latency counts from that due time — so a stalled client, server
 *   or connection pool shows in the latency instead of silently lowering the rate (Gil Tene's
 *   "coordinated omission"). autocannon's `overallRate` is not that: it gives every connection a
 *   budget per second, refilled by a 1-second interval, so each connection fires its whole budget
 *   back to back at the start of every second — 1,000 requests/s arrive as one burst of 1,000
 *   per second, and the p99 measures the burst's queue.
 * - **closed loop** (`perSecond` absent): `connections` clients, each sending its next request
 *   when the previous answer is in, for `seconds` (latency from send to answer).
 *
 * Paths are taken in turn from one counter shared by all connections (autocannon gives every
 * connection its own cursor, so ten connections would ask the same ten paths at the same time).
 * The generator runs as a child process so it never shares an event loop with what it measures;
 * on a 2-core machine it still takes part of a core, which `clientCpuMicrosPerRequest` shows.
 */
export interface LoadOptions {
  port: number;
  /** Request paths, taken in turn (give many for random keys). */
  paths: readonly string[];
  seconds: number;
  /** Keep-alive connections (closed loop: exactly this many clients; open loop: at most this many sockets). */
  connections: number;
  /** Open loop at this many requests per second; closed loop when absent. */
  perSecond?: number;
  /** Scheduling priority of the generator process (os.setPriority; negative needs root), for diagnostics on a loaded machine. */
  nice?: number;
  /** Also answer every successful request's latency (ms, ascending), to pool several runs into one distribution. */
  keepLatencies?: boolean;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LoadResult {
  requests: number;
  ok: number;
  /** Answers other than 200, and transport errors. */
  failed: number;
  /** Achieved rate over the run. */
  perSecond: number;
  /** Milliseconds until the answer was complete: from the due time (open loop) or the send (closed loop). */
  latency: LatencySummary;
  /** Milliseconds from handing the request to the HTTP client to the complete answer. */
  fromSend: LatencySummary;
  /** Open loop: how late the client itself sent requests (its own scheduling delay), in ms. */
  late?: LatencySummary;
  /** CPU time the generator used per request, in microseconds. */
  clientCpuMicrosPerRequest: number;
  /** With `keepLatencies`: each successful request's `latency`, ascending. */
  latencies?: number[];
}

const CHILD_FLAG = '--load-generator-child';

/** Runs the load in a child process and answers what it measured. */
export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG], { stdio: ['pipe', 'pipe', 'inherit'] });
  if (options.nice !== undefined) setPriority(child.pid!, options.nice);
  child.stdin.end(JSON.stringify(options));
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  return JSON.parse(output) as LoadResult;
}

async function run(options: LoadOptions): Promise<LoadResult> {
  const pool = new ConnectionPool(options.port, options.connections);
  const latency: number[] = [];
  const fromSend: number[] = [];
  const late: number[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  const okLatencies: number[] = [];
  const send = (due: number, done: () => void) => {
    const sent = performance.now();
    const path = options.paths[next++ % options.paths.length]!;
    pool.request(path, (success) => {
      const end = performance.now();
      latency.push(end - due);
      fromSend.push(end - sent);
      if (success) {
        ok += 1;
        if (options.keepLatencies) okLatencies.push(end - due);
      } else failed += 1;
      done();
    });
  };
  const cpuBefore = process.cpuUsage();
  // Started (and answering) before the clock starts, so the first due times are not spent booting it.
  const ticker = options.perSecond !== undefined ? await Ticker.start() : undefined;
  if (options.nice !== undefined) reniceThreads(process.pid, options.nice);
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  if (options.perSecond !== undefined && ticker) {
    const perSecond = options.perSecond;
    const total = Math.round(perSecond * options.seconds);
    const intervalMs = 1000 / perSecond;
    await new Promise<void>((resolve) => {
      let scheduled = 0;
      let finished = 0;
      const onDone = () => {
        finished += 1;
        if (finished === total) resolve();
      };
      const tick = () => {
        const now = performance.now();
        while (scheduled < total && started + scheduled * intervalMs <= now) {
          const due = started + scheduled * intervalMs;
          late.push(now - due);
          send(due, onDone);
          scheduled += 1;
        }
        // Woken at the next due time by the ticker thread; a request sent late is still timed
        // from its due time.
        if (scheduled < total) ticker.wakeAt(started + scheduled * intervalMs, tick);
      };
      tick();
    });
    ticker.close();
  } else {
    await Promise.all(
      Array.from(
        { length: options.connections },
        () =>
          new Promise<void>((resolve) => {
            const loop = () => {
              if (performance.now() >= deadline) resolve();
              else send(performance.now(), loop);
            };
            loop();
          }),
      ),
    );
  }
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  pool.close();
  const requests = ok + failed;
  return {
    requests,
    ok,
    failed,
    perSecond: Math.round((requests / elapsed) * 1000),
    latency: summarise(latency),
    fromSend: summarise(fromSend),
    late: options.perSecond !== undefined ? summarise(late) : undefined,
    clientCpuMicrosPerRequest: Math.round((cpu.user + cpu.system) / Math.max(1, requests)),
    latencies: options.keepLatencies ? okLatencies.sort((a, b) => a - b).map((value) => Number(value.toFixed(3))) : undefined,
  };
}

/**
 * Wakes the generator's event loop at a due time to the tens of microseconds. Why not setTimeout:
 * libuv's timers count whole milliseconds (a 0.4 ms wait becomes 1 ms, and the loop's clock is
 * cached per iteration), so at 1,000 requests/s the generator itself sent requests 1-2 ms late at
 * the p99 — lateness that the open loop rightly charges to the latency, but that came from the
 * generator, not from what it measures. A busy loop would be precise and take a core from the
 * server. The ticker is a worker thread that sleeps in Atomics.wait (a futex with a sub-millisecond
 * timeout) and posts a message at the due time; the message wakes the main loop's epoll at once.
 * Both threads read the same monotonic clock: performance.timeOrigin + performance.now().
 */
class Ticker {
  private readonly worker: Worker;
  private pending: (() => void) | undefined;

  private constructor() {
    this.worker = new Worker(TICKER_SOURCE, { eval: true });
    this.worker.on('message', () => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.();
    });
  }

  static async start(): Promise<Ticker> {
    const ticker = new Ticker();
    await new Promise<void>((resolve) => ticker.wakeAt(0, resolve));
    return ticker;
  }

  /** Calls `then` once, at `at` (this thread's performance.now() time) or as soon after as the machine allows. */
  wakeAt(at: number, then: () => void): void {
    this.pending = then;
    this.worker.postMessage(performance.timeOrigin + at);
  }

  close(): void {
    void this.worker.terminate();
  }
}

const TICKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
parentPort.on('message', (at) => {
  for (;;) {
    const wait = at - (performance.timeOrigin + performance.now());
    if (wait <= 0) break;
    Atomics.wait(sleeper, 0, 0, wait);
  }
  parentPort.postMessage(0);
});
`;

/**
 * Keep-alive HTTP/1.1 connections written to directly: one request at a time per connection, at
 * most `size` connections, requests queued beyond that (as http.Agent's maxSockets does). Why not
 * http.request: on the 2-core benchmark machine the client's own CPU competes with the server it
 * measures, and node:http's client cost ~270 µs of CPU per request there, twice the pricing
 * service's whole answer; a pre-formatted request and a response read for its status and length
 * (Content-Length or chunked) cost a fraction of it. A request succeeds on a complete 200 answer.
 */
class ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly waiting: Array<{ path: string; done: (success: boolean) => void }> = [];
  private waitingHead = 0;
  private open = 0;

  constructor(
    private readonly port: number,
    private readonly size: number,
  ) {}

  request(path: string, done: (success: boolean) => void): void {
    const connection = this.idle.pop() ?? (this.open < this.size ? this.connect() : undefined);
    if (connection) connection.send(path, done);
    else this.waiting.push({ path, done });
  }

  close(): void {
    for (const connection of this.idle) connection.socket.destroy();
  }

  private connect(): Connection {
    this.open += 1;
    return new Connection(this.port, (connection) => this.released(connection), (connection) => {
      this.open -= 1;
      const idle = this.idle.indexOf(connection);
      if (idle >= 0) this.idle.splice(idle, 1);
      // A queued request gets a new connection in place of the one that closed.
      if (this.waitingHead < this.waiting.length && this.open < this.size) this.dequeue(this.connect());
    });
  }

  private released(connection: Connection): void {
    if (this.waitingHead < this.waiting.length) this.dequeue(connection);
    else this.idle.push(connection);
  }

  private dequeue(connection: Connection): void {
    const job = this.waiting[this.waitingHead]!;
    this.waiting[this.waitingHead] = undefined as never;
    this.waitingHead += 1;
    if (this.waitingHead === this.waiting.length) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    }
    connection.send(job.path, job.done);
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

class Connection {
  readonly socket: net.Socket;
  private readonly requestHead: string;
  private pending: Buffer | undefined;
  private done: ((success: boolean) => void) | undefined;
  private closed = false;

  constructor(
    port: number,
    private readonly onIdle: (connection: Connection) => void,
    private readonly onClosed: (connection: Connection) => void,
  ) {
    this.requestHead = ` HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`;
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.received(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      const done = this.done;
      this.done = undefined;
      this.onClosed(this);
      done?.(false);
    });
  }

  send(path: string, done: (success: boolean) => void): void {
    this.done = done;
    this.socket.write(`GET ${path}${this.requestHead}`);
  }

  private received(chunk: Buffer): void {
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const response = this.pending;
    const headerEnd = response.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = response.toString('latin1', 0, headerEnd);
    const bodyStart = headerEnd + 4;
    let end: number;
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (length) end = bodyStart + Number(length[1]);
    else if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) end = chunkedEnd(response, bodyStart);
    else end = -1; // a body up to the close: the close handler finishes it
    if (end < 0 || response.length < end) return;
    this.pending = undefined;
    const done = this.done;
    this.done = undefined;
    // Back to the pool first, so that the next request (sent from `done` in a closed loop) reuses it.
    if (/\r\nconnection:[ \t]*close/i.test(head)) this.socket.destroy();
    else this.onIdle(this);
    done?.(head.startsWith('HTTP/1.1 200 ') || head.startsWith('HTTP/1.0 200 '));
  }
}

/** Where a chunked body ends (after the last chunk and the empty trailer), or -1 while incomplete. */
function chunkedEnd(response: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const lineEnd = response.indexOf(CRLF, at);
    if (lineEnd < 0) return -1;
    const size = Number.parseInt(response.toString('latin1', at, lineEnd), 16);
    if (Number.isNaN(size)) return -1;
    if (size === 0) {
      // Trailer lines, then an empty line.
      let trailer = lineEnd + 2;
      for (;;) {
        const trailerEnd = response.indexOf(CRLF, trailer);
        if (trailerEnd < 0) return -1;
        if (trailerEnd === trailer) return trailerEnd + 2;
        trailer = trailerEnd + 2;
      }
    }
    at = lineEnd + 2 + size + 2;
    if (at > response.length) return -1;
  }
}

/** os.setPriority for a process and each of its threads (Linux: /proc/<pid>/task); negative values need root. */
export function reniceThreads(pid: number, nice: number): void {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    threads = [String(pid)];
  }
  for (const thread of threads) {
    try {
      setPriority(Number(thread), nice);
    } catch {
      // A thread that has just exited.
    }
  }
}

function summarise(values: number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(3));
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: Number((sorted.at(-1) ?? NaN).toFixed(3)) };
}

if (process.argv.includes(CHILD_FLAG) && process.argv[1] === fileURLToPath(import.meta.url)) {
  let input = '';
  process.stdin.setEncoding('utf8').on('data', (chunk: string) => (input += chunk));
  process.stdin.on('end', () => {
    run(JSON.parse(input) as LoadOptions).then(
      (result) => process.stdout.write(JSON.stringify(result)),
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
