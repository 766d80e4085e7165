import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { migrate } from '../../../platform/migrations.ts';
import { silentLogger } from '../../../platform/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { createCatalogDictionary } from '../domain/catalog-dictionary.ts';
import { buildProductDocument } from '../domain/document-builder.ts';
import { PimMetrics } from '../metrics.ts';
import { PIM_SCHEMA } from '../pim-service.ts';
import { PostgresProductStore } from '../store/postgres/postgres-product-store.ts';
import { CatalogProjector } from '../sync/catalog-projector.ts';
import { Freshness } from '../sync/freshness.ts';
import { call } from '../testing/pim-stack.ts';
import { createPimApp } from './pim-app.ts';

// GET /search over the PostgreSQL store: full-text (tsvector) with facets and highlighting.
const dictionary = createCatalogDictionary(
  [
    { id: 1, code: 'name', backendType: 'varchar', frontendInput: 'text' },
    { id: 2, code: 'price', backendType: 'decimal', frontendInput: 'price' },
    { id: 3, code: 'color', backendType: 'int', frontendInput: 'select' },
    { id: 4, code: 'size', backendType: 'int', frontendInput: 'select' },
    { id: 5, code: 'description', backendType: 'text', frontendInput: 'textarea' },
  ],
  new Map([
    [10, 'Red'],
    [11, 'Blue'],
    [20, 'M'],
    [21, 'L'],
  ]),
);

const catalog: Array<{ id: number; name: string; price: string; color: number; size: number; category: [number, string]; description: string }> = [
  { id: 1, name: 'Trail Running Hoodie', price: '45.000000', color: 10, size: 20, category: [3, 'Tops'], description: 'A warm hoodie for cold mornings on the trail.' },
  { id: 2, name: 'Studio Yoga Pant', price: '60.000000', color: 11, size: 21, category: [4, 'Bottoms'], description: 'Soft stretch for the studio.' },
  { id: 3, name: 'Zip Hoodie Classic', price: '120.000000', color: 11, size: 20, category: [3, 'Tops'], description: 'The classic zip hoodie in heavy cotton.' },
  { id: 4, name: 'Summer Tee', price: '19.990000', color: 10, size: 21, category: [3, 'Tops'], description: 'Light tee for running in summer.' },
];

let database: TestDatabase;
let pool: pg.Pool;
let server: http.Server;
let base: string;

beforeAll(async () => {
  database = await createTestDatabase('pim_search');
  await migrate(database.url, PIM_SCHEMA, silentLogger());
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const store = new PostgresProductStore(pool);
  await store.upsert(
    catalog.map((p) =>
      buildProductDocument(
        {
          entity: { entity_id: p.id, sku: `S-${p.id}`, type_id: 'simple', attribute_set_id: 4, has_options: 0, required_options: 0, created_at: '2025-01-01 00:00:00', updated_at: '2025-01-01 00:00:00' },
          values: [
            { attribute_id: 1, store_id: 0, value: p.name },
            { attribute_id: 2, store_id: 0, value: p.price },
            { attribute_id: 3, store_id: 0, value: String(p.color) },
            { attribute_id: 4, store_id: 0, value: String(p.size) },
            { attribute_id: 5, store_id: 0, value: p.description },
          ],
          tierPrices: [],
          categoryLinks: [{ category_id: p.category[0], position: 0 }],
          categoryNames: new Map([p.category]),
          stockItem: null,
          version: 100n,
        },
        dictionary,
      ),
    ),
  );
  const logger = silentLogger();
  const projector = new CatalogProjector({ pool, store, logger });
  const freshness = new Freshness({ projector, sync: () => undefined, logger });
  const app = createPimApp({ store, dictionary: async () => dictionary, freshness, metrics: new PimMetrics(), logger });
  server = await new Promise<http.Server>((resolve) => {
    const listening = http.createServer(app).listen(0, '127.0.0.1', () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await pool?.end();
  await database?.drop();
});

describe('GET /search', () => {
  it('finds products by words in name or description, ranks name matches, highlights them, and counts facets over the matches', async () => {
    const answer = await call(base, '/search?q=hoodie');
    expect(answer.status).toBe(200);
    expect(answer.body.total).toBe(2);
    expect(answer.body.items.map((item: { sku: string }) => item.sku).sort()).toEqual(['S-1', 'S-3']);
    const first = answer.body.items[0];
    expect(first.highlights.name[0]).toMatch(/<em>Hoodie<\/em>/);
    expect(first.product).toMatchObject({ sku: first.sku, name: first.name, price: first.price });
    expect(answer.body.facets.category).toEqual([{ value: '3', label: 'Tops', count: 2 }]);
    expect(answer.body.facets.color).toEqual([
      { value: 'Blue', label: 'Blue', count: 1 },
      { value: 'Red', label: 'Red', count: 1 },
    ]);
    expect(answer.body.facets.price).toEqual([
      { value: '25-50', label: '25 – 50', count: 1 },
      { value: '100-200', label: '100 – 200', count: 1 },
    ]);
  });

  it('stems words (running → run) and narrows by color, size and price range', async () => {
    const answer = await call(base, '/search?q=run&color=red&price_from=10&price_to=50');
    expect(answer.body.items.map((item: { sku: string }) => item.sku).sort()).toEqual(['S-1', 'S-4']);
    const narrowed = await call(base, '/search?q=run&color=red&size=L');
    expect(narrowed.body.items.map((item: { sku: string }) => item.sku)).toEqual(['S-4']);
  });

  it('without words, lists everything with facets, paged', async () => {
    const answer = await call(base, '/search?page_size=3&page=2');
    expect(answer.body).toMatchObject({ total: 4, page: 2, page_size: 3 });
    expect(answer.body.items).toHaveLength(1);
    expect(answer.body.facets.size).toEqual([
      { value: 'L', label: 'L', count: 2 },
      { value: 'M', label: 'M', count: 2 },
    ]);
  });

  it('when a parameter is invalid or unknown, then 400 names it and says what to send', async () => {
    const bad = await call(base, '/search?q=tee&page_size=1000');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'PIM_SEARCH_INVALID', message: expect.stringContaining('page_size') });
    expect(bad.body.remedy).toMatch(/page_size/);
    const unknown = await call(base, '/search?colour=red');
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('colour');
  });
});
