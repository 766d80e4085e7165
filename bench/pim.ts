import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../platform/embedded-postgres.ts';
import { ensureDatabase } from '../platform/database.ts';
import { migrate } from '../platform/migrations.ts';
import { createRootLogger } from '../platform/logger.ts';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';
import { startPimService } from '../extracted/pim/pim-service.ts';
import { copyLegacySnapshot } from '../extracted/pim/sync/legacy-snapshot.ts';
import { freePort } from '../platform/free-port.ts';
import { generateLoad } from './support/load-generator.ts';
import { MeasuredServer, type ServerFigures } from './support/measured-server.ts';

// The PIM (PostgreSQL store) against the legacy on the same catalog of 100,000 products
// (BENCH_PIM_PRODUCTS to change it), side by side: get-by-sku and three typical searchCriteria
// queries (filter + sort + page), each over a small set of variants as a storefront asks them
// (several bands or categories, pages 1–5). Issue 6 targets: PIM p99 at most a third of the
// legacy's for searchCriteria and under 50 ms; get-by-sku p99 under 5 ms. A fifth row, reported
// but not judged, asks a price band nobody asked before on every request, so the PIM's
// total_count cache (store/postgres/count-cache.ts) cannot help: the cost of a cold listing.
// The load comes from bench/support/load-generator.ts (its own process, latency to the
// microsecond) with plain GETs (no Accept-Encoding, as autocannon sent them before): closed loop
// at 1 and 10 connections for every scenario, and for get-by-sku also open loop at a fixed rate
// (BENCH_PIM_RATE, 1,000 requests/s; latency from each request's due time, so a stall shows
// instead of lowering the rate), the PIM BENCH_PIM_FIXED_RUNS times (3), the legacy once — unless
// its closed loop at the most connections stayed under 90% of that rate: then it cannot keep the
// rate, an open loop would only measure a queue growing for minutes, and the row says so instead.
//
// Where the get-by-sku target is judged: at the fixed rate (every run) and at 1 connection. The
// 10-connection closed loop is reported, not judged: ten clients that each send again the moment
// an answer is in keep both cores saturated, so its p99 is the queue of that saturation, which
// no per-request saving removes on a 2-core box shared with other work.
//
// BENCH_PIM_NICE=-10: run both servers' processes and the generator at that scheduling priority
// (needs root): a diagnostic for a loaded machine, where an open loop's p99 is mostly the time the
// processes wait for a CPU; the title says so, and its figures are not the verdict of a normal run.
// BENCH_PIM_SCENARIOS=get,search,uncached (kinds; all by default) runs only those scenarios;
// BENCH_PIM_CACHE=off starts the PIM without its get-by-sku answer cache
// (api/product-response-cache.ts), to measure what the cache does in one build; =no-refresh
// keeps the cache but not its refresh ahead of the age limit.
//
// The PIM is filled from one snapshot of the legacy tables through its own projector
// (extracted/pim/sync/legacy-snapshot.ts → CatalogProjector.flushDirty), not by streaming
// 100,000 products (~1.8 M rows) through the CDC bridge, which would benchmark the bridge.
//
// BENCH_PIM_DATA_DIR=<dir> keeps the seeded and filled cluster in <dir> instead of a throw-away
// one, and a later run with the same BENCH_PIM_PRODUCTS reuses it (seeding and filling take a
// few minutes; the PIM's migrations still run, so a new index is built on the kept documents).
// Delete the directory to start over.
const products = Number(process.env.BENCH_PIM_PRODUCTS ?? 100_000);
const durationSeconds = Number(process.env.BENCH_PIM_DURATION ?? 10);
// Two load levels: one connection measures service latency (what the p99 targets are about),
// ten measure behaviour under concurrency. On a shared 2-core box the second is mostly queueing.
const loadLevels = (process.env.BENCH_PIM_CONNECTIONS ?? '1,10').split(',').map(Number);
const fixedRate = Number(process.env.BENCH_PIM_RATE ?? 1000);
const fixedRuns = Math.max(1, Number(process.env.BENCH_PIM_FIXED_RUNS ?? 3));
// Sockets the open loop may use: enough that a slow answer does not hold up the next ones.
const FIXED_CONNECTIONS = 32;
const scenarioKinds = new Set((process.env.BENCH_PIM_SCENARIOS ?? 'get,search,uncached').split(','));
const productCache = process.env.BENCH_PIM_CACHE !== 'off';
// BENCH_PIM_CACHE=no-refresh: the cache without its refresh ahead of the age limit (answers expire and are read again on a miss).
const refreshAhead = process.env.BENCH_PIM_CACHE !== 'no-refresh';
const nice = process.env.BENCH_PIM_NICE ? Number(process.env.BENCH_PIM_NICE) : undefined;
if (nice !== undefined) os.setPriority(nice);
const logger = createRootLogger({ name: 'bench-pim', level: process.env.LOG_LEVEL ?? 'warn' });
const legacySchema = fileURLToPath(new URL('../legacy-stub/schema', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/pim.json', import.meta.url));

const q = (params: Record<string, string>) => `/rest/V1/products?${new URLSearchParams(params).toString()}`;
interface Scenario {
  name: string;
  kind: 'get' | 'search' | 'uncached';
  paths: string[];
  /** Paths for the warm-up when the measured ones must not have been asked before. */
  warmUpPaths?: string[];
}
const scenarios: Scenario[] = [];

const keptDir = process.env.BENCH_PIM_DATA_DIR ? path.resolve(process.env.BENCH_PIM_DATA_DIR) : undefined;
const dataDir = keptDir ?? (await mkdtemp(path.join(tmpdir(), 'strangler-bench-pim-')));
const markerFile = path.join(dataDir, 'bench-pim.json');
const kept = keptDir ? await readFile(markerFile, 'utf8').then((text) => JSON.parse(text) as KeptFill, () => undefined) : undefined;
const reused = kept?.products === products ? kept : undefined;
if (kept && !reused) throw new Error(`${dataDir} holds ${kept.products} products, not ${products}: delete it or point BENCH_PIM_DATA_DIR elsewhere`);
const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger, durability: 'ephemeral' });
const closers: Array<() => Promise<void>> = [];
try {
  const legacyUrl = server.url('legacy');
  await ensureDatabase(server.url('postgres'), 'legacy');
  await ensureDatabase(server.url('postgres'), 'pim');
  await migrate(legacyUrl, legacySchema, logger);
  if (reused) console.log(`reusing the ${products.toLocaleString('en')} products seeded and filled in ${dataDir}`);
  else console.log(`seeding the legacy with ${products.toLocaleString('en')} products…`);
  const seeded = reused?.seeded ?? (await seedLegacy(legacyUrl, { products, logger, now: new Date('2025-06-15T12:00:00Z') }));
  const legacyPool = new pg.Pool({ connectionString: legacyUrl, max: 10 });
  // The server stops under idle connections at the very end; that is not an error here.
  legacyPool.on('error', () => undefined);
  closers.push(() => legacyPool.end());
  await legacyPool.query('ANALYZE');

  // The PIM is filled in this process (its projector, from a snapshot), then served by its own
  // process, as the legacy is: see bench/support/measured-server.ts for why.
  let fill = reused?.fill;
  if (!fill) {
    const filler = await startPimService({ databaseUrl: server.url('pim'), amqpUrl: 'amqp://unused', logger, port: 0, host: '127.0.0.1', follow: false });
    try {
      console.log('filling the PIM from a snapshot of the legacy tables…');
      const fillStarted = performance.now();
      const snapshot = await copyLegacySnapshot({ legacyUrl, pimPool: filler.pool, logger });
      const copiedMs = performance.now() - fillStarted;
      const documents = await filler.projector.flushDirty();
      fill = { snapshotLsn: snapshot.lsn, rows: snapshot.rows, documents, copyMs: copiedMs, totalMs: performance.now() - fillStarted };
      if (keptDir) await writeFile(markerFile, `${JSON.stringify({ products, seeded: { ms: seeded.ms }, fill } satisfies KeptFill)}\n`);
    } finally {
      await filler.close();
    }
  }
  const documents = fill.documents;
  const pimPool = new pg.Pool({ connectionString: server.url('pim'), max: 1 });
  await pimPool.query('VACUUM ANALYZE');
  await pimPool.end();

  const pimServer = await MeasuredServer.start(fileURLToPath(new URL('./pim-targets/pim-host.ts', import.meta.url)), { PIM_DATABASE_URL: server.url('pim'), BENCH_PIM_CACHE: process.env.BENCH_PIM_CACHE ?? '' });
  closers.push(() => pimServer.stop());
  const legacyServer = await MeasuredServer.start(fileURLToPath(new URL('./pim-targets/legacy-host.ts', import.meta.url)), { LEGACY_DATABASE_URL: legacyUrl });
  closers.push(() => legacyServer.stop());
  if (nice !== undefined) for (const measured of [pimServer, legacyServer]) os.setPriority(measured.pid, nice);
  const ports = { legacy: legacyServer.port, pim: pimServer.port };
  const targets = { legacy: `http://127.0.0.1:${ports.legacy}`, pim: `http://127.0.0.1:${ports.pim}` };

  const { rows: skuRows } = await legacyPool.query<{ sku: string }>('SELECT sku FROM catalog_product_entity ORDER BY md5(sku) LIMIT 500');
  const { rows: categoryRows } = await legacyPool.query<{ category_id: number }>(
    'SELECT category_id FROM catalog_category_product GROUP BY category_id ORDER BY count(*) DESC LIMIT 5',
  );
  const pages = [1, 2, 3, 4, 5];
  const priceBand = (from: string, to: string, page: number) =>
    q({
      'searchCriteria[filter_groups][0][filters][0][field]': 'price',
      'searchCriteria[filter_groups][0][filters][0][value]': from,
      'searchCriteria[filter_groups][0][filters][0][condition_type]': 'from',
      'searchCriteria[filter_groups][1][filters][0][field]': 'price',
      'searchCriteria[filter_groups][1][filters][0][value]': to,
      'searchCriteria[filter_groups][1][filters][0][condition_type]': 'to',
      'searchCriteria[sortOrders][0][field]': 'price',
      'searchCriteria[sortOrders][0][direction]': 'ASC',
      'searchCriteria[pageSize]': '20',
      'searchCriteria[currentPage]': String(page),
    });
  const bands: Array<[string, string]> = [['30', '80'], ['10', '50'], ['50', '100'], ['80', '150'], ['20', '60']];
  // Bands nobody asked for before: every request counts its matches (the count cache cannot help).
  const freshBands = (offset: number) => Array.from({ length: 20_000 }, (_, i) => priceBand((10 + offset + i * 0.0013).toFixed(4), (60 + offset + i * 0.0013).toFixed(4), 1));
  scenarios.push(
    { name: 'get-by-sku (500 skus)', kind: 'get', paths: skuRows.map((row) => `/rest/V1/products/${encodeURIComponent(row.sku)}`) },
    {
      name: 'price band, by price, pages 1–5 of 20 (5 bands)',
      kind: 'search',
      paths: bands.flatMap(([from, to]) => pages.map((page) => priceBand(from, to, page))),
    },
    {
      name: `category (top 5), by name, pages 1–5 of 24`,
      kind: 'search',
      paths: categoryRows.flatMap((row) =>
        pages.map((page) =>
          q({
            'searchCriteria[filter_groups][0][filters][0][field]': 'category_id',
            'searchCriteria[filter_groups][0][filters][0][value]': String(row.category_id),
            'searchCriteria[filter_groups][0][filters][0][condition_type]': 'eq',
            'searchCriteria[sortOrders][0][field]': 'name',
            'searchCriteria[sortOrders][0][direction]': 'ASC',
            'searchCriteria[pageSize]': '24',
            'searchCriteria[currentPage]': String(page),
          }),
        ),
      ),
    },
    {
      name: 'enabled, visible, newest first, pages 1–5 of 20',
      kind: 'search',
      paths: pages.map((page) =>
        q({
          'searchCriteria[filter_groups][0][filters][0][field]': 'status',
          'searchCriteria[filter_groups][0][filters][0][value]': '1',
          'searchCriteria[filter_groups][1][filters][0][field]': 'visibility',
          'searchCriteria[filter_groups][1][filters][0][value]': '2,4',
          'searchCriteria[filter_groups][1][filters][0][condition_type]': 'in',
          'searchCriteria[sortOrders][0][field]': 'created_at',
          'searchCriteria[sortOrders][0][direction]': 'DESC',
          'searchCriteria[pageSize]': '20',
          'searchCriteria[currentPage]': String(page),
        }),
      ),
    },
    {
      name: 'price band never asked before (count not cached), page 1 (reported)',
      kind: 'uncached',
      paths: freshBands(0),
      warmUpPaths: freshBands(0.00065),
    },
  );

  const rows: Row[] = [];
  for (const scenario of scenarios.filter((s) => scenarioKinds.has(s.kind))) {
    // Same question, same answer: the comparison only counts if the PIM answers like the legacy.
    let same = true;
    for (const path of new Set([scenario.paths[0]!, scenario.paths[Math.floor(scenario.paths.length / 2)]!, scenario.paths.at(-1)!])) {
      const [legacyAnswer, pimAnswer] = await Promise.all([fetch(targets.legacy + path).then((r) => r.text()), fetch(targets.pim + path).then((r) => r.text())]);
      same &&= legacyAnswer === pimAnswer;
    }
    const target = scenario.kind === 'get' ? { p99Ms: 5 } : { p99Ms: 50, ratio: 1 / 3 };
    const passes = (legacy: Measured | null, pimResult: Measured) =>
      pimResult.p99 < target.p99Ms && (target.ratio === undefined || (legacy !== null && pimResult.p99 <= legacy.p99 * target.ratio)) && same && pimResult.failed === 0;
    let legacyMaxPerSecond = 0;
    for (const connections of loadLevels) {
      const legacy = await load(legacyServer, scenario, { connections });
      const pimResult = await load(pimServer, scenario, { connections });
      legacyMaxPerSecond = Math.max(legacyMaxPerSecond, legacy.rps);
      // get-by-sku at 10 connections is saturation, reported (see the top of this file).
      const judged = scenario.kind === 'search' || (scenario.kind === 'get' && connections === 1);
      rows.push({ scenario: scenario.name, kind: scenario.kind, load: `${connections} conn`, judged, sameAnswer: same, legacy, pim: pimResult, target, pass: passes(legacy, pimResult) });
    }
    if (scenario.kind === 'get' && fixedRate > 0) {
      const legacy = legacyMaxPerSecond >= fixedRate * 0.9 ? await load(legacyServer, scenario, { connections: FIXED_CONNECTIONS, perSecond: fixedRate }) : null;
      for (let run = 1; run <= fixedRuns; run += 1) {
        const pimResult = await load(pimServer, scenario, { connections: FIXED_CONNECTIONS, perSecond: fixedRate });
        rows.push({
          scenario: scenario.name,
          kind: scenario.kind,
          load: `${fixedRate}/s open${fixedRuns > 1 ? ` #${run}` : ''}`,
          judged: true,
          sameAnswer: same,
          legacy,
          pim: pimResult,
          target,
          pass: passes(legacy, pimResult),
        });
      }
    }
  }

  const pimStats = await pimServer.stats<{ countCache: { entries: number; hitRatio: number } | null; productCache: { entries: number; hitRatio: number; refreshedAhead: number } | null }>();
  const report = {
    benchmark: 'pim',
    date: new Date().toISOString(),
    products,
    documents,
    fill: {
      method: 'snapshot of the legacy tables + projector (not streamed through the bridge)',
      reused: reused !== undefined,
      snapshotLsn: fill.snapshotLsn,
      rows: fill.rows,
      copySeconds: round(fill.copyMs / 1000),
      totalSeconds: round(fill.totalMs / 1000),
    },
    seedSeconds: round(seeded.ms / 1000),
    load: {
      tool: 'bench/support/load-generator.ts (own process, paths in turn across connections)',
      closedLoopConnections: loadLevels,
      openLoop: fixedRate > 0 ? { perSecond: fixedRate, sockets: FIXED_CONNECTIONS, pimRuns: fixedRuns, latencyFrom: "each request's due time" } : null,
      durationSeconds,
      machine: 'shared 2-core box, legacy and PIM on one embedded PostgreSQL',
    },
    loadAverageAtEnd: os.loadavg().map((value) => round(value)),
    scenarios: rows,
    countCache: { entries: pimStats.countCache?.entries ?? null, hitRatio: pimStats.countCache ? round(pimStats.countCache.hitRatio) : null },
    nice: nice ?? null,
    productCache: pimStats.productCache ? { entries: pimStats.productCache.entries, hitRatio: round(pimStats.productCache.hitRatio), refreshedAhead: pimStats.productCache.refreshedAhead, refreshAhead } : 'off',
    // Judged rows only: the uncached row and get-by-sku at 10 connections are reported.
    pass: rows.filter((row) => row.judged).every((row) => row.pass),
  };
  console.log(
    `\nPIM (PostgreSQL store, get-by-sku answer cache ${productCache ? (refreshAhead ? 'on' : 'on, no refresh ahead') : 'off'}${nice === undefined ? '' : `, DIAGNOSTIC at nice ${nice}`}) vs legacy, ${products.toLocaleString('en')} products, ${durationSeconds}s per run; load average ${report.loadAverageAtEnd.join(' ')}\n`,
  );
  console.table(
    rows.map((row) => ({
      scenario: row.scenario,
      load: row.load,
      'same answer': row.sameAnswer,
      'legacy p50': row.legacy?.p50 ?? `cannot keep ${fixedRate}/s`,
      'legacy p99': row.legacy?.p99 ?? '',
      'legacy req/s': row.legacy?.rps ?? '',
      'PIM p50': row.pim.p50,
      'PIM p99': row.pim.p99,
      'PIM req/s': row.pim.rps,
      'PIM CPU µs/req (node+pg)': `${row.pim.cpuMicrosPerRequest.server}+${row.pim.cpuMicrosPerRequest.postgres}`,
      'legacy CPU µs/req': row.legacy ? `${row.legacy.cpuMicrosPerRequest.server}+${row.legacy.cpuMicrosPerRequest.postgres}` : '',
      'PIM/legacy p99': row.legacy && row.legacy.p99 > 0 ? round(row.pim.p99 / row.legacy.p99) : null,
      'PIM gen. late p99': row.pim.clientLateP99 ?? '',
      'PIM p99 from send': row.pim.fromSendP99,
      'PIM loop delay p99/max': `${row.pim.loopDelay.p99}/${row.pim.loopDelay.max}`,
      'PIM GC n/sum/max ms': `${row.pim.gc.pauses}/${row.pim.gc.totalMs}/${row.pim.gc.maxMs}`,
      'load avg': row.pim.loadAverage,
      target: !row.judged
        ? 'reported'
        : row.target.ratio
          ? `p99 ≤ ⅓ legacy, < ${row.target.p99Ms} ms`
          : `p99 < ${row.target.p99Ms} ms at ${row.load.replace(/ #\d+$/, '')}`,
      pass: row.judged ? row.pass : `(${row.pass})`,
    })),
  );
  if (pimStats.productCache) console.log(`get-by-sku answer cache: ${pimStats.productCache.entries} answers kept, hit ratio ${round(pimStats.productCache.hitRatio)}, ${pimStats.productCache.refreshedAhead} refreshed ahead`);
  console.log(`fill: ${report.fill.rows.toLocaleString('en')} raw rows copied in ${report.fill.copySeconds}s, ${documents.toLocaleString('en')} documents built in ${report.fill.totalSeconds}s total (latencies in ms)`);
  await mkdir(path.dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), resultsFile)}`);
  if (!report.pass) process.exitCode = 1;
} finally {
  for (const close of closers.reverse()) await close().catch((error: unknown) => logger.warn({ err: error }, 'could not close'));
  await server.stop();
  if (!keptDir) await rm(dataDir, { recursive: true, force: true });
}

/** What a kept data directory holds (BENCH_PIM_DATA_DIR), so a later run can skip seeding and filling. */
interface KeptFill {
  products: number;
  seeded: { ms: number };
  fill: { snapshotLsn: string; rows: number; documents: number; copyMs: number; totalMs: number };
}

interface Row {
  scenario: string;
  kind: Scenario['kind'];
  /** '1 conn', '10 conn' (closed loop) or '1000/s open #2' (open loop, which run). */
  load: string;
  /** Counted in the verdict; the others are reported. */
  judged: boolean;
  sameAnswer: boolean;
  /** null: the legacy cannot keep the fixed rate (its closed-loop maximum is below it), not run. */
  legacy: Measured | null;
  pim: Measured;
  target: { p99Ms: number; ratio?: number };
  pass: boolean;
}

type Measured = Awaited<ReturnType<typeof load>>;

async function load(measured: MeasuredServer, scenario: Scenario, shape: { connections: number; perSecond?: number }) {
  // Closed loop (each connection sends its next request when the answer is in) or open loop at
  // `perSecond` (latency from each request's due time), in a child process so that the load never
  // shares an event loop with the server it measures; the paths are taken in turn by all
  // connections together. The warm-up is closed loop at 1 connection for an open-loop run: a
  // server that cannot keep the rate would otherwise start the measured run behind its queue.
  const connections = shape.perSecond === undefined ? shape.connections : 1;
  const port = measured.port;
  await generateLoad({ port, paths: scenario.warmUpPaths ?? scenario.paths, connections, seconds: 2, nice }); // warm-up: caches, JIT, connection pools
  // CPU spent per answer by the server (its own process) and PostgreSQL: unlike latency, it hardly
  // depends on what else the shared machine runs (the other server idles meanwhile).
  const postgresBefore = await postgresCpu();
  // Where a tail comes from, on the server's side: how late its event loop ran what was due (a
  // long task, a GC pause, no CPU), and the GC pauses themselves (bench/support/measured-server.ts).
  await measured.begin();
  const result = await generateLoad({ port, paths: scenario.paths, connections: shape.connections, perSecond: shape.perSecond, seconds: durationSeconds, nice });
  const figures: ServerFigures = await measured.end();
  const postgresMs = postgresCpuMsSince(postgresBefore, await postgresCpu());
  return {
    cpuMicrosPerRequest: {
      server: Math.round(figures.cpuMicros / Math.max(1, result.requests)),
      postgres: Math.round((postgresMs * 1000) / Math.max(1, result.requests)),
      client: result.clientCpuMicrosPerRequest,
    },
    p50: round(result.latency.p50),
    p90: round(result.latency.p90),
    p99: round(result.latency.p99),
    max: round(result.latency.max),
    rps: result.perSecond,
    requests: result.requests,
    failed: result.failed,
    /** Open loop: how late the generator itself sent (its own wait for a CPU), p99 in ms. */
    clientLateP99: result.late?.p99,
    /** From the generator's send to the complete answer (its own lateness left out), p99 in ms. */
    fromSendP99: round(result.fromSend.p99),
    /** The servers' event loop: how late it ran what was due (1 ms resolution), p99 and max in ms. */
    loopDelay: { p99: round(figures.loopDelay.p99), max: round(figures.loopDelay.max) },
    /** GC pauses of the servers' process during the run: how many, their sum and the longest, in ms. */
    gc: { pauses: figures.gcPauses.length, totalMs: round(figures.gcPauses.reduce((sum, ms) => sum + ms, 0)), maxMs: round(Math.max(0, ...figures.gcPauses)) },
    loadAverage: round(os.loadavg()[0]!),
  };
}

/** CPU time of each of the cluster's processes (postmaster and its children), from /proc, in ms by pid. */
async function postgresCpu(): Promise<Map<number, number>> {
  const postmaster = Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const byPid = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command (which may hold spaces): state ppid … utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    if (pid === postmaster || Number(fields[1]) === postmaster) byPid.set(pid, (Number(fields[11]) + Number(fields[12])) * 10); // USER_HZ is 100
  }
  return byPid;
}

/** CPU the cluster used between two readings; a backend that ended in between is left out (its time is gone with it). */
function postgresCpuMsSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
  return ms;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

