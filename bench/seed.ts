import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import pg from 'pg';
import { CdcBridge } from '../cdc/bridge.ts';
import { parseBridgeConfig } from '../cdc/bridge-config.ts';
import { DEFAULT_CAPTURED_TABLES } from '../cdc/capture-table.ts';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';
import { ensureDatabase } from '../platform/database.ts';
import { startEmbeddedPostgres } from '../platform/embedded-postgres.ts';
import { freePort } from '../platform/free-port.ts';
import { createRootLogger } from '../platform/logger.ts';
import { migrate } from '../platform/migrations.ts';

// `npm run bench:seed` (issue 8): BENCH_SEED_PRODUCTS (100,000) products in a fresh legacy database
// (embedded PostgreSQL, fsync on), seeded before the bridge exists; a real bridge; then the PIM
// (PostgreSQL store) and the pricing service, each started as its own process on an empty store,
// timed from start to /readyz 200 (seeded from their own snapshot and caught up) while
// BENCH_SEED_WRITES_PER_SECOND (200) price updates keep streaming; then each store is reconciled
// with the legacy (H-recon's reconcilePricing / reconcilePim, when present). Targets: seeding
// under 60 s each, reconciling under 20 s each, zero drift.
const products = Number(process.env.BENCH_SEED_PRODUCTS ?? 100_000);
const writesPerSecond = Number(process.env.BENCH_SEED_WRITES_PER_SECOND ?? 200);
// BENCH_SEED_SERVICES=pim or pricing runs one service only; BENCH_SEED_CPU_PROF=<dir> starts each
// service with node --cpu-prof writing its profile there (written at its exit).
const services = (process.env.BENCH_SEED_SERVICES ?? 'pim,pricing').split(',').map((name) => name.trim()) as Array<'pim' | 'pricing'>;
const cpuProfDir = process.env.BENCH_SEED_CPU_PROF;
// BENCH_SEED_SERVICE_LOG=<file> appends each service's own output (its log lines) to that file.
const serviceLog = process.env.BENCH_SEED_SERVICE_LOG;
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const logger = createRootLogger({ name: 'bench-seed', level: process.env.LOG_LEVEL ?? 'warn' });
const schema = fileURLToPath(new URL('../legacy-stub/schema', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/seed.json', import.meta.url));
const suffix = randomBytes(4).toString('hex');
const names = {
  exchange: `bench.seed.cdc.${suffix}`,
  stream: `bench.seed.cdc.log.${suffix}`,
  signals: `bench.seed.signals.${suffix}`,
  queue: (service: string) => `bench.seed.${service}.${suffix}`,
};
const SEED_TARGET_S = 60;
const RECONCILE_TARGET_S = 20;

interface ServiceRun {
  service: 'pim' | 'pricing';
  seedSeconds: number | null;
  /** The last /readyz body while seeding (progress), and the documents build time the PIM logs. */
  lastSeeding: unknown;
  buildDocumentsMs: number | null;
  /** The PIM's catch-up after the seeded documents: products rebuilt, its duration and that of its final rebuild and index build. */
  catchUp?: { rebuilt: number; ms: number; finishMs: number };
  /** CPU seconds of the service's process and of its PostgreSQL backends per phase, and µs per row or document. */
  cpu?: Record<string, { serviceS: number; postgresS: number; usPerItem?: number }>;
  reconcile:
    | {
        seconds: number;
        missing: number;
        extra: number;
        different: number;
        unsettled: number;
        /** Where a reconcile's time goes: checksum buckets that differed (compared product by product), keys that settled as lag, re-check rounds. */
        differingBuckets?: number;
        settledByLag?: number;
        rounds?: number;
      }
    | 'pending'
    | { error: string };
  error?: string;
}

let serverPool: pg.Pool | undefined;
const dataDir = await mkdtemp(path.join(tmpdir(), 'strangler-bench-seed-'));
const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger, durability: 'durable' });
const connection = await amqp.connect(amqpUrl);
let bridge: CdcBridge | undefined;
const children: ChildProcess[] = [];
const runs: ServiceRun[] = [];
try {
  const url = server.url('legacy');
  await ensureDatabase(server.url('postgres'), 'legacy');
  for (const name of ['pim', 'pricing']) await ensureDatabase(server.url('postgres'), name);
  await migrate(url, schema, logger);
  const seedStarted = Date.now();
  await seedLegacy(url, { products, logger });
  console.log(`legacy: ${products.toLocaleString('en')} products seeded in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s (before the bridge: no stream holds them)`);
  const legacyPool = new pg.Pool({ connectionString: url, max: 4 });
  serverPool = new pg.Pool({ connectionString: server.url('postgres'), max: 1 });
  await legacyPool.query('ANALYZE');

  bridge = new CdcBridge({
    config: parseBridgeConfig({
      databaseUrl: url,
      amqpUrl,
      tables: [...DEFAULT_CAPTURED_TABLES],
      exchange: names.exchange,
      streamQueue: names.stream,
      streamMaxAge: '1h',
      slot: `bench_seed_${suffix}`,
      publication: `bench_seed_pub_${suffix}`,
      lockName: `bench-seed:${suffix}`,
      signalQueue: names.signals,
    }),
    logger,
  });
  bridge.start().catch((error: unknown) => console.error(error));
  await bridge.waitUntilActive();

  let writing = true;
  let writes = 0;
  // One row per write (a product's admin price): 200 writes/s are 200 changes/s on the stream.
  const { rows: bounds } = await legacyPool.query<{ low: number; high: number }>(
    `SELECT min(d.value_id) AS low, max(d.value_id) AS high FROM catalog_product_entity_decimal d`,
  );
  const { low, high } = bounds[0]!;
  const writer = (async () => {
    const started = Date.now();
    while (writing && writesPerSecond > 0) {
      const valueId = low + Math.floor(Math.random() * (high - low + 1));
      await legacyPool.query('UPDATE catalog_product_entity_decimal SET value = value + 0.01 WHERE value_id = $1', [valueId]);
      writes += 1;
      const due = started + (writes * 1000) / writesPerSecond;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
  })();

  for (const service of services) {
    const run: ServiceRun = { service, seedSeconds: null, lastSeeding: null, buildDocumentsMs: null, reconcile: 'pending' };
    runs.push(run);
    const storeUrl = server.url(service);
    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AMQP_URL: amqpUrl,
      CDC_EXCHANGE: names.exchange,
      CDC_SIGNAL_QUEUE: names.signals,
      LOG_LEVEL: 'info',
      ...(service === 'pim'
        ? { PIM_DATABASE_URL: storeUrl, PIM_PORT: String(port), PIM_QUEUE: names.queue(service), CDC_URL: 'off' }
        : { PRICING_DATABASE_URL: storeUrl, PRICING_PORT: String(port), PRICING_QUEUE: names.queue(service), CDC_URL: 'http://127.0.0.1:9' }),
    };
    const entry = path.join(root, 'extracted', service, 'main.ts');
    const started = Date.now();
    const child = spawn(process.execPath, [...(cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : []), '--import', 'tsx', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    // CPU of the service's process and of its database's PostgreSQL backends, sampled every second,
    // so that each phase can be told in CPU µs per row or document (wall time depends on the load).
    const cpu = cpuMeter(child.pid!, serverPool, service);
    const marks: Record<string, CpuTotals> = {};
    const markedAt: Record<string, number> = {};
    const mark = (name: string) => {
      markedAt[name] ??= Math.round((Date.now() - started) / 100) / 10;
      return (marks[name] ??= cpu.totals());
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('document indexes dropped')) mark('rowsApplied');
      if (output.includes('built the documents of the seeded catalog')) mark('documentsBuilt');
      if (output.includes('caught up after seeding')) mark('caughtUp');
      if (serviceLog) appendFileSync(serviceLog, chunk);
      const built = /"documents":\d+,"ms":(\d+),"msg":"built the documents/.exec(output);
      if (built) run.buildDocumentsMs = Number(built[1]);
      // The PIM's catch-up after seeding: from the seeded documents built to the indexes built.
      const caughtUp = /"rebuilt":(\d+),"ms":(\d+),"finishMs":(\d+),"msg":"caught up after seeding/.exec(output);
      if (caughtUp) run.catchUp = { rebuilt: Number(caughtUp[1]), ms: Number(caughtUp[2]), finishMs: Number(caughtUp[3]) };
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = started + 15 * 60_000;
    let lastShown = started;
    for (;;) {
      if (child.exitCode !== null) {
        run.error = `exited ${child.exitCode}: ${output.slice(-1500)}`;
        break;
      }
      if (Date.now() > deadline) {
        run.error = 'not ready within 15 minutes';
        break;
      }
      const answer = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        async (response) => ({ status: response.status, body: (await response.json()) as { status?: string } }),
        () => null,
      );
      if (answer?.status === 200) {
        run.seedSeconds = Math.round((Date.now() - started) / 100) / 10;
        break;
      }
      if (answer?.body.status === 'seeding') run.lastSeeding = answer.body;
      if (Date.now() - lastShown > 10_000) {
        lastShown = Date.now();
        console.log(`${service}: ${Math.round((Date.now() - started) / 1000)} s, /readyz ${JSON.stringify(answer?.body ?? null).slice(0, 300)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await cpu.sample();
    mark('ready');
    cpu.stop();
    run.cpu = cpuPhases(marks, { rows: (run.lastSeeding as { snapshot?: { rowsEmitted?: number } } | null)?.snapshot?.rowsEmitted ?? null, documents: products });
    console.log(`${service}: ${run.seedSeconds === null ? `FAILED ${run.error ?? ''}` : `ready after ${run.seedSeconds} s`} (load ${loadavg()[0]!.toFixed(1)})`);
    if (Object.keys(run.cpu).length > 0) console.log(`${service}: CPU per phase ${JSON.stringify(run.cpu)}`);
    console.log(`${service}: phases end at (s) ${JSON.stringify(markedAt)}; ${await autovacuums(storeUrl, started)}`);
    run.reconcile = await reconcileStore(service, legacyPool, storeUrl);
    console.log(`${service}: reconcile ${JSON.stringify(run.reconcile)}`);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  writing = false;
  await writer;

  const report = {
    benchmark: 'seed',
    date: new Date().toISOString(),
    products,
    liveWritesPerSecond: writesPerSecond,
    liveWrites: writes,
    targets: { seedSeconds: SEED_TARGET_S, reconcileSeconds: RECONCILE_TARGET_S, drift: 0 },
    services: runs,
    loadAverage: loadavg().map((value) => Math.round(value * 10) / 10),
  };
  console.log(`\nseeding from empty: ${products.toLocaleString('en')} products, ${writesPerSecond} changes/s streaming meanwhile\n`);
  console.table(
    runs.map((run) => ({
      service: run.service === 'pim' ? 'PIM (PostgreSQL)' : 'pricing',
      'seed (s)': run.seedSeconds ?? 'failed',
      'documents built (s)': run.buildDocumentsMs === null ? '' : Math.round(run.buildDocumentsMs / 100) / 10,
      'catch-up (s)': run.catchUp ? Math.round(run.catchUp.ms / 100) / 10 : '',
      'seed target met': run.seedSeconds !== null && run.seedSeconds < SEED_TARGET_S ? 'yes' : 'no',
      'reconcile (s)': typeof run.reconcile === 'string' ? 'pending (reconcile not built yet)' : 'error' in run.reconcile ? `error` : run.reconcile.seconds,
      drift: typeof run.reconcile === 'string' || 'error' in run.reconcile ? '' : run.reconcile.missing + run.reconcile.extra + run.reconcile.different,
    })),
  );
  console.log(`load average ${report.loadAverage.join(' / ')}`);
  await mkdir(path.dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
  await legacyPool.end();
} finally {
  await serverPool?.end();
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await bridge?.stop();
  const cleanup = await connection.createChannel();
  cleanup.on('error', () => undefined);
  for (const queue of [names.stream, names.signals, ...['pim', 'pricing'].flatMap((service) => [names.queue(service), `${names.queue(service)}.retry`, `${names.queue(service)}.dead`])]) {
    await cleanup.deleteQueue(queue).catch(() => undefined);
  }
  await cleanup.deleteExchange(names.exchange).catch(() => undefined);
  await connection.close().catch(() => undefined);
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

/**
 * H-recon's reconciliation (extracted/<service>/reconcile/), loaded by name so that this benchmark
 * runs (reporting "pending") where it does not exist yet.
 */
async function reconcileStore(service: 'pim' | 'pricing', legacy: pg.Pool, storeUrl: string): Promise<ServiceRun['reconcile']> {
  const file = path.join(root, 'extracted', service, 'reconcile', `${service}-reconciliation.ts`);
  const name = service === 'pim' ? 'reconcilePim' : 'reconcilePricing';
  let reconcile:
    | ((options: { legacy: pg.Pool; store: pg.Pool }) => Promise<{
        missing: number[];
        extra: number[];
        different: number[];
        unsettled: number[];
        examples?: Array<{ entityId: number; kind: string; fields: string[]; legacy: Record<string, unknown> | null; store: Record<string, unknown> | null }>;
        buckets?: { differing: number };
        settledByLag?: number;
        rounds?: number;
      }>)
    | undefined;
  try {
    const module = (await import(file)) as Record<string, unknown>;
    if (typeof module[name] === 'function') reconcile = module[name] as typeof reconcile;
  } catch {
    return 'pending';
  }
  if (!reconcile) return 'pending';
  const store = new pg.Pool({ connectionString: storeUrl, max: 4 });
  try {
    const started = Date.now();
    const report = await reconcile({ legacy, store });
    // A drift is shown with what differs, so that a run that found one can be told from a lag artifact afterwards.
    for (const example of (report.examples ?? []).slice(0, 5)) {
      const pick = (side: Record<string, unknown> | null) => (side ? Object.fromEntries(example.fields.map((field) => [field, side[field]])) : null);
      console.log(`${service}: drift ${example.kind} ${example.entityId}: legacy ${JSON.stringify(pick(example.legacy)).slice(0, 600)} store ${JSON.stringify(pick(example.store)).slice(0, 600)}`);
      if (service === 'pim') await showPimRows(store, legacy, example.entityId);
    }
    return {
      seconds: Math.round((Date.now() - started) / 100) / 10,
      missing: report.missing.length,
      extra: report.extra.length,
      different: report.different.length,
      unsettled: report.unsettled.length,
      ...(report.buckets ? { differingBuckets: report.buckets.differing } : {}),
      ...(report.settledByLag === undefined ? {} : { settledByLag: report.settledByLag }),
      ...(report.rounds === undefined ? {} : { rounds: report.rounds }),
    };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  } finally {
    await store.end();
  }
}

/**
 * Which of the store's tables autovacuum vacuumed or analyzed so far, and when (s since the
 * service started): its workers count in the CPU of the phase they ran in (they connect to the
 * store's database), so a phase can grow because the one before it got shorter.
 */
async function autovacuums(storeUrl: string, started: number): Promise<string> {
  const store = new pg.Pool({ connectionString: storeUrl, max: 1 });
  try {
    const { rows } = await store.query<{ relname: string; vacuumed: Date | null; analyzed: Date | null; vacuums: number; analyzes: number }>(
      `SELECT relname, last_autovacuum AS vacuumed, last_autoanalyze AS analyzed, autovacuum_count::int AS vacuums, autoanalyze_count::int AS analyzes
         FROM pg_stat_user_tables WHERE autovacuum_count + autoanalyze_count > 0 ORDER BY relname`,
    );
    const at = (time: Date | null) => (time ? Math.round((time.getTime() - started) / 100) / 10 : '-');
    return `autovacuum ${rows.map((row) => `${row.relname} v${row.vacuums}@${at(row.vacuumed)} a${row.analyzes}@${at(row.analyzed)}`).join(', ') || 'none'}`;
  } catch (error) {
    return `autovacuum unknown (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    await store.end();
  }
}

/** For a drifted product: the PIM's raw price rows with the positions that wrote them, its state, and the legacy's rows. */
async function showPimRows(store: pg.Pool, legacy: pg.Pool, entityId: number): Promise<void> {
  const query = async (db: pg.Pool, sql: string) => (await db.query(sql, [entityId]).catch((error: unknown) => ({ rows: [String(error)] }))).rows;
  const raw = await query(store, `SELECT backend, value_id, attribute_id, store_id, value, cdc_lsn::text, cdc_position FROM pim_raw_value WHERE entity_id = $1 AND backend = 'decimal' ORDER BY value_id`);
  const state = await query(store, 'SELECT lsn::text, dirty FROM pim_product_state WHERE entity_id = $1');
  const applied = await query(
    store,
    `SELECT row_key, commit_lsn::text, position, applied_at FROM cdc_applied WHERE source_table = 'public.catalog_product_entity_decimal'
        AND row_key IN (SELECT '[["value_id",' || value_id || ']]' FROM pim_raw_value WHERE entity_id = $1 AND backend = 'decimal')`,
  );
  const source = await query(legacy, 'SELECT value_id, attribute_id, store_id, value::text FROM catalog_product_entity_decimal WHERE entity_id = $1 ORDER BY value_id');
  console.log(`  pim raw ${JSON.stringify(raw)}\n  state ${JSON.stringify(state)}\n  cdc_applied ${JSON.stringify(applied)}\n  legacy ${JSON.stringify(source)}`);
}

interface CpuTotals {
  serviceMs: number;
  postgresMs: number;
}

/** Cumulative CPU (Linux /proc) of one process and of the PostgreSQL backends connected to one database. */
function cpuMeter(pid: number, pool: pg.Pool | undefined, database: string): { sample(): Promise<void>; totals(): CpuTotals; stop(): void } {
  let serviceMs = 0;
  const backends = new Map<number, number>();
  const sample = async () => {
    serviceMs = Math.max(serviceMs, cpuMsOf(pid) ?? 0);
    const rows = await pool?.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]).then((r) => r.rows, () => []);
    for (const row of rows ?? []) {
      const ms = cpuMsOf(row.pid);
      if (ms !== null) backends.set(row.pid, Math.max(backends.get(row.pid) ?? 0, ms));
    }
  };
  const timer = setInterval(() => void sample(), 1000);
  return {
    sample,
    totals: () => ({ serviceMs, postgresMs: [...backends.values()].reduce((sum, ms) => sum + ms, 0) }),
    stop: () => clearInterval(timer),
  };
}

function cpuMsOf(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** Phases between the marks (snapshot rows applied, documents built, caught up, ready) in CPU seconds, with µs per row/document. */
function cpuPhases(marks: Record<string, CpuTotals>, counts: { rows: number | null; documents: number }): NonNullable<ServiceRun['cpu']> {
  const phases: NonNullable<ServiceRun['cpu']> = {};
  let previous: CpuTotals = { serviceMs: 0, postgresMs: 0 };
  for (const [name, per] of [['rowsApplied', counts.rows], ['documentsBuilt', counts.documents], ['caughtUp', null], ['ready', null]] as const) {
    const at = marks[name];
    if (!at) continue;
    const serviceMs = at.serviceMs - previous.serviceMs;
    const postgresMs = at.postgresMs - previous.postgresMs;
    phases[name] = {
      serviceS: Math.round(serviceMs / 100) / 10,
      postgresS: Math.round(postgresMs / 100) / 10,
      ...(per ? { usPerItem: Math.round(((serviceMs + postgresMs) * 1000) / per) } : {}),
    };
    previous = at;
  }
  return phases;
}
