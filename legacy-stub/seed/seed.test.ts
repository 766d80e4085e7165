import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../../platform/migrations.ts';
import { silentLogger } from '../../platform/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { seedLegacy } from './seed.ts';
import { verifyPassword } from './password.ts';
import { DEMO_PASSWORD, demoCustomers } from './demo-customers.ts';

const schema = fileURLToPath(new URL('../schema', import.meta.url));
const NOW = new Date('2025-06-15T12:00:00Z');
const PRODUCTS = 300;
const catalogTables = [
  'catalog_product_entity',
  'catalog_product_entity_varchar',
  'catalog_product_entity_int',
  'catalog_product_entity_decimal',
  'catalog_product_entity_text',
  'catalog_product_entity_datetime',
  'catalog_product_entity_tier_price',
  'catalog_category_entity',
  'catalog_category_product',
  'cataloginventory_stock_item',
  'eav_attribute',
  'eav_attribute_option',
  'eav_attribute_option_value',
];

async function freshDatabase(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  await migrate(db.url, schema, silentLogger());
  return db;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** An md5 over every catalog row, each table in a stable order: equal dumps, equal catalogs. */
function catalogDigest(url: string): Promise<Record<string, string>> {
  return withClient(url, async (client) => {
    const digest: Record<string, string> = {};
    for (const table of catalogTables) {
      const { rows } = await client.query<{ md5: string; n: string }>(
        `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5, count(*)::text AS n FROM ${table} t`,
      );
      digest[table] = `${rows[0]!.n}:${rows[0]!.md5}`;
    }
    return digest;
  });
}

describe('seedLegacy', () => {
  const databases: TestDatabase[] = [];
  let first: TestDatabase;
  beforeAll(async () => {
    first = await freshDatabase('seed_a');
    databases.push(first);
    await seedLegacy(first.url, { products: PRODUCTS, randomSeed: 11, logger: silentLogger(), now: NOW });
  });
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  it('writes the same catalog, row for row, for the same random seed and now', async () => {
    const second = await freshDatabase('seed_b');
    databases.push(second);
    const result = await seedLegacy(second.url, { products: PRODUCTS, randomSeed: 11, logger: silentLogger(), now: NOW });
    expect(result).toMatchObject({ seeded: true, products: PRODUCTS });
    expect(await catalogDigest(second.url)).toEqual(await catalogDigest(first.url));
  });

  it('writes another catalog for another random seed', async () => {
    const other = await freshDatabase('seed_c');
    databases.push(other);
    await seedLegacy(other.url, { products: PRODUCTS, randomSeed: 12, logger: silentLogger(), now: NOW });
    const a = await catalogDigest(first.url);
    const c = await catalogDigest(other.url);
    expect(c.catalog_product_entity_varchar).not.toEqual(a.catalog_product_entity_varchar);
    expect(c.eav_attribute).toEqual(a.eav_attribute);
  });

  it('is a no-op when the catalog has products already', async () => {
    const before = await catalogDigest(first.url);
    const again = await seedLegacy(first.url, { products: 50, randomSeed: 99, logger: silentLogger(), now: NOW });
    expect(again).toMatchObject({ seeded: false, products: 0 });
    expect(await catalogDigest(first.url)).toEqual(before);
  });

  it('records the seed on the product table', async () => {
    const comment = await withClient(first.url, (client) =>
      client.query<{ comment: string }>("SELECT obj_description('catalog_product_entity'::regclass, 'pg_class') AS comment"),
    );
    expect(comment.rows[0]!.comment).toBe('seeded by strangler: 300 products, random seed 11, now 2025-06-15 12:00:00');
  });

  it('gives products the variety of a real shop', async () => {
    await withClient(first.url, async (client) => {
      const one = async (sql: string) => (await client.query<{ n: number }>(sql)).rows[0]!.n;
      const attr = (code: string) => `(SELECT attribute_id FROM eav_attribute WHERE attribute_code = '${code}')`;
      expect(await one('SELECT count(*)::int AS n FROM catalog_product_entity')).toBe(PRODUCTS);
      expect(await one('SELECT count(DISTINCT type_id)::int AS n FROM catalog_product_entity')).toBe(2);
      // every product has a name, a price, a status, a visibility, a url key and a stock item
      for (const code of ['name', 'price', 'status', 'visibility', 'url_key']) {
        const table = { name: 'varchar', price: 'decimal', status: 'int', visibility: 'int', url_key: 'varchar' }[code];
        expect(await one(`SELECT count(*)::int AS n FROM catalog_product_entity_${table} WHERE attribute_id = ${attr(code)}`), code).toBe(PRODUCTS);
      }
      expect(await one('SELECT count(DISTINCT value)::int AS n FROM catalog_product_entity_varchar WHERE attribute_id = ' + attr('url_key'))).toBe(PRODUCTS);
      expect(await one('SELECT count(*)::int AS n FROM cataloginventory_stock_item')).toBe(PRODUCTS);
      expect(await one(`SELECT count(DISTINCT value)::int AS n FROM catalog_product_entity_int WHERE attribute_id = ${attr('status')}`)).toBe(2);
      expect(await one(`SELECT count(DISTINCT value)::int AS n FROM catalog_product_entity_int WHERE attribute_id = ${attr('visibility')}`)).toBe(4);
      // colors and sizes are option ids of their attribute
      for (const code of ['color', 'size']) {
        expect(await one(`SELECT count(*)::int AS n FROM catalog_product_entity_int WHERE attribute_id = ${attr(code)}`), code).toBeGreaterThan(50);
        expect(
          await one(`SELECT count(*)::int AS n FROM catalog_product_entity_int v WHERE attribute_id = ${attr(code)}
                      AND NOT EXISTS (SELECT 1 FROM eav_attribute_option o WHERE o.option_id = v.value AND o.attribute_id = v.attribute_id)`),
        ).toBe(0);
      }
      // some descriptions are long enough for PostgreSQL to move them out of line (TOAST)
      expect(await one(`SELECT count(*)::int AS n FROM catalog_product_entity_text WHERE attribute_id = ${attr('description')} AND length(value) > 2048`)).toBeGreaterThan(0);
      expect(await one("SELECT (pg_relation_size(reltoastrelid) > 0)::int AS n FROM pg_class WHERE relname = 'catalog_product_entity_text'")).toBe(1);
      // special prices in the past, the present and the future of `now`
      const windows = await client.query<{ window: string; n: number }>(`
        SELECT CASE WHEN t.value < '2025-06-15' THEN 'past' WHEN f.value > '2025-06-15 12:00:00' THEN 'future' ELSE 'current' END AS window, count(*)::int AS n
          FROM catalog_product_entity_decimal s
          LEFT JOIN catalog_product_entity_datetime f ON f.entity_id = s.entity_id AND f.attribute_id = ${attr('special_from_date')}
          LEFT JOIN catalog_product_entity_datetime t ON t.entity_id = s.entity_id AND t.attribute_id = ${attr('special_to_date')}
         WHERE s.attribute_id = ${attr('special_price')} GROUP BY 1`);
      const byWindow = Object.fromEntries(windows.rows.map((row) => [row.window, row.n]));
      expect(byWindow.past).toBeGreaterThan(0);
      expect(byWindow.current).toBeGreaterThan(0);
      expect(byWindow.future).toBeGreaterThan(0);
      expect(await one(`SELECT count(*)::int AS n FROM catalog_product_entity_decimal s JOIN catalog_product_entity_decimal p
                          ON p.entity_id = s.entity_id AND p.attribute_id = ${attr('price')}
                         WHERE s.attribute_id = ${attr('special_price')} AND s.value >= p.value`)).toBe(0);
      // tier prices: all groups and single groups, fixed and percentage, at several quantities
      const tiers = await client.query<{ all_groups: number; percentage: boolean; groups: number; quantities: number }>(`
        SELECT all_groups, percentage_value IS NOT NULL AS percentage, count(DISTINCT customer_group_id)::int AS groups, count(DISTINCT qty)::int AS quantities
          FROM catalog_product_entity_tier_price GROUP BY 1, 2 ORDER BY 1, 2`);
      expect(tiers.rows.map((row) => [row.all_groups, row.percentage])).toEqual([
        [0, false],
        [0, true],
        [1, false],
        [1, true],
      ]);
      expect(tiers.rows.find((row) => row.all_groups === 0 && row.percentage)!.groups).toBeGreaterThanOrEqual(2);
      expect(await one('SELECT count(DISTINCT qty)::int AS n FROM catalog_product_entity_tier_price')).toBeGreaterThanOrEqual(4);
      // each product in one to three categories of a tree
      const links = await client.query<{ min: number; max: number }>(
        'SELECT min(n)::int AS min, max(n)::int AS max FROM (SELECT count(*) AS n FROM catalog_category_product GROUP BY product_id) c',
      );
      expect(links.rows[0]).toEqual({ min: 1, max: 3 });
      expect(await one('SELECT count(DISTINCT product_id)::int AS n FROM catalog_category_product')).toBe(PRODUCTS);
      expect(await one("SELECT count(*)::int AS n FROM catalog_category_entity WHERE level = 3 AND path LIKE '1/2/%/%'")).toBeGreaterThan(3);
      expect(await one('SELECT count(*)::int AS n FROM cataloginventory_stock_item WHERE is_in_stock = 0 AND qty = 0')).toBeGreaterThan(0);
    });
  });

  it('leaves no row pointing at a missing product, attribute, store, category or group', async () => {
    const orphans = await withClient(first.url, async (client) => {
      const checks = [
        ...['varchar', 'int', 'decimal', 'text', 'datetime'].flatMap((type) => [
          `SELECT count(*)::int AS n FROM catalog_product_entity_${type} v WHERE NOT EXISTS (SELECT 1 FROM catalog_product_entity e WHERE e.entity_id = v.entity_id)`,
          `SELECT count(*)::int AS n FROM catalog_product_entity_${type} v WHERE NOT EXISTS (SELECT 1 FROM eav_attribute a WHERE a.attribute_id = v.attribute_id AND a.backend_type = '${type}')`,
          `SELECT count(*)::int AS n FROM catalog_product_entity_${type} v WHERE NOT EXISTS (SELECT 1 FROM store s WHERE s.store_id = v.store_id)`,
        ]),
        'SELECT count(*)::int AS n FROM catalog_product_entity_tier_price t WHERE NOT EXISTS (SELECT 1 FROM catalog_product_entity e WHERE e.entity_id = t.entity_id) OR NOT EXISTS (SELECT 1 FROM customer_group g WHERE g.customer_group_id = t.customer_group_id) OR NOT EXISTS (SELECT 1 FROM store_website w WHERE w.website_id = t.website_id)',
        'SELECT count(*)::int AS n FROM catalog_category_product l WHERE NOT EXISTS (SELECT 1 FROM catalog_product_entity e WHERE e.entity_id = l.product_id) OR NOT EXISTS (SELECT 1 FROM catalog_category_entity c WHERE c.entity_id = l.category_id)',
        'SELECT count(*)::int AS n FROM cataloginventory_stock_item s WHERE NOT EXISTS (SELECT 1 FROM catalog_product_entity e WHERE e.entity_id = s.product_id)',
        'SELECT count(*)::int AS n FROM catalog_category_entity c WHERE c.parent_id <> 0 AND NOT EXISTS (SELECT 1 FROM catalog_category_entity p WHERE p.entity_id = c.parent_id)',
      ];
      let total = 0;
      for (const sql of checks) total += (await client.query<{ n: number }>(sql)).rows[0]!.n;
      return total;
    });
    expect(orphans).toBe(0);
  });

  it('seeds as a role that may not skip foreign-key triggers, just slower', async () => {
    const limited = await freshDatabase('seed_limited');
    databases.push(limited);
    const role = `seed_role_${limited.name.slice(-8)}`;
    await withClient(limited.url, async (client) => {
      await client.query(`CREATE ROLE ${role} LOGIN PASSWORD 'seed'`);
      await client.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
      await client.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    });
    try {
      const url = new URL(limited.url);
      url.username = role;
      url.password = 'seed';
      const result = await seedLegacy(url.toString(), { products: 20, randomSeed: 11, logger: silentLogger(), now: NOW });
      expect(result).toMatchObject({ seeded: true, products: 20 });
      const { rows } = await withClient(limited.url, (client) => client.query<{ n: number }>('SELECT count(*)::int AS n FROM cataloginventory_stock_item'));
      expect(rows[0]!.n).toBe(20);
    } finally {
      await withClient(limited.url, async (client) => {
        await client.query(`DROP OWNED BY ${role}`);
        await client.query(`DROP ROLE ${role}`);
      });
    }
  });

  it('writes demo customers, one per group, whose password verifies', async () => {
    const { rows } = await withClient(first.url, (client) =>
      client.query<{ email: string; group_id: number; password_hash: string }>('SELECT email, group_id, password_hash FROM customer_entity ORDER BY group_id'),
    );
    expect(rows.map((row) => [row.email, row.group_id])).toEqual(demoCustomers.map((c) => [c.email, c.group_id]));
    for (const row of rows) {
      expect(row.password_hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
      expect(await verifyPassword(DEMO_PASSWORD, row.password_hash)).toBe(true);
      expect(await verifyPassword('password124', row.password_hash)).toBe(false);
    }
  });

  it('refuses a negative number of products', async () => {
    await expect(seedLegacy(first.url, { products: -1, logger: silentLogger() })).rejects.toThrow(/at least 0/);
  });
});
