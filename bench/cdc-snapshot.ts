import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import pg from 'pg';
import { CdcBridge } from '../cdc/bridge.ts';
import { parseBridgeConfig } from '../cdc/bridge-config.ts';
import { DEFAULT_CAPTURED_TABLES } from '../cdc/capture-table.ts';
import { messageKindOf, parseReceivedBatch } from '../cdc/consumer/received-change.ts';
import { CONTROL_HEADER } from '../cdc/snapshot/snapshot-protocol.ts';
import { buildSnapshotRequest, waitForSnapshot, writeSignal } from '../cdc/snapshot/snapshot-request.ts';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';
import { ensureDatabase } from '../platform/database.ts';
import { startEmbeddedPostgres } from '../platform/embedded-postgres.ts';
import { freePort } from '../platform/free-port.ts';
import { createRootLogger } from '../platform/logger.ts';
import { migrate } from '../platform/migrations.ts';

// Incremental snapshot throughput: seeds BENCH_SEED_PRODUCTS (100,000) products into a fresh
// embedded PostgreSQL (fsync on), starts the bridge after the seed (so only a snapshot can bring
// the rows), and times a snapshot of every captured table into one queue until its `completed`
// control message, while BENCH_SNAPSHOT_WRITES_PER_SECOND (200) price updates keep streaming.
// rows: what reached the queue — rows touched by a live write inside their chunk's window are
// left to the stream (which this queue does not follow), so slightly fewer than the tables hold.
// liveCommitToConfirmMs: commit -> broker confirm of the live writes while the snapshot runs.
// processCpuMicrosPerRow: this process's CPU (bridge, the consumer, the writer) per row.
// consumerParseCpuMicrosPerRow: the consumer's share: CPU to parse and validate each batch with the
// consumer kit (parseReceivedBatch, what a service's ChangeConsumer does) into ReceivedChanges;
// bridgeCpuMicrosPerRow: the rest.
const products = Number(process.env.BENCH_SEED_PRODUCTS ?? 100_000);
const writesPerSecond = Number(process.env.BENCH_SNAPSHOT_WRITES_PER_SECOND ?? 200);
const chunkSize = Number(process.env.CDC_SNAPSHOT_CHUNK_SIZE ?? 4096);
const batchRows = process.env.BENCH_SNAPSHOT_BATCH_ROWS ? Number(process.env.BENCH_SNAPSHOT_BATCH_ROWS) : undefined;
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const logger = createRootLogger({ name: 'bench-cdc-snapshot', level: process.env.LOG_LEVEL ?? 'warn' });
const schema = fileURLToPath(new URL('../legacy-stub/schema', import.meta.url));
const suffix = randomBytes(4).toString('hex');

const dataDir = await mkdtemp(path.join(tmpdir(), 'strangler-bench-snapshot-'));
const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger, durability: 'durable' });
const connection = await amqp.connect(amqpUrl);
const queue = `bench.snapshot.${suffix}`;
let bridge: CdcBridge | undefined;
try {
  const url = server.url('legacy');
  await ensureDatabase(server.url('postgres'), 'legacy');
  await migrate(url, schema, logger);
  const seedStarted = Date.now();
  await seedLegacy(url, { products, logger });
  console.log(`seeded ${products} products in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await pool.query('ANALYZE');

  let measuringLive = false;
  const liveConfirmMs: number[] = [];
  bridge = new CdcBridge({
    config: parseBridgeConfig({
      databaseUrl: url,
      amqpUrl,
      tables: [...DEFAULT_CAPTURED_TABLES],
      exchange: `bench.cdc.${suffix}`,
      streamQueue: `bench.cdc.log.${suffix}`,
      streamMaxAge: '1h',
      slot: `bench_snapshot_${suffix}`,
      publication: `bench_pub_${suffix}`,
      lockName: `bench-snapshot:${suffix}`,
      signalQueue: `bench.cdc.signals.${suffix}`,
      snapshotChunkSize: chunkSize,
      ...(batchRows ? { snapshotBatchRows: batchRows } : {}),
    }),
    logger,
    // Live changes during the snapshot: commit -> broker confirm of each price update, to see
    // whether the snapshot's batches crowd them out of the channel.
    onTransactionConfirmed: ({ commitTimeMs }) => {
      if (measuringLive) liveConfirmMs.push(Date.now() - commitTimeMs);
    },
  });
  bridge.start().catch((error: unknown) => console.error(error));
  await bridge.waitUntilActive();

  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: false, autoDelete: false });
  let rows = 0;
  let parseMicros = 0;
  let invalid = 0;
  let done: (() => void) | undefined;
  const completed = new Promise<void>((resolve) => {
    done = resolve;
  });
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      const headers = message.properties.headers ?? {};
      if (messageKindOf(message) === 'batch') {
        const before = process.cpuUsage();
        try {
          rows += parseReceivedBatch(message).length;
        } catch (error) {
          invalid += 1;
          if (invalid === 1) console.error(error);
        }
        const spent = process.cpuUsage(before);
        parseMicros += spent.user + spent.system;
      }
      if (typeof headers[CONTROL_HEADER] === 'string' && headers[CONTROL_HEADER] !== 'snapshot.progress') done?.();
    },
    { noAck: true },
  );

  let writing = true;
  let writes = 0;
  const writer = (async () => {
    const started = Date.now();
    while (writing && writesPerSecond > 0) {
      const entity = 1 + Math.floor(Math.random() * products);
      await pool.query('UPDATE catalog_product_entity_decimal SET value = value + 0.01 WHERE entity_id = $1 AND store_id = 0', [entity]);
      writes += 1;
      const due = started + (writes * 1000) / writesPerSecond;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
  })();

  const request = buildSnapshotRequest({ target: queue, tables: [...DEFAULT_CAPTURED_TABLES] });
  const started = Date.now();
  const cpuStart = process.cpuUsage();
  measuringLive = true;
  await writeSignal(pool, request);
  await completed;
  measuringLive = false;
  const seconds = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  writing = false;
  await writer;
  // The bookkeeping row turns `completed` just after the control message (which goes first, so a
  // crash between the two repeats the message rather than losing it).
  const final = await waitForSnapshot(pool, request.id, { timeoutMs: 30_000, pollMs: 100 });
  const report = {
    benchmark: 'cdc-snapshot',
    date: new Date().toISOString(),
    products,
    chunkSize,
    batchRows: batchRows ?? 'default',
    state: final.state,
    rows,
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round(rows / seconds),
    processCpuMicrosPerRow: Math.round(((cpu.user + cpu.system) / rows) * 10) / 10,
    consumerParseCpuMicrosPerRow: Math.round((parseMicros / rows) * 10) / 10,
    bridgeCpuMicrosPerRow: Math.round(((cpu.user + cpu.system - parseMicros) / rows) * 10) / 10,
    invalidBatches: invalid,
    liveWrites: writes,
    liveCommitToConfirmMs: percentiles(liveConfirmMs),
    loadAverage: loadavg().map((value) => Math.round(value * 10) / 10),
  };
  console.log(JSON.stringify(report, null, 2));
  const resultsFile = fileURLToPath(new URL('./results/cdc-snapshot.json', import.meta.url));
  await mkdir(path.dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
  await pool.end();
} finally {
  await bridge?.stop();
  const cleanup = await connection.createChannel();
  await cleanup.deleteQueue(queue).catch(() => undefined);
  await cleanup.deleteQueue(`bench.cdc.log.${suffix}`).catch(() => undefined);
  await cleanup.deleteQueue(`bench.cdc.signals.${suffix}`).catch(() => undefined);
  await cleanup.deleteExchange(`bench.cdc.${suffix}`).catch(() => undefined);
  await connection.close().catch(() => undefined);
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

function percentiles(values: number[]): { p50: number; p99: number; max: number; count: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0, count: sorted.length };
}
