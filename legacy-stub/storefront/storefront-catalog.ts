import type pg from 'pg';
import { DEFAULT_STORE_ID } from '../pricing/price-facts-repository.ts';

/**
 * What the storefront's pages read from the EAV catalog: categories, a page of a category's
 * products, a product. Values of the storefront's store view win over the admin values. Only
 * enabled products (status 1) are shown; a listing shows visibility 2 (Catalog) and 4 (Catalog,
 * Search); a product page also opens for 3 (Search), never for 1 (Not Visible Individually).
 */
export interface StorefrontCategory {
  id: number;
  name: string;
  productCount: number;
}

export interface StorefrontProduct {
  id: number;
  sku: string;
  name: string;
  urlKey: string | null;
  description: string | null;
  shortDescription: string | null;
  inStock: boolean;
}

export interface ProductPage {
  items: StorefrontProduct[];
  total: number;
  page: number;
  pageSize: number;
  lastPage: number;
}

export const LISTING_VISIBILITY = [2, 4];
export const PAGE_VISIBILITY = [2, 3, 4];

function attribute(table: 'varchar' | 'int' | 'text', code: string): string {
  return `(SELECT v.value FROM catalog_product_entity_${table} v
            WHERE v.entity_id = p.entity_id AND v.store_id IN (0, ${DEFAULT_STORE_ID})
              AND v.attribute_id = (SELECT attribute_id FROM eav_attribute WHERE entity_type_id = 4 AND attribute_code = '${code}')
            ORDER BY v.store_id DESC LIMIT 1)`;
}

const PRODUCT_COLUMNS = `p.entity_id AS id, p.sku,
  COALESCE(${attribute('varchar', 'name')}, p.sku) AS name,
  ${attribute('varchar', 'url_key')} AS url_key,
  ${attribute('text', 'description')} AS description,
  ${attribute('text', 'short_description')} AS short_description,
  COALESCE((SELECT s.is_in_stock = 1 FROM cataloginventory_stock_item s WHERE s.product_id = p.entity_id), false) AS in_stock`;

const SHOWN = (visibility: number[]) =>
  `COALESCE(${attribute('int', 'status')}, 1) = 1 AND COALESCE(${attribute('int', 'visibility')}, 4) IN (${visibility.join(', ')})`;

interface ProductRow {
  id: number;
  sku: string;
  name: string;
  url_key: string | null;
  description: string | null;
  short_description: string | null;
  in_stock: boolean;
}

function toProduct(row: ProductRow): StorefrontProduct {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    urlKey: row.url_key,
    description: row.description,
    shortDescription: row.short_description,
    inStock: row.in_stock,
  };
}

/** Active categories that hold products, for the home page's navigation. */
export async function listCategories(pool: pg.Pool): Promise<StorefrontCategory[]> {
  const { rows } = await pool.query<{ id: number; name: string; product_count: string }>(
    `SELECT c.entity_id AS id, c.name, count(cp.product_id)::text AS product_count
       FROM catalog_category_entity c JOIN catalog_category_product cp ON cp.category_id = c.entity_id
      WHERE c.is_active = 1
      GROUP BY c.entity_id, c.name, c.level, c.position
      ORDER BY c.level, c.position, c.entity_id`,
  );
  return rows.map((row) => ({ id: row.id, name: row.name, productCount: Number(row.product_count) }));
}

export async function findCategory(pool: pg.Pool, id: number): Promise<{ id: number; name: string } | null> {
  const { rows } = await pool.query<{ id: number; name: string }>('SELECT entity_id AS id, name FROM catalog_category_entity WHERE entity_id = $1 AND is_active = 1', [id]);
  return rows[0] ?? null;
}

/** The first products of the catalog, for the home page. */
export async function featuredProducts(pool: pg.Pool, limit: number): Promise<StorefrontProduct[]> {
  const { rows } = await pool.query<ProductRow>(
    `SELECT ${PRODUCT_COLUMNS} FROM catalog_product_entity p WHERE ${SHOWN(LISTING_VISIBILITY)} ORDER BY p.entity_id LIMIT $1`,
    [limit],
  );
  return rows.map(toProduct);
}

/** One page of a category's listing, in the category's order; a page past the end shows the last page. */
export async function categoryProducts(pool: pg.Pool, categoryId: number, page: number, pageSize: number): Promise<ProductPage> {
  const shown = `FROM catalog_category_product cp JOIN catalog_product_entity p ON p.entity_id = cp.product_id
                 WHERE cp.category_id = $1 AND ${SHOWN(LISTING_VISIBILITY)}`;
  const count = await pool.query<{ total: string }>(`SELECT count(*)::text AS total ${shown}`, [categoryId]);
  const total = Number(count.rows[0]?.total ?? 0);
  const lastPage = Math.max(1, Math.ceil(total / pageSize));
  const current = Math.min(Math.max(1, page), lastPage);
  const { rows } = await pool.query<ProductRow>(
    `SELECT ${PRODUCT_COLUMNS} ${shown} ORDER BY cp.position, p.entity_id LIMIT $2 OFFSET $3`,
    [categoryId, pageSize, (current - 1) * pageSize],
  );
  return { items: rows.map(toProduct), total, page: current, pageSize, lastPage };
}

/** A product whose page may be shown, or null (unknown, disabled or not visible individually). */
export async function findProduct(pool: pg.Pool, id: number): Promise<StorefrontProduct | null> {
  const { rows } = await pool.query<ProductRow>(
    `SELECT ${PRODUCT_COLUMNS} FROM catalog_product_entity p WHERE p.entity_id = $1 AND ${SHOWN(PAGE_VISIBILITY)}`,
    [id],
  );
  return rows[0] ? toProduct(rows[0]) : null;
}
