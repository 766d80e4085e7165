import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

/**
 * A server under test in its own process, as in production, measured from inside: its CPU time,
 * how late its event loop ran what was due, and its GC pauses, between `begin` and `end`.
 *
 * Why its own process: a server hosted in the benchmark's process shares its heap and event loop
 * with the benchmark's own data (bench:pim's 40,000 request paths, the other server), and V8's
 * garbage collection then measures the benchmark as much as the server (2026-12-07: the bench
 * process held ~235 MB live before any load and grew to 830 MB without a major GC).
 */
export interface ServerFigures {
  /** User + system CPU of the server's process, in µs. */
  cpuMicros: number;
  /** Event-loop delay (1 ms resolution), in ms. */
  loopDelay: { p99: number; max: number };
  /** Each GC pause's duration, in ms. */
  gcPauses: number[];
}

type Request = { kind: 'begin' } | { kind: 'end' } | { kind: 'stats' };
type Reply = { kind: 'ready'; port: number } | { kind: 'begun' } | { kind: 'figures'; figures: ServerFigures } | { kind: 'stats'; stats: unknown };

/** The child's side: answers the parent's measurement requests; `stats` adds what only the server knows. */
export function serveMeasurements(port: number, stats: () => unknown = () => null): void {
  let cpu = process.cpuUsage();
  let loop: IntervalHistogram | undefined;
  let pauses: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  const send = (reply: Reply) => process.send!(reply);
  process.on('message', (request: Request) => {
    if (request.kind === 'begin') {
      pauses = [];
      loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      observer.observe({ entryTypes: ['gc'] });
      cpu = process.cpuUsage();
      send({ kind: 'begun' });
    } else if (request.kind === 'end') {
      const used = process.cpuUsage(cpu);
      loop?.disable();
      observer.disconnect();
      send({ kind: 'figures', figures: { cpuMicros: used.user + used.system, loopDelay: { p99: (loop?.percentile(99) ?? 0) / 1e6, max: (loop?.max ?? 0) / 1e6 }, gcPauses: pauses } });
    } else if (request.kind === 'stats') send({ kind: 'stats', stats: stats() });
  });
  // The parent gone (the benchmark ended or crashed): nothing is left to serve.
  process.on('disconnect', () => process.exit(0));
  send({ kind: 'ready', port });
}

/** The parent's side: starts `script` (a .ts file run through tsx) and measures it on request. */
export class MeasuredServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(script: string, env: Record<string, string>): Promise<MeasuredServer> {
    const child = fork(script, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<Reply>((resolve, reject) => {
      child.once('message', (reply: Reply) => resolve(reply));
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    });
    if (ready.kind !== 'ready') throw new Error(`${script} answered ${ready.kind} instead of ready`);
    return new MeasuredServer(child, ready.port);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async begin(): Promise<void> {
    await this.ask({ kind: 'begin' });
  }

  async end(): Promise<ServerFigures> {
    const reply = await this.ask({ kind: 'end' });
    if (reply.kind !== 'figures') throw new Error(`expected figures, got ${reply.kind}`);
    return reply.figures;
  }

  async stats<T>(): Promise<T> {
    const reply = await this.ask({ kind: 'stats' });
    if (reply.kind !== 'stats') throw new Error(`expected stats, got ${reply.kind}`);
    return reply.stats as T;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    // A server that does not finish closing (a connection that never ends) must not hang the benchmark.
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(kill);
  }

  /** One request at a time: the benchmark never overlaps two measurements of one server. */
  private ask(request: Request): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the server exited with ${code}`));
      this.child.once('exit', onExit);
      this.child.once('message', (reply: Reply) => {
        this.child.off('exit', onExit);
        resolve(reply);
      });
      this.child.send(request);
    });
  }
}
