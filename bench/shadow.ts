import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fixedRate } from './support/fixed-rate.ts';
import { freePort } from '../platform/free-port.ts';

/**
 * `npm run bench:shadow` — issue 7's benchmark. The client's view of the proxy (proxy/main.ts as
 * in production) with shadow off, shadow at 100% against a target as fast as the legacy, and
 * against a target 10× slower, side by side in one run: maximum throughput of each, then p50/p99
 * at a fixed request rate (the target: p99 with shadow within 1.1× of shadow off). The legacy and
 * the fast target answer after LEGACY_MS (a database read), the slow one after 10 × LEGACY_MS.
 *
 * The fixed rate is RATE_SHARE (25%) of the lowest maximum measured in the same run (shadow at
 * 100% does twice the proxy's work), unless BENCH_RATE says otherwise: a proxy runs with headroom
 * in production, and a rate near saturation measures queueing, not what mirroring adds to a
 * request. On a shared machine a p99 is made by whatever else runs at that moment, so the fixed
 * rate runs in short slices that alternate between the three proxies, and each configuration's
 * latencies are pooled over all its slices into one distribution: a burst of load from elsewhere
 * lands on every configuration alike. The fixed-rate client is the open-loop load generator in
 * its own process (bench/support/fixed-rate.ts), latency from each request's due time.
 * BENCH_BEFORE=<another checkout> adds that tree's proxies
 * (all three configurations) to the same slices, to judge a change side by side.
 * BENCH_PROXY_NODE_ARGS (e.g. `--trace-gc`) adds Node flags to the proxies only, and
 * BENCH_PROXY_LOG_DIR=<dir> keeps each proxy's stdout there (<configuration>.log) to read them.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const SLICES = Number(process.env.BENCH_SLICES ?? 12);
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 2);
const RATE_SHARE = 0.25;
const LEGACY_MS = Number(process.env.LEGACY_MS ?? 2);
const CONNECTIONS = 20;
/** A slice whose legacy answer timers fired at most this late saw no stall of the whole machine (the legacy's own busy loop makes them 2-8 ms late at 1,000 req/s; a machine stall, 20-40 ms). */
const QUIET_LATENESS_MS = 10;
const PATH = '/rest/V1/products/24-MB01';
const BEFORE = process.env.BENCH_BEFORE;
const PROXY_NODE_ARGS = (process.env.BENCH_PROXY_NODE_ARGS ?? '').split(' ').filter(Boolean);
const PROXY_LOG_DIR = process.env.BENCH_PROXY_LOG_DIR;
const work = mkdtempSync(join(tmpdir(), 'strangler-bench-shadow-'));
const children: ChildProcess[] = [];

interface Row {
  name: string;
  /** Pooled over the slices. */
  fixed: { sent: number; failed: number; p50: number; p99: number; max: number };
  /** Each slice's p99, in order, to see the spread. */
  sliceP99s: number[];
  /** Each slice's worst lateness of the legacy's answer timers (ms): the machine's stalls during it. */
  witnessMax: number[];
  /** p99 pooled over the slices in which the legacy's timers were never more than QUIET_LATENESS_MS late (null: none). */
  quietP99: number | null;
  quietSlices: number;
  /** CPU µs per request of each upstream process and of the bench's client, at the fixed rate. */
  upstreamMicrosPerRequest: Record<string, number>;
  clientMicrosPerRequest: number;
  /** The proxy process's CPU per request at the fixed rate, its idle CPU subtracted: what mirroring costs, robust to other load. */
  cpuMicrosPerRequest: number;
  max: { requestsPerSecond: number; p50: number; p99: number; errors: number };
  shadow: { counts: Record<string, number>; shadowP99: number | null } | null;
}

async function main(): Promise<void> {
  console.log(`bench:shadow on ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
  const ports = { legacy: await freePort(), fast: await freePort(), slow: await freePort() };
  const upstreams = {
    legacy: await start('legacy', ['bench/shadow-targets/delayed-upstream.ts'], { PORT: String(ports.legacy), DELAY_MS: String(LEGACY_MS) }, ports.legacy),
    fast: await start('fast target', ['bench/shadow-targets/delayed-upstream.ts'], { PORT: String(ports.fast), DELAY_MS: String(LEGACY_MS) }, ports.fast),
    slow: await start('slow target', ['bench/shadow-targets/delayed-upstream.ts'], { PORT: String(ports.slow), DELAY_MS: String(LEGACY_MS * 10) }, ports.slow),
  };
  const bystanders = Object.entries(upstreams) as [keyof typeof upstreams, ChildProcess][];

  const configurations: { name: string; routes: string; root?: string }[] = [
    { name: 'shadow off', routes: routes(ports, 'legacy', undefined) },
    { name: 'shadow 100%, fast target', routes: routes(ports, 'shadow', 'fast') },
    { name: `shadow 100%, 10× slower target`, routes: routes(ports, 'shadow', 'slow') },
  ];
  // BENCH_BEFORE=<another checkout>: its proxies too, in the same slices, to judge a change side by side (the target is judged on this tree's rows only).
  if (BEFORE !== undefined) {
    configurations.push(
      { name: 'before: shadow off', routes: routes(ports, 'legacy', undefined), root: BEFORE },
      { name: 'before: shadow 100%, fast target', routes: routes(ports, 'shadow', 'fast'), root: BEFORE },
      { name: 'before: shadow 100%, 10× slower', routes: routes(ports, 'shadow', 'slow'), root: BEFORE },
    );
  }
  // All three proxies run side by side (an idle one costs nothing).
  const proxies: Proxy[] = [];
  for (const configuration of configurations) proxies.push(await startProxy(configuration.name, configuration.routes, configuration.root));
  for (const proxy of proxies) await autocannon({ url: `http://127.0.0.1:${proxy.port}${PATH}`, connections: 10, duration: 2 });

  const maxima: Row['max'][] = [];
  for (const proxy of proxies) {
    process.stdout.write(`max throughput, ${proxy.name}… `);
    const max = await autocannon({ url: `http://127.0.0.1:${proxy.port}${PATH}`, connections: CONNECTIONS, duration: DURATION });
    console.log(`${max.requests.average.toFixed(0)} req/s`);
    maxima.push({ requestsPerSecond: max.requests.average, p50: max.latency.p50, p99: max.latency.p99, errors: max.errors + max.non2xx });
  }
  const lowest = Math.min(...maxima.map((max) => max.requestsPerSecond));
  const rate = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : Math.max(50, Math.floor((lowest * RATE_SHARE) / 50) * 50);
  console.log(`\nfixed rate ${rate} req/s${process.env.BENCH_RATE ? ' (BENCH_RATE)' : ` = ${Math.round(RATE_SHARE * 100)}% of the lowest maximum (${lowest.toFixed(0)} req/s), rounded down to 50`}; ${SLICES} slices of ${SLICE_SECONDS} s per configuration, alternating, latencies pooled`);
  console.log(`legacy and fast target answer after ${LEGACY_MS} ms, slow target after ${LEGACY_MS * 10} ms; GET ${PATH}\n`);

  // What each proxy burns while idle (timers, metrics): subtracted, so the CPU column is per request.
  const idleSeconds = 4;
  const idleBefore = proxies.map((proxy) => cpuTicks(proxy.child.pid));
  await sleep(idleSeconds * 1000);
  const idleTicksPerSecond = proxies.map((proxy, index) => (cpuTicks(proxy.child.pid) - (idleBefore[index] as number)) / idleSeconds);
  type Pool = { sent: number; failed: number; latencies: number[]; sliceP99s: number[]; cpuTicks: number; witnessMax: number[]; quietLatencies: number[]; upstreamTicks: Record<string, number>; clientMicros: number };
  const pooled = new Map<string, Pool>(proxies.map((proxy) => [proxy.name, { sent: 0, failed: 0, latencies: [], sliceP99s: [], cpuTicks: 0, witnessMax: [], quietLatencies: [], upstreamTicks: { legacy: 0, fast: 0, slow: 0 }, clientMicros: 0 }]));
  for (let slice = 1; slice <= SLICES; slice++) {
    process.stdout.write(`slice ${slice}/${SLICES}: `);
    // Rotate who goes first, so no configuration always follows the same one.
    for (let turn = 0; turn < proxies.length; turn++) {
      const proxy = proxies[(slice + turn) % proxies.length] as Proxy;
      const before = cpuTicks(proxy.child.pid);
      const upstreamsBefore = bystanders.map(([, child]) => cpuTicks(child.pid));
      await legacyLateness(ports.legacy); // resets the witness
      const result = await fixedRate(proxy.port, PATH, rate, SLICE_SECONDS);
      const witness = await legacyLateness(ports.legacy);
      const sums = pooled.get(proxy.name) as Pool;
      // Is the bench fair? The upstreams' and the client's CPU by configuration (a slow target
      // burning CPU in bursts would show here), and how late the legacy's answer timers fired:
      // the machine's own stalls, which land on whichever configuration runs at that moment.
      for (const [index, [name, child]] of bystanders.entries()) sums.upstreamTicks[name] = (sums.upstreamTicks[name] ?? 0) + cpuTicks(child.pid) - (upstreamsBefore[index] as number);
      sums.clientMicros += result.clientCpuMicros;
      sums.witnessMax.push(witness.max);
      if (witness.max <= QUIET_LATENESS_MS) for (const latency of result.latencies) sums.quietLatencies.push(latency);
      // The proxy's own CPU (its shadow work included; it may finish just after the slice).
      sums.cpuTicks += cpuTicks(proxy.child.pid) - before - (idleTicksPerSecond[proxies.indexOf(proxy)] as number) * SLICE_SECONDS;
      sums.sent += result.sent;
      sums.failed += result.failed;
      for (const latency of result.latencies) sums.latencies.push(latency);
      sums.sliceP99s.push(result.p99);
      process.stdout.write('.');
    }
    process.stdout.write('\n');
  }
  const rows: Row[] = proxies.map((proxy, index) => {
    const sums = pooled.get(proxy.name) as Pool;
    const sorted = sums.latencies.sort((a, b) => a - b);
    const at = (q: number) => quantile(sorted, q);
    const quiet = sums.quietLatencies.sort((a, b) => a - b);
    const perRequest = (ticks: number) => (sums.sent === 0 ? 0 : ((ticks / CLOCK_TICKS) * 1e6) / sums.sent);
    return {
      name: proxy.name,
      fixed: { sent: sums.sent, failed: sums.failed, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 },
      sliceP99s: sums.sliceP99s,
      witnessMax: sums.witnessMax,
      quietP99: quiet.length === 0 ? null : quantile(quiet, 0.99),
      quietSlices: sums.witnessMax.filter((late) => late <= QUIET_LATENESS_MS).length,
      upstreamMicrosPerRequest: Object.fromEntries(Object.entries(sums.upstreamTicks).map(([name, ticks]) => [name, perRequest(ticks)])),
      clientMicrosPerRequest: sums.sent === 0 ? 0 : sums.clientMicros / sums.sent,
      cpuMicrosPerRequest: perRequest(sums.cpuTicks),
      max: maxima[index] as Row['max'],
      shadow: null,
    };
  });
  await sleep(2500);
  for (const [index, proxy] of proxies.entries()) {
    if (!proxy.name.endsWith('shadow off')) (rows[index] as Row).shadow = await shadowSummary(proxy);
    stop(proxy.child);
  }

  const off = rows[0] as Row;
  const printed = table([
    ['configuration', `p50 ms @${rate}/s`, `p99 ms @${rate}/s`, 'p99 vs off', 'failed', 'proxy CPU µs/req', 'max req/s', 'p99 ms @max', 'verdicts (match/mismatch/error/skipped)', 'shadow p99 ms'],
    ...rows.map((row) => [
      row.name,
      row.fixed.p50.toFixed(2),
      row.fixed.p99.toFixed(2),
      `${(row.fixed.p99 / off.fixed.p99).toFixed(2)}×`,
      String(row.fixed.failed + row.max.errors),
      row.cpuMicrosPerRequest.toFixed(0),
      row.max.requestsPerSecond.toFixed(0),
      row.max.p99.toFixed(1),
      row.shadow ? `${row.shadow.counts.match ?? 0}/${row.shadow.counts.mismatch ?? 0}/${row.shadow.counts.error ?? 0}/${row.shadow.counts.skipped ?? 0}` : '-',
      row.shadow?.shadowP99 === null || row.shadow === null ? '-' : String(row.shadow.shadowP99),
    ]),
  ]);
  console.log(printed);
  const worst = Math.max(...rows.slice(1, 3).map((row) => row.fixed.p99 / off.fixed.p99));
  console.log(`\ntarget: client p99 with shadow within 1.1× of shadow off — worst ${worst.toFixed(2)}× → ${worst <= 1.1 ? 'met' : 'NOT met'}`);
  console.log(`per-slice p99 ms (spread of the noise): ${rows.map((row) => `${row.name}: ${row.sliceP99s.map((p99) => p99.toFixed(1)).join(' ')}`).join(' | ')}`);
  console.log(`per-slice worst lateness of the legacy's answer timers, ms (the machine's stalls in that slice): ${rows.map((row) => `${row.name}: ${row.witnessMax.map((late) => late.toFixed(1)).join(' ')}`).join(' | ')}`);
  console.log(
    `\nfairness, CPU µs per request at the fixed rate (legacy / fast target / slow target / bench client), and p99 over the slices where the legacy's timers were at most ${QUIET_LATENESS_MS} ms late (diagnostic only; the target is judged on all slices above):`,
  );
  for (const row of rows) {
    const cpu = ['legacy', 'fast', 'slow'].map((name) => (row.upstreamMicrosPerRequest[name] ?? 0).toFixed(0)).join(' / ');
    console.log(`  ${row.name.padEnd(31)} ${cpu} / ${row.clientMicrosPerRequest.toFixed(0)}   quiet slices ${row.quietSlices}/${row.sliceP99s.length}, p99 ${row.quietP99 === null ? '-' : `${row.quietP99.toFixed(2)} ms (${(row.quietP99 / (off.quietP99 ?? NaN)).toFixed(2)}× off)`}`);
  }
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(root, 'bench', 'results', 'shadow.json'),
    `${JSON.stringify({ at: new Date().toISOString(), cores: cpus().length, loadavg: loadavg(), maxDurationSeconds: DURATION, slices: SLICES, sliceSeconds: SLICE_SECONDS, rate, rateShareOfLowestMax: process.env.BENCH_RATE ? null : RATE_SHARE, legacyMs: LEGACY_MS, rows, worstP99Ratio: worst, targetMet: worst <= 1.1 }, null, 2)}\n`,
  );
  console.log('written bench/results/shadow.json');
}

function routes(ports: { legacy: number; fast: number; slow: number }, mode: 'legacy' | 'shadow', target: 'fast' | 'slow' | undefined): string {
  return `upstreams:
  legacy: { url: "http://127.0.0.1:${ports.legacy}" }
  fast:   { url: "http://127.0.0.1:${ports.fast}" }
  slow:   { url: "http://127.0.0.1:${ports.slow}" }
routes:
  - id: product-by-sku
    match: { method: [GET, HEAD], path: "/rest/V1/products/:sku" }
    mode: ${mode}
${target ? `    target: ${target}\n    shadow: { sampleRate: 1, maxConcurrent: 256, timeoutMs: 2000 }\n` : ''}  - id: everything-else
    match: { path: "/*" }
    mode: legacy
`;
}

interface Proxy {
  name: string;
  port: number;
  admin: number;
  child: ChildProcess;
}

const TOKEN = 'bench-shadow-token';

async function startProxy(name: string, routesText: string, cwd = root): Promise<Proxy> {
  const dir = join(work, name.replace(/\W+/g, '-'));
  mkdirSync(dir, { recursive: true });
  const routesFile = join(dir, 'routes.yaml');
  writeFileSync(routesFile, routesText);
  const port = await freePort();
  const admin = await freePort();
  const env = { PROXY_PORT: String(port), ADMIN_PORT: String(admin), ROUTES_FILE: routesFile, STRANGLER_ADMIN_TOKEN: TOKEN, DATA_DIR: dir, LOG_LEVEL: 'info' };
  const log = PROXY_LOG_DIR === undefined ? undefined : openSync(join(PROXY_LOG_DIR, `${name.replace(/\W+/g, '-')}.log`), 'w');
  const child = await start(name, ['proxy/main.ts'], env, port, log ?? true, cwd, PROXY_NODE_ARGS);
  return { name, port, admin, child };
}

async function shadowSummary(proxy: Proxy): Promise<Row['shadow']> {
  try {
    const response = await fetch(`http://127.0.0.1:${proxy.admin}/shadow/product-by-sku`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (!response.ok) return null;
    const body = (await response.json()) as { counts: Record<string, number>; latencyMs: { shadow: { p99: number | null } } };
    return { counts: body.counts, shadowP99: body.latencyMs.shadow.p99 };
  } catch {
    return null;
  }
}

/** `quiet`: true drops the child's stdout, a file descriptor keeps it there. */
async function start(name: string, args: string[], env: Record<string, string>, port: number, quiet: boolean | number = false, cwd = root, nodeArgs: string[] = []): Promise<ChildProcess> {
  const stdout = typeof quiet === 'number' ? quiet : quiet ? 'ignore' : 'pipe';
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
  child.stdout?.resume();
  children.push(child);
  const deadline = Date.now() + 30_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start on port ${port}`);
    await sleep(100);
  }
  return child;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** user+system CPU ticks of one process, from /proc (0 where there is none). */
function cpuTicks(pid: number | undefined): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The value at quantile q of ascending `sorted` (0 when empty). */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** The legacy's answer-timer lateness since the last call (bench/shadow-targets/delayed-upstream.ts), asked directly. */
async function legacyLateness(port: number): Promise<{ answers: number; p99: number; max: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/__bench/lateness`);
  return (await response.json()) as { answers: number; p99: number; max: number };
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null) child.kill('SIGTERM');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_cell, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

main()
  .catch((error: unknown) => {
    process.exitCode = 1;
    console.error(error);
  })
  .finally(async () => {
    // Wait for every child to exit: a proxy writes its shadow journal while it stops.
    await Promise.all(children.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => {
      child.once('exit', resolve);
      stop(child);
    }))));
    rmSync(work, { recursive: true, force: true });
  });
