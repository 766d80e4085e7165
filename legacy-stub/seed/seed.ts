import pg from 'pg';
import type { Logger } from '../../platform/logger.ts';
import { formatMagentoDate } from '../catalog/magento-date.ts';
import { generateProduct, type GeneratedProduct, type GeneratorContext } from './catalog-generator.ts';
import { categoryTree } from './category-tree.ts';
import { DEMO_PASSWORD, demoCustomers } from './demo-customers.ts';
import { hashPassword } from './password.ts';
import { writeReferenceData, type BackendType } from './reference-data.ts';
import { createSeededRandom } from './seeded-random.ts';

export interface SeedOptions {
  products: number;
  /** The PRNG seed; the same seed and `now` give the same catalog, row for row. */
  randomSeed?: number;
  logger: Logger;
  /** The moment special-price windows and dates are relative to; tests pin it. */
  now?: Date;
}

export interface SeedResult {
  seeded: boolean;
  products: number;
  ms: number;
}

export const DEFAULT_RANDOM_SEED = 20_240_501;
/** Products per round trip: large enough to amortise the round trip, small enough to stay light on memory. */
const BATCH_SIZE = 2_500;
type EavType = Exclude<BackendType, 'static'>;
const eavTypes: readonly EavType[] = ['varchar', 'int', 'decimal', 'text', 'datetime'];
const analysedTables = [
  'catalog_product_entity',
  ...eavTypes.map((type) => `catalog_product_entity_${type}`),
  'catalog_product_entity_tier_price',
  'catalog_category_entity',
  'catalog_category_product',
  'cataloginventory_stock_item',
  'eav_attribute',
];

/**
 * Writes the reference data and a deterministic catalog into an empty legacy database.
 * Everything happens in one transaction under an advisory lock: a crash leaves no half catalog,
 * and two starters cannot seed twice. When the catalog already has products, nothing is written
 * and `seeded` is false, so every start of the stack may call it.
 *
 * Speed: rows go in as multi-row `INSERT ... SELECT FROM unnest($1::int[], ...)`, one statement
 * per table per batch of products, never one row at a time (100,000 products ≈ 2 million rows).
 */
export async function seedLegacy(databaseUrl: string, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const log = options.logger.child({ component: 'legacy-seed' });
  if (!Number.isInteger(options.products) || options.products < 0) {
    throw new RangeError(`products must be a whole number of at least 0, got ${options.products}`);
  }
  const randomSeed = options.randomSeed ?? DEFAULT_RANDOM_SEED;
  const now = options.now ?? new Date();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['strangler legacy seed']);
    const existing = await client.query('SELECT 1 FROM catalog_product_entity LIMIT 1');
    if (existing.rowCount) {
      await client.query('ROLLBACK');
      log.info('the legacy catalog has products already; not seeding');
      return { seeded: false, products: 0, ms: Math.round(performance.now() - started) };
    }
    const skippingTriggers = await skipForeignKeyTriggers(client);
    log.debug({ skippingTriggers }, 'foreign-key triggers for the seed transaction');
    await writeReferenceData(client);
    await writeDemoCustomers(client);
    const categoryIds = await writeCategories(client, now);
    const context = await generatorContext(client, now);
    const attributes = await attributeIds(client);

    const random = createSeededRandom(randomSeed);
    for (let first = 1; first <= options.products; first += BATCH_SIZE) {
      const last = Math.min(options.products, first + BATCH_SIZE - 1);
      const batch: GeneratedProduct[] = [];
      for (let index = first; index <= last; index += 1) batch.push(generateProduct(random, index, context));
      await writeBatch(client, batch, attributes, categoryIds);
      log.debug({ written: last, of: options.products }, 'seed progress');
    }
    // The bulk rows are in; back to checked writes (COMMIT would end the SET LOCAL anyway).
    if (skippingTriggers) await client.query("SET LOCAL session_replication_role = 'origin'");
    await client.query(
      `UPDATE catalog_category_entity c SET children_count = (SELECT count(*) FROM catalog_category_entity d WHERE d.path LIKE c.path || '/%')`,
    );
    // The seed's record: whoever wonders where this catalog came from finds it on the table
    // (only the table's owner may comment on it; another role seeds without the record).
    await optionally(
      client,
      `COMMENT ON TABLE catalog_product_entity IS ${pg.escapeLiteral(
        `seeded by strangler: ${options.products} products, random seed ${randomSeed}, now ${formatMagentoDate(now)}`,
      )}`,
    );
    await client.query('COMMIT');
    // Fresh statistics for the planner: right after a bulk load autovacuum has not looked at the
    // tables yet, and a search planned on empty-table estimates can take seconds instead of ms.
    // (A role that does not own the tables gets a warning and the autovacuum's later statistics.)
    await client.query(`ANALYZE ${analysedTables.join(', ')}`);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
  const ms = Math.round(performance.now() - started);
  log.info({ products: options.products, randomSeed, ms }, 'seeded the legacy catalog');
  return { seeded: true, products: options.products, ms };
}

/**
 * Every id the seed writes into a foreign key is one it has just read back from the same
 * transaction (RETURNING, the attribute dictionary, store 0), so the per-row foreign-key
 * triggers only re-check what is true by construction, and they cost: 100,000 value rows took
 * 2.7 s with them and 0.56 s without on the embedded server. pg_dump --disable-triggers does the
 * same for a data-only restore: `session_replication_role = replica` for this transaction only
 * (SET LOCAL). It needs a superuser (or, since PostgreSQL 15, GRANT SET ON PARAMETER); without
 * that right the seed runs with the triggers, slower. Logical decoding is not affected: every row
 * still reaches the WAL and the CDC stream. seed.test.ts checks that no row is orphaned.
 */
async function skipForeignKeyTriggers(client: pg.ClientBase): Promise<boolean> {
  return optionally(client, "SET LOCAL session_replication_role = 'replica'");
}

/** Runs a statement the role may lack the right for, without aborting the transaction when it does. */
async function optionally(client: pg.ClientBase, sql: string): Promise<boolean> {
  await client.query('SAVEPOINT optional_statement');
  try {
    await client.query(sql);
    await client.query('RELEASE SAVEPOINT optional_statement');
    return true;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT optional_statement');
    return false;
  }
}

async function writeDemoCustomers(client: pg.ClientBase): Promise<void> {
  for (const customer of demoCustomers) {
    await client.query(
      `INSERT INTO customer_entity (website_id, email, group_id, firstname, lastname, password_hash)
       VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING`,
      [customer.email, customer.group_id, customer.firstname, customer.lastname, await hashPassword(DEMO_PASSWORD)],
    );
  }
}

/** Writes the category tree (Magento's path `1/2/5`, level, position) and answers key → entity_id. */
async function writeCategories(client: pg.ClientBase, now: Date): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const paths = new Map<string, string>();
  const levels = new Map<string, number>();
  const positions = new Map<string, number>();
  const timestamp = formatMagentoDate(now);
  for (const node of categoryTree) {
    const parentId = node.parent ? ids.get(node.parent)! : 0;
    const level = node.parent ? levels.get(node.parent)! + 1 : 0;
    const siblings = positions.get(node.parent ?? '') ?? 0;
    positions.set(node.parent ?? '', siblings + 1);
    const { rows } = await client.query<{ entity_id: number }>(
      `INSERT INTO catalog_category_entity (parent_id, name, url_key, is_active, level, position, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING entity_id`,
      [parentId, node.name, node.urlKey, node.isActive === false ? 0 : 1, level, siblings + 1, timestamp],
    );
    const id = rows[0]!.entity_id;
    const path = node.parent ? `${paths.get(node.parent)!}/${id}` : String(id);
    await client.query('UPDATE catalog_category_entity SET path = $1 WHERE entity_id = $2', [path, id]);
    ids.set(node.key, id);
    paths.set(node.key, path);
    levels.set(node.key, level);
  }
  return ids;
}

async function generatorContext(client: pg.ClientBase, now: Date): Promise<GeneratorContext> {
  const { rows } = await client.query<{ attribute_code: string; option_ids: number[] }>(
    `SELECT a.attribute_code, array_agg(o.option_id ORDER BY o.sort_order, o.option_id) AS option_ids
       FROM eav_attribute a JOIN eav_attribute_option o USING (attribute_id)
      WHERE a.entity_type_id = 4 AND a.attribute_code IN ('color', 'size')
      GROUP BY a.attribute_code`,
  );
  const options = Object.fromEntries(rows.map((row) => [row.attribute_code, row.option_ids]));
  return { now, optionIds: { color: options.color ?? [], size: options.size ?? [] } };
}

async function attributeIds(client: pg.ClientBase): Promise<Map<string, { id: number; type: EavType }>> {
  const { rows } = await client.query<{ attribute_id: number; attribute_code: string; backend_type: BackendType }>(
    "SELECT attribute_id, attribute_code, backend_type FROM eav_attribute WHERE entity_type_id = 4 AND backend_type <> 'static'",
  );
  return new Map(rows.map((row) => [row.attribute_code, { id: row.attribute_id, type: row.backend_type as EavType }]));
}

async function writeBatch(
  client: pg.ClientBase,
  batch: readonly GeneratedProduct[],
  attributes: Map<string, { id: number; type: EavType }>,
  categoryIds: Map<string, number>,
): Promise<void> {
  const { rows } = await client.query<{ entity_id: number; sku: string }>(
    `INSERT INTO catalog_product_entity (sku, type_id, attribute_set_id, created_at, updated_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamp[], $5::timestamp[])
     RETURNING entity_id, sku`,
    [
      batch.map((p) => p.sku),
      batch.map((p) => p.typeId),
      batch.map((p) => p.attributeSetId),
      batch.map((p) => p.createdAt),
      batch.map((p) => p.updatedAt),
    ],
  );
  const entityIds = new Map(rows.map((row) => [row.sku, row.entity_id]));

  const values = new Map(eavTypes.map((type) => [type, { entity: [] as number[], attribute: [] as number[], value: [] as string[] }]));
  const tiers = { entity: [] as number[], allGroups: [] as number[], group: [] as number[], qty: [] as string[], value: [] as string[], percentage: [] as (string | null)[] };
  const links = { category: [] as number[], product: [] as number[], position: [] as number[] };
  const stock = { product: [] as number[], qty: [] as string[], inStock: [] as number[] };
  for (const product of batch) {
    const entityId = entityIds.get(product.sku)!;
    for (const [code, value] of product.values) {
      const attribute = attributes.get(code);
      if (!attribute) throw new Error(`the seed writes attribute "${code}", which the reference data does not define`);
      const columns = values.get(attribute.type)!;
      columns.entity.push(entityId);
      columns.attribute.push(attribute.id);
      columns.value.push(value);
    }
    for (const tier of product.tierPrices) {
      tiers.entity.push(entityId);
      tiers.allGroups.push(tier.allGroups);
      tiers.group.push(tier.customerGroupId);
      tiers.qty.push(tier.qty);
      tiers.value.push(tier.value);
      tiers.percentage.push(tier.percentageValue);
    }
    for (const link of product.categories) {
      links.category.push(categoryIds.get(link.key)!);
      links.product.push(entityId);
      links.position.push(link.position);
    }
    stock.product.push(entityId);
    stock.qty.push(product.stock.qty);
    stock.inStock.push(product.stock.isInStock);
  }

  for (const [type, columns] of values) {
    if (columns.entity.length === 0) continue;
    const sqlType = { varchar: 'varchar', int: 'int', decimal: 'numeric', text: 'text', datetime: 'timestamp' }[type];
    await client.query(
      `INSERT INTO catalog_product_entity_${type} (entity_id, attribute_id, store_id, value)
       SELECT e, a, 0, v FROM unnest($1::int[], $2::int[], $3::${sqlType}[]) AS u(e, a, v)`,
      [columns.entity, columns.attribute, columns.value],
    );
  }
  if (tiers.entity.length > 0) {
    await client.query(
      `INSERT INTO catalog_product_entity_tier_price (entity_id, all_groups, customer_group_id, qty, value, percentage_value, website_id)
       SELECT e, a, g, q, v, p, 0 FROM unnest($1::int[], $2::int[], $3::int[], $4::numeric[], $5::numeric[], $6::numeric[]) AS u(e, a, g, q, v, p)`,
      [tiers.entity, tiers.allGroups, tiers.group, tiers.qty, tiers.value, tiers.percentage],
    );
  }
  await client.query(
    `INSERT INTO catalog_category_product (category_id, product_id, position)
     SELECT * FROM unnest($1::int[], $2::int[], $3::int[])`,
    [links.category, links.product, links.position],
  );
  await client.query(
    `INSERT INTO cataloginventory_stock_item (product_id, stock_id, qty, is_in_stock)
     SELECT p, 1, q, s FROM unnest($1::int[], $2::numeric[], $3::int[]) AS u(p, q, s)`,
    [stock.product, stock.qty, stock.inStock],
  );
}
