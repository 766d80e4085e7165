import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../platform/embedded-postgres.ts';
import { ensureDatabase } from '../platform/database.ts';
import { migrate } from '../platform/migrations.ts';
import { createRootLogger } from '../platform/logger.ts';
import { seedLegacy } from '../legacy-stub/seed/seed.ts';
import { createLegacyApp } from '../legacy-stub/app.ts';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { freePort } from '../platform/free-port.ts';

// Seeds 100,000 products (BENCH_SEED_PRODUCTS to change it) into a fresh database on a
// throw-away embedded PostgreSQL with durable settings (fsync on), as a person's stack runs it.
// Target (issue 2): under 120 s. Then times a few catalog REST requests on that catalog, to show
// that searches stay cheap at this size (one join per attribute used, one batch per page).
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
  const requests = await timeRequests(url);
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
    requests,
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
  console.log('\ncatalog REST on that catalog (sequential, after 2 warm-ups)\n');
  console.table(requests.map((r) => ({ request: r.name, items: r.items, total_count: r.totalCount, 'median (ms)': r.medianMs, 'p95 (ms)': r.p95Ms })));
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

async function timeRequests(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const app = createLegacyApp({ pool, logger, clock: () => new Date() });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const skus = await pool.query<{ sku: string }>(
    'SELECT sku FROM catalog_product_entity WHERE entity_id IN ((SELECT max(entity_id) / 2 FROM catalog_product_entity), (SELECT max(entity_id) * 3 / 4 FROM catalog_product_entity)) ORDER BY entity_id',
  );
  const [middle, later] = skus.rows.map((row) => row.sku);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/V1`;
  const filter = (g: number, f: number, field: string, value: string, type = 'eq') =>
    `searchCriteria[filter_groups][${g}][filters][${f}][field]=${field}&searchCriteria[filter_groups][${g}][filters][${f}][value]=${encodeURIComponent(value)}&searchCriteria[filter_groups][${g}][filters][${f}][condition_type]=${type}`;
  const cases = [
    { name: 'page of 20, no filter', path: '/products?searchCriteria[pageSize]=20' },
    { name: 'product by sku', path: `/products/${middle}` },
    { name: 'sku eq', path: `/products?${filter(0, 0, 'sku', later!)}` },
    { name: "name like '%Tee' (20)", path: `/products?${filter(0, 0, 'name', '%Tee', 'like')}&searchCriteria[pageSize]=20` },
    { name: 'price 20–50, by price ASC, page 100', path: `/products?${filter(0, 0, 'price', '20', 'from')}&${filter(1, 0, 'price', '50', 'to')}&searchCriteria[sortOrders][0][field]=price&searchCriteria[sortOrders][0][direction]=ASC&searchCriteria[pageSize]=20&searchCriteria[currentPage]=100` },
    { name: 'category 4 and enabled, by name', path: `/products?${filter(0, 0, 'category_id', '4')}&${filter(1, 0, 'status', '1')}&searchCriteria[sortOrders][0][field]=name&searchCriteria[pageSize]=20` },
    { name: 'page of 300', path: '/products?searchCriteria[pageSize]=300' },
  ];
  const results = [];
  try {
    for (const c of cases) {
      const timings: number[] = [];
      let items = 0;
      let totalCount: number | null = null;
      for (let i = 0; i < 22; i += 1) {
        const started = performance.now();
        const response = await fetch(`${base}${c.path}`);
        const body = (await response.json()) as { items?: unknown[]; total_count?: number; sku?: string };
        if (!response.ok) throw new Error(`${c.name}: HTTP ${response.status} ${JSON.stringify(body)}`);
        if (i >= 2) timings.push(performance.now() - started);
        items = body.items ? body.items.length : 1;
        totalCount = body.total_count ?? null;
      }
      timings.sort((a, b) => a - b);
      results.push({
        name: c.name,
        items,
        totalCount,
        medianMs: Number(timings[Math.floor(timings.length / 2)]!.toFixed(1)),
        p95Ms: Number(timings[Math.floor(timings.length * 0.95)]!.toFixed(1)),
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await pool.end();
  }
  return results;
}
