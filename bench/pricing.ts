import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import autocannon from 'autocannon';
import pg from 'pg';
import { startEmbeddedPostgres } from '../platform/embedded-postgres.ts';
import { ensureDatabase } from '../platform/database.ts';
import { migrate } from '../platform/migrations.ts';
import { createRootLogger } from '../platform/logger.ts';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';
import { CdcBridge } from '../cdc/bridge.ts';
import { parseBridgeConfig } from '../cdc/bridge-config.ts';
import { prepareCapture } from '../cdc/capture-setup.ts';
import { DEFAULT_CAPTURED_TABLES } from '../cdc/capture-table.ts';
import { freePort } from '../platform/free-port.ts';
import { generateLoad, reniceThreads, type LoadResult } from './support/load-generator.ts';

// Final-price latency, the extracted pricing service against the legacy endpoint it replaces
// (issue 5). Both run as their own processes (their real main.ts) on one throw-away embedded
// PostgreSQL; the service seeds itself through the real CDC bridge (its own snapshot) and follows the stream. Then, for
// each: a maximum-throughput run (autocannon, 10 connections) and a fixed 1,000 requests/s run,
// over random skus, customer groups and quantities. The fixed rate is an open-loop generator in
// its own process (bench/support/load-generator.ts), not autocannon's overallRate, which sends each
// second's requests as one burst; latency counts from each request's due time. Targets: the service's p99 ≤ ¼ of the legacy's and < 5 ms at
// 1,000 requests/s. BENCH_PRICING_PRODUCTS (default 2,000) and BENCH_PRICING_SECONDS (10) tune it.

const products = Number(process.env.BENCH_PRICING_PRODUCTS ?? 2_000);
const seconds = Number(process.env.BENCH_PRICING_SECONDS ?? 10);
// BENCH_PRICING_NICE=-10: run the service and the fixed-rate generator at that scheduling
// priority (a diagnostic for a loaded machine, where both wait tens of ms for a CPU; reported).
const serviceNice = process.env.BENCH_PRICING_NICE ? Number(process.env.BENCH_PRICING_NICE) : undefined;
// BENCH_PRICING_FIXED_RUNS (3): fixed-rate runs against the service, each reported; the target holds only if every one meets it.
const fixedRuns = Math.max(1, Number(process.env.BENCH_PRICING_FIXED_RUNS ?? 3));
// BENCH_PRICING_QUICK=1: the service's fixed-rate runs only (no maximum-throughput runs, no legacy): a diagnostic, no verdict.
const quick = process.env.BENCH_PRICING_QUICK === '1';
// BENCH_PRICING_SERVICE_FLAGS: node flags for the service process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or
// "--trace-gc"), with its stdout in BENCH_PRICING_SERVICE_LOG when set. The fixed-rate runs' windows are printed in
// CLOCK_MONOTONIC microseconds, the clock of a .cpuprofile's sample times, to cut a profile to them.
const serviceFlags = process.env.BENCH_PRICING_SERVICE_FLAGS?.split(' ').filter(Boolean) ?? [];
const serviceLog = process.env.BENCH_PRICING_SERVICE_LOG;
const FIXED_RATE = 1000;
/** prom-client's default eventLoopMonitoringPrecision (the service's event-loop delay figures). */
const EVENT_LOOP_SAMPLING_MS = 10;
// Enough that a slow answer does not hold up the next ones (an open loop queues beyond this).
const FIXED_CONNECTIONS = 32;
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const logger = createRootLogger({ name: 'bench-pricing', level: process.env.LOG_LEVEL ?? 'warn' });
const root = fileURLToPath(new URL('..', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/pricing.json', import.meta.url));
const suffix = randomBytes(4).toString('hex');
const names = {
  exchange: `bench.cdc.${suffix}`,
  streamQueue: `bench.cdc.log.${suffix}`,
  slot: `bench_pricing_${suffix}`,
  publication: `bench_pricing_${suffix}`,
  queue: `bench.pricing.cdc.${suffix}`,
  // Its own signal queue: the service asks this bridge (not a stack's on the same broker) for its seed snapshot.
  signalQueue: `bench.cdc.signals.${suffix}`,
};

interface RunResult {
  target: 'service' | 'legacy';
  mode: 'max' | '1000/s';
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** autocannon's own percentiles (whole milliseconds), for the maximum-throughput runs. */
  autocannon?: { p50: number; p99: number };
  /** The open-loop generator's figures, for the fixed-rate runs. */
  fixedRate?: LoadResult;
  errors: number;
  non2xx: number;
  /** 1-minute load average at the end of the run. */
  loadAverage?: number;
}

const children: ChildProcess[] = [];
const dataDir = await mkdtemp(path.join(tmpdir(), 'strangler-bench-pricing-'));
const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger, durability: 'durable' });
let bridge: CdcBridge | undefined;
let bridgeRunning: Promise<void> | undefined;
try {
  const legacyUrl = server.url('legacy');
  const pricingUrl = server.url('pricing');
  await ensureDatabase(server.url('postgres'), 'legacy');
  await ensureDatabase(server.url('postgres'), 'pricing');
  await migrate(legacyUrl, path.join(root, 'legacy-stub/schema'), logger);
  await prepareCapture({ databaseUrl: legacyUrl, logger, slot: names.slot, publication: names.publication });
  bridge = new CdcBridge({
    config: parseBridgeConfig({ databaseUrl: legacyUrl, amqpUrl, tables: [...DEFAULT_CAPTURED_TABLES], ...names, streamMaxAge: '1h' }),
    logger,
  });
  bridgeRunning = bridge.start();
  await bridge.waitUntilActive();
  const seeded = await seedLegacy(legacyUrl, { products, logger });
  console.log(`seeded ${products} products in ${seeded.ms} ms`);

  const legacyPort = await freePort();
  const pricingPort = await freePort();
  children.push(start('legacy-stub/main.ts', { LEGACY_DATABASE_URL: legacyUrl, LEGACY_PORT: String(legacyPort), LOG_LEVEL: 'warn' }));
  const catchUpStarted = performance.now();
  children.push(
    start('extracted/pricing/main.ts', {
      PRICING_DATABASE_URL: pricingUrl,
      PRICING_PORT: String(pricingPort),
      AMQP_URL: amqpUrl,
      CDC_EXCHANGE: names.exchange,
      CDC_SIGNAL_QUEUE: names.signalQueue,
      PRICING_QUEUE: names.queue,
      CDC_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: process.env.BENCH_PRICING_VERBOSE ?? 'warn',
    }, { flags: serviceFlags, stdout: serviceLog ? openSync(serviceLog, 'w') : undefined }),
  );
  if (serviceNice !== undefined) {
    // A diagnostic, not the benchmark: on a shared, overloaded box a process waits for a CPU for
    // tens of ms (the service's event-loop delay shows it); a raised priority tells that apart
    // from the service's own latency. Negative values need root.
    setPriority(children.at(-1)!.pid!, serviceNice);
    console.log(`the pricing service and the fixed-rate generator run at nice ${serviceNice} (BENCH_PRICING_NICE)`);
  }
  const legacyBase = `http://127.0.0.1:${legacyPort}`;
  const serviceBase = `http://127.0.0.1:${pricingPort}`;
  await waitFor(`${legacyBase}/healthz`, 30_000);
  await waitFor(`${serviceBase}/readyz`, 600_000);
  const catchUpMs = Math.round(performance.now() - catchUpStarted);
  // Now that its threads exist: V8's GC helpers and libuv's pool, which the main thread may wait for.
  if (serviceNice !== undefined) reniceThreads(children.at(-1)!.pid!, serviceNice);
  console.log(`the pricing service seeded itself (snapshot through the bridge) and caught up in ${catchUpMs} ms`);
  await bridge.stop();

  const client = new pg.Client({ connectionString: legacyUrl });
  await client.connect();
  const skus = (await client.query<{ sku: string }>('SELECT sku FROM catalog_product_entity ORDER BY entity_id')).rows.map((row) => row.sku);
  await client.end();
  const randomPath = () => {
    const sku = skus[Math.floor(Math.random() * skus.length)]!;
    const group = Math.floor(Math.random() * 4);
    const qty = [1, 2, 5, 10, 20, 50][Math.floor(Math.random() * 6)];
    return `/rest/V1/products/${encodeURIComponent(sku)}/final-price?customerGroupId=${group}&qty=${qty}`;
  };

  // Same answers before timing anything: a fast wrong answer is no result.
  for (let i = 0; i < 200; i += 1) {
    const question = randomPath();
    const [a, b] = await Promise.all([fetch(`${legacyBase}${question}`).then((r) => r.text()), fetch(`${serviceBase}${question}`).then((r) => r.text())]);
    if (a !== b) throw new Error(`the service and the legacy disagree on ${question}: ${b} vs ${a}`);
  }

  // Every sku once, so the timed runs measure the steady state (the service's cache filled).
  for (let start = 0; start < skus.length; start += 20) {
    await Promise.all(skus.slice(start, start + 20).map((sku) => fetch(`${serviceBase}/rest/V1/products/${encodeURIComponent(sku)}/final-price`).then((r) => r.text())));
  }
  const loadBefore = loadavg()[0]!;
  const results: RunResult[] = [];
  const fixedPaths = Array.from({ length: 50_000 }, randomPath);
  const serviceInside: ServiceInside[] = [];
  for (const [target, base, port] of [['service', serviceBase, pricingPort], ['legacy', legacyBase, legacyPort]] as const) {
    if (quick && target === 'legacy') continue;
    await run(base, randomPath, { connections: 10, duration: 3 }); // warm-up (connections, JIT, cache)
    if (!quick) results.push({ target, mode: 'max', ...(await run(base, randomPath, { connections: 10, duration: seconds })) });
    // The service is measured several times (BENCH_PRICING_FIXED_RUNS): one run's p99 on a shared machine is mostly luck.
    for (let round = 0; round < (target === 'service' ? fixedRuns : 1); round += 1) {
      const before = target === 'service' ? await serviceFigures(serviceBase) : undefined;
      const fromMicros = monotonicMicros();
      const fixed = await generateLoad({ port, paths: fixedPaths, perSecond: FIXED_RATE, seconds, connections: FIXED_CONNECTIONS, nice: serviceNice });
      if (before) serviceInside.push(inside(before, await serviceFigures(serviceBase), fixed.requests, [fromMicros, monotonicMicros()]));
      results.push({
        target,
        mode: '1000/s',
        requests: fixed.requests,
        requestsPerSecond: fixed.perSecond,
        p50Ms: fixed.latency.p50,
        p99Ms: fixed.latency.p99,
        fixedRate: fixed,
        // The generator counts a non-200 answer and a transport error alike.
        errors: fixed.failed,
        non2xx: 0,
        loadAverage: Number(loadavg()[0]!.toFixed(2)),
      });
    }
  }
  const metrics = await (await fetch(`${serviceBase}/metrics`)).text();
  const hitRatio = Number(/^pricing_cache_hit_ratio (\S+)$/m.exec(metrics)?.[1] ?? NaN);

  const of = (target: string, mode: string) => results.find((r) => r.target === target && r.mode === mode);
  const fixedServices = results.filter((r) => r.target === 'service' && r.mode === '1000/s');
  // The worst of the service's fixed-rate runs is what counts: "under 5 ms" has to hold every time.
  const fixedService = fixedServices.reduce((worst, r) => (r.p99Ms > worst.p99Ms ? r : worst));
  const fixedLegacy = of('legacy', '1000/s');
  const maxService = of('service', 'max');
  const maxLegacy = of('legacy', 'max');
  const targets = {
    p99UnderFiveMsAt1000: {
      value: fixedService.p99Ms,
      target: `< 5 ms (worst of ${fixedServices.length} runs)`,
      pass: fixedServices.every((r) => r.p99Ms < 5 && r.non2xx === 0 && r.errors === 0),
    },
    p99QuarterOfLegacyAt1000: {
      value: fixedLegacy ? Number((fixedService.p99Ms / fixedLegacy.p99Ms).toFixed(3)) : NaN,
      target: '≤ 0.25 × legacy p99 at 1,000 req/s',
      pass: fixedLegacy !== undefined && fixedService.p99Ms <= fixedLegacy.p99Ms / 4,
    },
    p99QuarterOfLegacyAtMax: {
      value: maxService && maxLegacy ? Number((maxService.p99Ms / maxLegacy.p99Ms).toFixed(3)) : NaN,
      target: '≤ 0.25 × legacy p99 at maximum throughput (reported)',
      pass: maxService !== undefined && maxLegacy !== undefined && maxService.p99Ms <= maxLegacy.p99Ms / 4,
    },
  };
  console.log(`\nfinal-price, ${products} products, 10 connections, ${seconds} s per run, random sku × group × qty\n`);
  console.table(
    results.map((r) => ({
      target: r.target,
      mode: r.mode,
      'req/s': r.requestsPerSecond,
      'p50 (ms)': r.p50Ms,
      'p99 (ms)': r.p99Ms,
      'p99.9 (ms)': r.fixedRate?.latency.p999 ?? '',
      'max (ms)': r.fixedRate?.latency.max ?? '',
      'p99 from send (ms)': r.fixedRate?.fromSend.p99 ?? '',
      'client late p99 (ms)': r.fixedRate?.late?.p99 ?? '',
      errors: r.errors + r.non2xx,
      load: r.loadAverage ?? '',
    })),
  );
  console.table(Object.entries(targets).map(([name, t]) => ({ target: name, value: t.value, wanted: t.target, pass: t.pass })));
  const machine = { cpus: cpus().length, loadAverageBefore: Number(loadBefore.toFixed(2)), loadAverageAfter: Number(loadavg()[0]!.toFixed(2)) };
  if (serviceInside.length > 0) {
    console.log('\ninside the service during its 1,000/s runs (event-loop delay beyond the 10 ms sampling interval of prom-client\'s monitor):');
    console.table(
      serviceInside.map((figures) => ({
        ...Object.fromEntries(figures.answeredUnderMs.map(([ms, share]) => [`≤ ${ms} ms`, `${(share * 100).toFixed(2)}%`])),
        'loop delay p99 (ms)': figures.eventLoopDelayP99Ms,
        'loop delay max (ms)': figures.eventLoopDelayMaxMs,
        'CPU µs/request': figures.cpuMicrosPerRequest,
        'GC pauses': figures.gcCount,
        'GC ms': figures.gcMs,
      })),
    );
  }
  console.log(`cache hit ratio ${hitRatio.toFixed(4)}; seed + catch-up ${catchUpMs} ms; ${machine.cpus} CPUs, 1-minute load ${machine.loadAverageBefore} → ${machine.loadAverageAfter}`);
  const report = {
    benchmark: 'pricing',
    date: new Date().toISOString(),
    products,
    secondsPerRun: seconds,
    connections: 10,
    fixedRate: { perSecond: FIXED_RATE, connections: FIXED_CONNECTIONS, generator: 'open loop in its own process, latency from each request\'s due time (bench/support/load-generator.ts)' },
    serviceInsideFixedRuns: serviceInside,
    serviceNice: serviceNice ?? null,
    catchUpMs,
    cacheHitRatio: hitRatio,
    // The machine is shared: a load average far above the CPU count means every figure is inflated by waiting for a CPU.
    machine,
    results,
    targets,
    pass: targets.p99UnderFiveMsAt1000.pass && targets.p99QuarterOfLegacyAt1000.pass,
    note: 'max: p50/p99 exact from every response time (autocannon "response" events, 10 connections, closed loop). 1000/s: open loop, counted from each request\'s due time (coordinated omission included).',
  };
  await mkdir(path.dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), resultsFile)}`);
  if (!report.pass) process.exitCode = 1;
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)));
  await bridge?.stop();
  await bridgeRunning?.catch(() => undefined);
  await removeBrokerObjects();
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

function start(entry: string, env: Record<string, string>, options: { flags?: string[]; stdout?: number } = {}): ChildProcess {
  const child = spawn(process.execPath, [...(options.flags ?? []), '--import', 'tsx', path.join(root, entry)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    // BENCH_PRICING_VERBOSE=1 shows the children's logs (e.g. to see where a slow catch-up spends its time).
    stdio: ['ignore', options.stdout ?? (process.env.BENCH_PRICING_VERBOSE ? 'inherit' : 'ignore'), 'inherit'],
    cwd: root,
  });
  return child;
}

/** CLOCK_MONOTONIC in microseconds: the clock of V8's profile sample times, the same in every process. */
function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function run(base: string, nextPath: () => string, options: { connections: number; duration: number; overallRate?: number }) {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections: options.connections,
        duration: options.duration,
        overallRate: options.overallRate,
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: nextPath() }) }],
      },
      (error, done) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  });
  times.sort((a, b) => a - b);
  const at = (q: number) => Number((times[Math.min(times.length - 1, Math.floor(times.length * q))] ?? NaN).toFixed(3));
  return {
    requests: result.requests.total,
    requestsPerSecond: Math.round(result.requests.total / options.duration),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    autocannon: { p50: result.latency.p50, p99: result.latency.p99 },
    fixedRate: undefined,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    if (children.some((child) => child.exitCode !== null)) throw new Error(`a process exited while waiting for ${url}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function removeBrokerObjects(): Promise<void> {
  const connection = await amqp.connect(amqpUrl).catch(() => undefined);
  if (!connection) return;
  for (const queue of [names.queue, `${names.queue}.retry`, `${names.queue}.dead`, names.streamQueue, names.signalQueue]) {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.deleteQueue(queue).catch(() => undefined);
    await channel.close().catch(() => undefined);
  }
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  await channel.deleteExchange(names.exchange).catch(() => undefined);
  await connection.close().catch(() => undefined);
}


/** What the service's own /metrics say (prom-client's event-loop histogram resets at every scrape). */
interface ServiceFigures {
  answered: Map<string, number>;
  answeredCount: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  gcCount: number;
  gcSeconds: number;
  cpuSeconds: number;
}

interface ServiceInside {
  /** Share of the run's final-price answers that took at most this many ms inside the service. */
  answeredUnderMs: Array<[number, number]>;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  gcCount: number;
  gcMs: number;
  /** The service's CPU time (user + system) over the run, per request sent. */
  cpuMicrosPerRequest: number;
  /** The run's window in CLOCK_MONOTONIC µs (to cut a --cpu-prof profile to it). */
  monotonicWindowMicros: [number, number];
}

async function serviceFigures(base: string): Promise<ServiceFigures> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
  const answered = new Map<string, number>();
  for (const match of text.matchAll(/^pricing_final_price_seconds_bucket\{le="([^"]+)",status="200"\} (\S+)$/gm)) answered.set(match[1]!, Number(match[2]));
  return {
    answered,
    answeredCount: value(/^pricing_final_price_seconds_count\{status="200"\} (\S+)$/gm),
    eventLoopDelayP99Ms: value(/^pricing_nodejs_eventloop_lag_p99_seconds (\S+)$/gm) * 1000,
    eventLoopDelayMaxMs: value(/^pricing_nodejs_eventloop_lag_max_seconds (\S+)$/gm) * 1000,
    gcCount: value(/^pricing_nodejs_gc_duration_seconds_count\{[^}]*\} (\S+)$/gm),
    gcSeconds: value(/^pricing_nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm),
    cpuSeconds: value(/^pricing_process_cpu_seconds_total (\S+)$/gm),
  };
}

function inside(before: ServiceFigures, after: ServiceFigures, requests: number, window: [number, number]): ServiceInside {
  const count = after.answeredCount - before.answeredCount;
  const answeredUnderMs: Array<[number, number]> = [];
  for (const [le, cumulative] of after.answered) {
    if (le === '+Inf') continue;
    const share = count > 0 ? (cumulative - (before.answered.get(le) ?? 0)) / count : NaN;
    answeredUnderMs.push([Number(le) * 1000, Number(share.toFixed(5))]);
  }
  return {
    answeredUnderMs: answeredUnderMs.filter(([ms]) => ms <= 5),
    // The histogram restarted at the "before" scrape, so "after" covers the run alone. prom-client
    // samples the loop with a 10 ms timer and records the whole interval between two samples, so an
    // idle loop reads 10 ms: what is beyond it is the delay.
    eventLoopDelayP99Ms: Number(Math.max(0, after.eventLoopDelayP99Ms - EVENT_LOOP_SAMPLING_MS).toFixed(2)),
    eventLoopDelayMaxMs: Number(Math.max(0, after.eventLoopDelayMaxMs - EVENT_LOOP_SAMPLING_MS).toFixed(2)),
    gcCount: after.gcCount - before.gcCount,
    gcMs: Number(((after.gcSeconds - before.gcSeconds) * 1000).toFixed(1)),
    cpuMicrosPerRequest: Math.round(((after.cpuSeconds - before.cpuSeconds) * 1e6) / Math.max(1, requests)),
    monotonicWindowMicros: window,
  };
}
