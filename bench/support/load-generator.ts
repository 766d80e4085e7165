import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

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
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  const latency: number[] = [];
  const fromSend: number[] = [];
  const late: number[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  const send = (due: number, done: () => void) => {
    const sent = performance.now();
    const path = options.paths[next++ % options.paths.length]!;
    const finish = (success: boolean) => {
      const end = performance.now();
      latency.push(end - due);
      fromSend.push(end - sent);
      if (success) ok += 1;
      else failed += 1;
      done();
    };
    request({ host: '127.0.0.1', port: options.port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode === 200));
    })
      .on('error', () => finish(false))
      .end();
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  if (options.perSecond !== undefined) {
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
        // Sleep until the next due time (timers have ~1 ms granularity; a request sent late is
        // still timed from its due time). A busy loop would take the server's core.
        if (scheduled < total) setTimeout(tick, Math.max(0, started + scheduled * intervalMs - performance.now()));
      };
      tick();
    });
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
  agent.destroy();
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
  };
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
