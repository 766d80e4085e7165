import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../platform/embedded-postgres.ts';
import { ensureDatabase } from '../platform/database.ts';
import { migrate } from '../platform/migrations.ts';
import { createRootLogger } from '../platform/logger.ts';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';

// Seeds 100,000 products (BENCH_SEED_PRODUCTS to change it) into a fresh database on a
// throw-away embedded PostgreSQL with durable settings (fsync on), as a person's stack runs it.
// Target (issue 2): under 120 s.
const products = Number(process.env.BENCH_SEED_PRODUCTS ?? 100_000);
const targetMs = 120_000;
const logger = createRootLogger({ name: 'bench-legacy-seed', level: process.env.LOG_LEVEL ?? 'warn' });
const schema = fileURLToPath(new URL('../legacy-stub/schema', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/legacy-seed.json', import.meta.url));

const dataDir = await mkdtemp(path.join(tmpdir(), 'strangler-bench-seed-'));
const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger, durability: 'durable' });
try {
  const url = server.url('legacy');
  await ensureDatabase(server.url('postgres'), 'legacy');
  await migrate(url, schema, logger);
  const result = await seedLegacy(url, { products, logger });
  const sizes = await tableSizes(url);
  const rows = sizes.reduce((sum, table) => sum + table.rows, 0);
  const report = {
    benchmark: 'legacy-seed',
    date: new Date().toISOString(),
    products,
    rows,
    ms: result.ms,
    seconds: Number((result.ms / 1000).toFixed(1)),
    productsPerSecond: Math.round(products / (result.ms / 1000)),
    rowsPerSecond: Math.round(rows / (result.ms / 1000)),
    durability: 'durable',
    targetMs,
    pass: result.ms < targetMs,
    tables: sizes,
  };
  console.log(`\nlegacy seed: ${products.toLocaleString('en')} products, durable embedded PostgreSQL\n`);
  console.table(sizes.map((table) => ({ table: table.table, rows: table.rows, 'size (MB)': table.mb })));
  console.table([
    {
      products,
      rows,
      seconds: report.seconds,
      'products/s': report.productsPerSecond,
      'rows/s': report.rowsPerSecond,
      'target (s)': targetMs / 1000,
      pass: report.pass,
    },
  ]);
  await mkdir(path.dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), resultsFile)}`);
  if (!report.pass) process.exitCode = 1;
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

async function tableSizes(url: string): Promise<Array<{ table: string; rows: number; mb: number }>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = [
      'catalog_product_entity',
      'catalog_product_entity_varchar',
      'catalog_product_entity_int',
      'catalog_product_entity_decimal',
      'catalog_product_entity_text',
      'catalog_product_entity_datetime',
      'catalog_product_entity_tier_price',
      'catalog_category_product',
      'cataloginventory_stock_item',
    ];
    const sizes = [];
    for (const table of tables) {
      const { rows } = await client.query<{ rows: string; bytes: string }>(
        `SELECT count(*)::text AS rows, pg_total_relation_size($1::regclass)::text AS bytes FROM ${table}`,
        [table],
      );
      sizes.push({ table, rows: Number(rows[0]!.rows), mb: Number((Number(rows[0]!.bytes) / 1_048_576).toFixed(1)) });
    }
    return sizes;
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
