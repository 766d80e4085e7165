import type pg from 'pg';
import { MagentoErrors } from '../api/magento-error.ts';
import { cachedAttributeDictionary, type AttributeDictionary } from './attribute-dictionary.ts';
import type { MagentoProduct } from './magento-product.ts';
import type { ProductInput } from './product-input.ts';
import { buildProductQuery } from './product-query.ts';
import { readProducts } from './product-reader.ts';
import { deleteProduct, writeProduct, type SaveMode } from './product-writer.ts';
import type { SearchCriteria } from './search-criteria.ts';
import { inTransaction } from '../../platform/transaction.ts';

export interface ProductRepository {
  get(sku: string): Promise<MagentoProduct>;
  search(criteria: SearchCriteria): Promise<{ items: MagentoProduct[]; totalCount: number }>;
  /** Writes in one transaction and answers the product as `get` would, read in that transaction. */
  save(input: ProductInput, options: { mode: SaveMode; sku: string }): Promise<MagentoProduct>;
  delete(sku: string): Promise<void>;
}

/**
 * The legacy catalog as Magento's ProductRepositoryInterface: products in their REST shape, read
 * from and written to the EAV tables. Throws MagentoError for what a client did wrong.
 */
export function createProductRepository(deps: { pool: pg.Pool; clock: () => Date }): ProductRepository {
  const dictionary = cachedAttributeDictionary(deps.pool);

  // Reads that take several statements run in one REPEATABLE READ snapshot, so a page and its
  // total_count, or a product and its prices, never straddle a concurrent write.
  async function inSnapshot<T>(work: (client: pg.PoolClient, attributes: AttributeDictionary) => Promise<T>): Promise<T> {
    const attributes = await dictionary();
    const client = await deps.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await work(client, attributes);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  return {
    get: (sku) =>
      inSnapshot(async (client, attributes) => {
        const { rows } = await client.query<{ entity_id: number }>('SELECT entity_id FROM catalog_product_entity WHERE sku = $1', [sku]);
        const id = rows[0]?.entity_id;
        const [product] = id === undefined ? [] : await readProducts(client, [id], attributes);
        if (!product) throw MagentoErrors.productNotFound();
        return product;
      }),

    search: (criteria) =>
      inSnapshot(async (client, attributes) => {
        const query = buildProductQuery(criteria, attributes);
        const count = await client.query<{ total: number }>(query.countSql, query.countParams);
        const page = await client.query<{ entity_id: number }>(query.pageSql, query.pageParams);
        const items = await readProducts(client, page.rows.map((row) => row.entity_id), attributes);
        return { items, totalCount: count.rows[0]?.total ?? 0 };
      }),

    save: async (input, options) => {
      const attributes = await dictionary();
      return inTransaction(deps.pool, async (client) => {
        const id = await writeProduct(client, input, { ...options, now: deps.clock(), dictionary: attributes });
        const [product] = await readProducts(client, [id], attributes);
        return product!;
      });
    },

    delete: (sku) =>
      inTransaction(deps.pool, async (client) => {
        if (!(await deleteProduct(client, sku))) throw MagentoErrors.productNotFound();
      }),
  };
}
