import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import pg from 'pg';
import { startEmbeddedPostgres } from '../platform/embedded-postgres.ts';
import { ensureDatabase } from '../platform/database.ts';
import { createRootLogger } from '../platform/logger.ts';
import { CdcBridge } from '../cdc/bridge.ts';
import { parseBridgeConfig, type BridgeConfig } from '../cdc/bridge-config.ts';
import { prepareCapture } from '../cdc/capture-setup.ts';
import { buildChangeEvent, type PublishableEvent, type RelationInfo } from '../cdc/events/change-event.ts';
import { TypeOid } from '../cdc/events/value-mapping.ts';
import { declareTopology } from '../cdc/publish/publisher.ts';
import { Lsn } from '../cdc/offsets/lsn.ts';
import { freePort } from '../platform/free-port.ts';

// The CDC bridge against a raw amqplib confirm loop (the ceiling here), on a throw-away embedded
// PostgreSQL with durable settings (fsync on) and the shared RabbitMQ at AMQP_URL.
//
// 1. Throughput: 50,000 changes in transactions of 1, 100 and 10,000 rows. The workload is
//    committed while the bridge is stopped, then the bridge is started and timed from streaming
//    to the broker's confirm of the last event: that is the bridge's own capacity (decode, map,
//    publish, confirm), not the writer's. The raw loop publishes the same payloads (same size,
//    routing key, properties, confirm window) to the same exchange and stream.
// 2. Latency: commit in PostgreSQL → broker confirm of the transaction's last event, at a steady
//    1,000 changes/s (single-row transactions) for BENCH_CDC_LATENCY_SECONDS (default 10).
// 3. Memory: live heap (after a full GC) and RSS sampled every 250 ms while one 10,000-row and then
//    one 100,000-row transaction stream through; flat = the same growth for both.
// Live heap, not garbage waiting for the next collection: a full GC before each sample.
v8.setFlagsFromString('--expose_gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const CHANGES = Number(process.env.BENCH_CDC_CHANGES ?? 50_000);
const TRANSACTION_SIZES = [1, 100, 10_000];
const LATENCY_SECONDS = Number(process.env.BENCH_CDC_LATENCY_SECONDS ?? 10);
const LATENCY_RATE = 1000;
const BIG_TRANSACTION = 100_000;
const ROUNDS = Number(process.env.BENCH_CDC_ROUNDS ?? 3);
// BENCH_CDC_SIZES=100 or BENCH_CDC_SIZES= (none) to run part of it while tuning.
const SIZES = process.env.BENCH_CDC_SIZES === undefined ? TRANSACTION_SIZES : process.env.BENCH_CDC_SIZES.split(',').filter(Boolean).map(Number);
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const logger = createRootLogger({ name: 'bench-cdc', level: process.env.LOG_LEVEL ?? 'warn' });
const resultsFile = fileURLToPath(new URL('./results/cdc.json', import.meta.url));
const suffix = randomBytes(3).toString('hex');

const relation: RelationInfo = {
  schema: 'public',
  table: 'bench_price',
  columns: [
    { name: 'value_id', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'entity_id', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'store_id', typeOid: TypeOid.int2, typeMod: -1 },
    { name: 'value', typeOid: TypeOid.numeric, typeMod: -1 },
    { name: 'updated_at', typeOid: TypeOid.timestamp, typeMod: -1 },
  ],
  keyColumns: ['value_id'],
};

const dataDir = await mkdtemp(path.join(tmpdir(), 'strangler-bench-cdc-'));
const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger, durability: (process.env.BENCH_CDC_DURABILITY as 'durable' | 'ephemeral' | undefined) ?? 'durable' });
const amqpConnection = await amqp.connect(amqpUrl);
const admin = await amqpConnection.createChannel();
let nextId = 1;
/** Exchanges and streams still on the shared broker; removed in `finally` even after a failure. */
const declared = new Set<BridgeConfig>();

try {
  await ensureDatabase(server.url('postgres'), 'cdcbench');
  const url = server.url('cdcbench');
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  await pool.query(`CREATE TABLE bench_price (
    value_id int PRIMARY KEY, entity_id int NOT NULL, store_id smallint NOT NULL DEFAULT 0,
    value numeric(20,6), updated_at timestamp NOT NULL DEFAULT now())`);

  const throughput: Array<Record<string, number | string>> = [];
  for (const size of SIZES) {
    const config = configFor(url, `t${size}`);
    await declare(config);
    // Alternating runs, median of each: the machine is shared, and a neighbour's burst should not
    // decide the ratio.
    const events = payloads(CHANGES);
    const raws: Array<{ rate: number; cpuMicrosPerEvent: number }> = [];
    const bridges: Array<{ rate: number; cpuMicrosPerEvent: number }> = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      raws.push(await rawLoop(config, events));
      bridges.push(await bridgeDrain(config, pool, size));
    }
    const raw = median(raws.map((run) => run.rate));
    const bridge = median(bridges.map((run) => run.rate));
    // CPU per event in this process: robust on a shared machine, where wall-clock rates are not.
    const rawCpu = median(raws.map((run) => run.cpuMicrosPerEvent));
    const bridgeCpu = median(bridges.map((run) => run.cpuMicrosPerEvent));
    await cleanup(config, url);
    throughput.push({
      'rows/transaction': size,
      changes: CHANGES,
      'raw loop (changes/s)': Math.round(raw),
      'bridge (changes/s)': Math.round(bridge),
      ratio: Number((bridge / raw).toFixed(2)),
      'raw CPU µs/change': Math.round(rawCpu),
      'bridge CPU µs/change': Math.round(bridgeCpu),
    });
    console.log(`transactions of ${size}: raw ${Math.round(raw)}/s, bridge ${Math.round(bridge)}/s`);
  }

  const latencyConfig = configFor(url, 'latency');
  await declare(latencyConfig);
  const latency = LATENCY_SECONDS > 0
    ? await steadyLatency(latencyConfig, pool)
    : { transactions: 0, achievedRate: 0, p50: NaN, p99: NaN, max: NaN, commitRoundTripP50: NaN, commitRoundTripP99: NaN };
  await cleanup(latencyConfig, url);
  console.log(`latency at ${LATENCY_RATE}/s: p50 ${latency.p50} ms, p99 ${latency.p99} ms (PG commit round trip p50 ${latency.commitRoundTripP50} ms, p99 ${latency.commitRoundTripP99} ms)`);

  const memoryConfig = configFor(url, 'memory');
  await declare(memoryConfig);
  const memory = await bigTransactionMemory(memoryConfig, pool);
  await cleanup(memoryConfig, url);
  await pool.end();

  const minRatio = throughput.length ? Math.min(...throughput.map((row) => Number(row.ratio))) : NaN;
  const report = {
    benchmark: 'cdc',
    date: new Date().toISOString(),
    postgres: 'embedded, durable (fsync on)',
    method: 'throughput = backlog drain (bridge started after the workload committed) until the last broker confirm; median of alternating rounds (raw, bridge, raw, bridge, …)',
    rounds: ROUNDS,
    throughput,
    latency: { rate: LATENCY_RATE, seconds: LATENCY_SECONDS, ...latency },
    memory,
    targets: { ratio: 0.7, p99Ms: 100, memory: 'flat during a 100,000-row transaction' },
    pass: { ratio: minRatio >= 0.7, p99: latency.p99 < 100 },
  };
  console.log(`\nCDC bridge vs raw amqplib confirm loop, ${CHANGES.toLocaleString('en')} changes per run\n`);
  console.table(throughput);
  console.table([{
    'rate (changes/s)': LATENCY_RATE,
    achieved: latency.achievedRate,
    transactions: latency.transactions,
    'commit→confirm p50 (ms)': latency.p50,
    'p99 (ms)': latency.p99,
    'max (ms)': latency.max,
    'target p99 (ms)': 100,
    'PG commit round trip p50/p99 (ms)': `${latency.commitRoundTripP50}/${latency.commitRoundTripP99}`,
  }]);
  console.table([memory]);
  await mkdir(path.dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), resultsFile)}`);
} finally {
  for (const config of [...declared]) await removeTopology(config);
  await amqpConnection.close().catch(() => undefined);
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

function configFor(url: string, label: string): BridgeConfig {
  return parseBridgeConfig({
    databaseUrl: url,
    amqpUrl,
    tables: ['bench_price'],
    exchange: `bench.cdc.${suffix}.${label}`,
    streamQueue: `bench.cdc.log.${suffix}.${label}`,
    streamMaxAge: '1h',
    // Its own signal queue: on the shared broker the default one carries other stacks' and specs'
    // snapshot requests, which a bench bridge must not take.
    signalQueue: `bench.cdc.signals.${suffix}.${label}`,
    slot: `bench_${suffix}_${label}`,
    publication: `bench_pub_${suffix}_${label}`,
    heartbeatIntervalMs: 10_000,
    ...(process.env.BENCH_CDC_MAX_IN_FLIGHT ? { maxInFlight: Number(process.env.BENCH_CDC_MAX_IN_FLIGHT) } : {}),
  });
}

async function declare(config: BridgeConfig): Promise<void> {
  await prepareCapture({ databaseUrl: config.databaseUrl, logger, tables: [...config.tables], publication: config.publication, slot: config.slot });
  declared.add(config);
  await declareTopology(amqpConnection, admin, config);
}

async function removeTopology(config: BridgeConfig): Promise<void> {
  await admin.deleteQueue(config.streamQueue).catch(() => undefined);
  await admin.deleteQueue(config.signalQueue).catch(() => undefined);
  await admin.deleteExchange(config.exchange).catch(() => undefined);
  declared.delete(config);
}

async function cleanup(config: BridgeConfig, url: string): Promise<void> {
  await removeTopology(config);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('SELECT pg_drop_replication_slot($1)', [config.slot]).catch(() => undefined);
  await client.query(`DROP PUBLICATION IF EXISTS ${pg.escapeIdentifier(config.publication)}`);
  await client.query('TRUNCATE bench_price');
  await client.end();
}

/** Events shaped exactly like the bridge's for this table. */
function payloads(count: number): PublishableEvent[] {
  const commitLsn = Lsn.parse('1/0');
  const events: PublishableEvent[] = [];
  for (let index = 0; index < count; index += 1) {
    events.push(
      buildChangeEvent(
        {
          op: 'c',
          relation,
          oldTuple: null,
          newTuple: { value_id: String(index + 1), entity_id: String(index + 1), store_id: '0', value: '19.990000', updated_at: '2026-01-01 00:00:00.123456' },
          lsn: commitLsn.plus(index * 100),
          position: index,
          dataCollectionOrder: index + 1,
        },
        { xid: 1000, commitLsn, commitTimeMs: Date.now() },
        { serverName: 'legacy', database: 'cdcbench', transactionMetadata: true, now: Date.now },
      ),
    );
  }
  return events;
}

/** amqplib alone: publish with confirms, same properties and in-flight window as the bridge. */
async function rawLoop(config: BridgeConfig, events: PublishableEvent[]): Promise<{ rate: number; cpuMicrosPerEvent: number }> {
  const connection = await amqp.connect(amqpUrl, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  let confirmed = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (const event of events) {
    while (inFlight >= config.maxInFlight) await new Promise<void>((resolve) => (wake = resolve));
    inFlight += 1;
    const writable = channel.publish(config.exchange, event.routingKey, event.body, {
      persistent: true,
      contentType: 'application/json',
      messageId: event.messageId,
      // The same properties the bridge sets (timestamp and type included), from strings built
      // beforehand: the ceiling pays only for amqplib.
      timestamp: Math.floor(event.commitTimeMs / 1000),
      type: event.type,
      headers: { table: event.headersTable, op: event.op, server: event.serverName, commit_lsn: event.commitLsnText, position: event.position, key: event.keyJson },
    }, (error: unknown) => {
      if (error) throw error;
      confirmed += 1;
      inFlight -= 1;
      wake?.();
    });
    if (!writable) await new Promise<void>((resolve) => channel.once('drain', () => resolve()));
  }
  await channel.waitForConfirms();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await connection.close();
  if (confirmed !== events.length) throw new Error(`raw loop: ${confirmed} of ${events.length} confirmed`);
  return { rate: events.length / seconds, cpuMicrosPerEvent: (cpu.user + cpu.system) / events.length };
}

async function writeWorkload(pool: pg.Pool, total: number, size: number): Promise<void> {
  // Single-row transactions from 8 connections; bigger ones as one INSERT … SELECT each.
  const statements: Array<[number, number]> = [];
  for (let done = 0; done < total; done += size) {
    statements.push([nextId, nextId + size - 1]);
    nextId += size;
  }
  let index = 0;
  const worker = async () => {
    const client = await pool.connect();
    try {
      await client.query('SET synchronous_commit = off'); // the writer's speed is not what we measure here
      while (index < statements.length) {
        const [from, to] = statements[index]!;
        index += 1;
        await client.query(
          `INSERT INTO bench_price (value_id, entity_id, value, updated_at) SELECT g, g, 19.99, '2026-01-01 00:00:00.123456' FROM generate_series($1::int, $2::int) g`,
          [from, to],
        );
      }
    } finally {
      // Back to durable commits before the client returns to the pool: the latency phase must not
      // inherit asynchronous commits, whose WAL reaches the walsender only at the WAL writer's pace.
      await client.query('RESET synchronous_commit');
      client.release();
    }
  };
  await Promise.all(Array.from({ length: size === 1 ? 8 : 2 }, worker));
}

async function bridgeDrain(config: BridgeConfig, pool: pg.Pool, size: number): Promise<{ rate: number; cpuMicrosPerEvent: number }> {
  await writeWorkload(pool, CHANGES, size);
  const bridge = new CdcBridge({ config, logger });
  const running = bridge.start();
  await bridge.waitUntilActive();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  while (bridge.status().eventsConfirmed < CHANGES) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await bridge.stop();
  await running;
  return { rate: CHANGES / seconds, cpuMicrosPerEvent: (cpu.user + cpu.system) / CHANGES };
}

async function steadyLatency(config: BridgeConfig, pool: pg.Pool) {
  const latencies: number[] = [];
  const commitRoundTrips: number[] = [];
  const bridge = new CdcBridge({
    config,
    logger,
    onTransactionConfirmed: ({ commitTimeMs }) => latencies.push(Date.now() - commitTimeMs),
  });
  const running = bridge.start();
  await bridge.waitUntilActive();
  const total = LATENCY_RATE * LATENCY_SECONDS;
  const started = performance.now();
  let sent = 0;
  const inFlight = new Set<Promise<unknown>>();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * LATENCY_RATE));
    while (sent < due) {
      const id = nextId++;
      const write = (async () => {
        const client = await pool.connect();
        try {
          const issuedAt = performance.now();
          await client.query(`INSERT INTO bench_price (value_id, entity_id, value) VALUES ($1, $1, 19.99)`, [id]);
          commitRoundTrips.push(performance.now() - issuedAt);
        } finally {
          client.release();
        }
      })().finally(() => inFlight.delete(write));
      inFlight.add(write);
      sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(inFlight);
  const writeSeconds = (performance.now() - started) / 1000;
  const deadline = Date.now() + 30_000;
  while (latencies.length < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await bridge.stop();
  await running;
  latencies.sort((a, b) => a - b);
  commitRoundTrips.sort((a, b) => a - b);
  const at = (values: number[], q: number) => Math.round(values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN);
  return {
    transactions: latencies.length,
    achievedRate: Math.round(total / writeSeconds),
    p50: at(latencies, 0.5),
    p99: at(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? NaN,
    // For context: how long PostgreSQL itself took to commit (INSERT round trip, fsync included).
    commitRoundTripP50: at(commitRoundTrips, 0.5),
    commitRoundTripP99: at(commitRoundTrips, 0.99),
  };
}

async function bigTransactionMemory(config: BridgeConfig, pool: pg.Pool) {
  const bridge = new CdcBridge({ config, logger });
  const running = bridge.start();
  await bridge.waitUntilActive();
  const measure = async (rows: number) => {
    collectGarbage();
    const baseline = process.memoryUsage();
    let peakHeap = baseline.heapUsed;
    let peakRss = baseline.rss;
    let maxInFlight = 0;
    const sampler = setInterval(() => {
      collectGarbage();
      const now = process.memoryUsage();
      peakHeap = Math.max(peakHeap, now.heapUsed);
      peakRss = Math.max(peakRss, now.rss);
      maxInFlight = Math.max(maxInFlight, bridge.status().inFlight);
    }, 250);
    const before = bridge.status().eventsConfirmed;
    const started = performance.now();
    await writeWorkload(pool, rows, rows);
    while (bridge.status().eventsConfirmed < before + rows) await new Promise((resolve) => setTimeout(resolve, 10));
    clearInterval(sampler);
    return {
      rows,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      heapGrowthMb: Number(((peakHeap - baseline.heapUsed) / 1024 / 1024).toFixed(1)),
      rssGrowthMb: Number(((peakRss - baseline.rss) / 1024 / 1024).toFixed(1)),
      maxInFlight,
    };
  };
  const small = await measure(BIG_TRANSACTION / 10);
  const big = await measure(BIG_TRANSACTION);
  await bridge.stop();
  await running;
  return {
    'rows (small)': small.rows,
    'live heap growth small (MB)': small.heapGrowthMb,
    'rows (big)': big.rows,
    'live heap growth big (MB)': big.heapGrowthMb,
    'rss growth big (MB)': big.rssGrowthMb,
    'big txn seconds': big.seconds,
    'max in flight': big.maxInFlight,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

