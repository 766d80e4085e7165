import type pg from 'pg';
import type { CatalogQuery } from '../../domain/catalog-query.ts';
import type { ProductDocument, ProductRemoval } from '../../domain/product-document.ts';
import {
  PRICE_RANGES,
  priceRangeKey,
  type CatalogPage,
  type FacetBucket,
  type FullTextRequest,
  type FullTextResult,
  type ProductStore,
  type StoredProduct,
  type WriteOutcome,
} from '../product-store.ts';
import { buildCatalogSql, ITEM_SEPARATOR } from './catalog-sql.ts';
import { CountCache, type CachedCount } from './count-cache.ts';

const MAX_NAMED_SHAPES = 200;

/**
 * Documents in the PIM's own PostgreSQL database (pim_document, schema/002-postgres-documents.sql):
 * the legacy JSON as `json` (key order kept), filter columns with expression indexes, a
 * generated tsvector for full-text search. The LSN rule is in the upsert's WHERE clause and the
 * tombstones, so it holds however writes are ordered or repeated.
 */
export class PostgresProductStore implements ProductStore {
  readonly kind = 'postgres' as const;

  /** total_count of recent searchCriteria queries, valid while the documents do not change. */
  readonly counts: CountCache;
  private readonly shapes = new Map<string, string>();

  constructor(
    private readonly pool: pg.Pool,
    options: { countCacheEntries?: number } = {},
  ) {
    this.counts = new CountCache(options.countCacheEntries);
  }

  async init(): Promise<void> {
    // The tables come with the PIM's migrations (schema/); check they are there.
    await this.pool.query('SELECT 1 FROM pim_document LIMIT 0');
  }

  async upsert(documents: readonly ProductDocument[]): Promise<WriteOutcome> {
    if (documents.length === 0) return { applied: 0, stale: 0 };
    const rows = documents.map((doc) => ({
      entity_id: doc.entityId,
      sku: doc.sku,
      lsn: doc.version.toString(),
      type_id: doc.typeId,
      attribute_set_id: doc.attributeSetId,
      has_options: doc.hasOptions,
      required_options: doc.requiredOptions,
      created_at: doc.createdAt,
      updated_at: doc.updatedAt,
      fields: doc.fields,
      texts: doc.texts,
      category_ids: doc.categoryIds,
      facets: doc.facets,
      store_values: doc.storeValues,
      product: JSON.stringify(doc.product),
      search_text: doc.searchText,
    }));
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const columns = `entity_id, sku, lsn, type_id, attribute_set_id, has_options, required_options, created_at, updated_at,
                       fields, texts, category_ids, facets, store_values, product, search_text`;
      const written = await client.query<{ entity_id: number; category_ids: number[]; categories_changed: boolean }>(
        `WITH x AS MATERIALIZED (
           SELECT x.entity_id, x.sku, x.lsn, x.type_id, x.attribute_set_id, x.has_options, x.required_options, x.created_at, x.updated_at,
                  x.fields, x.texts, x.category_ids, x.facets, x.store_values, x.product::json AS product, x.search_text
             FROM jsonb_to_recordset($1::jsonb) AS x(entity_id int, sku text, lsn bigint, type_id text, attribute_set_id int, has_options int,
                  required_options int, created_at text, updated_at text, fields jsonb, texts jsonb, category_ids int[], facets jsonb, store_values jsonb,
                  product text, search_text text)),
         old AS MATERIALIZED (SELECT d.entity_id, d.category_ids, d.search_text FROM pim_document d JOIN x USING (entity_id)),
         -- The search text is unchanged (a price, a stock level): it stays out of the SET list, so
         -- PostgreSQL does not compute the generated tsvector again (~0.1–0.3 ms per document).
         kept AS (
           UPDATE pim_document d SET
                  sku = x.sku, lsn = x.lsn, type_id = x.type_id, attribute_set_id = x.attribute_set_id, has_options = x.has_options,
                  required_options = x.required_options, created_at = x.created_at, updated_at = x.updated_at, fields = x.fields, texts = x.texts,
                  category_ids = x.category_ids, facets = x.facets, store_values = x.store_values, product = x.product
             FROM x
            -- Equal versions are allowed: several changes of one transaction share its commit LSN.
            WHERE d.entity_id = x.entity_id AND d.lsn <= x.lsn AND d.search_text = x.search_text
           RETURNING d.entity_id, d.category_ids),
         inserted AS (
           INSERT INTO pim_document AS d (${columns})
           SELECT ${columns} FROM x
            WHERE NOT EXISTS (SELECT 1 FROM old o WHERE o.entity_id = x.entity_id AND o.search_text = x.search_text)
              AND NOT EXISTS (SELECT 1 FROM pim_document_tombstone t WHERE t.entity_id = x.entity_id AND t.lsn >= x.lsn)
           ON CONFLICT (entity_id) DO UPDATE SET
                  sku = EXCLUDED.sku, lsn = EXCLUDED.lsn, type_id = EXCLUDED.type_id, attribute_set_id = EXCLUDED.attribute_set_id,
                  has_options = EXCLUDED.has_options, required_options = EXCLUDED.required_options, created_at = EXCLUDED.created_at,
                  updated_at = EXCLUDED.updated_at, fields = EXCLUDED.fields, texts = EXCLUDED.texts, category_ids = EXCLUDED.category_ids, facets = EXCLUDED.facets,
                  store_values = EXCLUDED.store_values, product = EXCLUDED.product, search_text = EXCLUDED.search_text
            WHERE d.lsn <= EXCLUDED.lsn
           RETURNING d.entity_id, d.category_ids)
         SELECT w.entity_id, w.category_ids, o.category_ids IS DISTINCT FROM w.category_ids AS categories_changed
           FROM (SELECT * FROM kept UNION ALL SELECT * FROM inserted) w LEFT JOIN old o USING (entity_id)`,
        [JSON.stringify(rows)],
      );
      // The membership rows follow the documents that were written (not the stale ones), when their categories changed.
      const moved = written.rows.filter((row) => row.categories_changed);
      const ids = moved.map((row) => row.entity_id);
      if (ids.length > 0) {
        await client.query('DELETE FROM pim_document_category WHERE entity_id = ANY($1::int[])', [ids]);
        await client.query(
          `INSERT INTO pim_document_category (category_id, entity_id)
           SELECT DISTINCT unnest(x.category_ids), x.entity_id FROM jsonb_to_recordset($1::jsonb) AS x(entity_id int, category_ids int[])`,
          [JSON.stringify(moved.map((row) => ({ entity_id: row.entity_id, category_ids: row.category_ids })))],
        );
      }
      await client.query('COMMIT');
      const applied = written.rows.length;
      return { applied, stale: documents.length - applied };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async remove(removals: readonly ProductRemoval[]): Promise<WriteOutcome> {
    if (removals.length === 0) return { applied: 0, stale: 0 };
    const rows = JSON.stringify(removals.map((r) => ({ entity_id: r.entityId, lsn: r.version.toString() })));
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const deleted = await client.query<{ entity_id: number }>(
        `DELETE FROM pim_document d USING jsonb_to_recordset($1::jsonb) AS x(entity_id int, lsn bigint)
          WHERE d.entity_id = x.entity_id AND d.lsn <= x.lsn RETURNING d.entity_id`,
        [rows],
      );
      await client.query('DELETE FROM pim_document_category WHERE entity_id = ANY($1::int[])', [deleted.rows.map((row) => row.entity_id)]);
      const tombstones = await client.query(
        `INSERT INTO pim_document_tombstone AS t (entity_id, lsn)
         SELECT x.entity_id, x.lsn FROM jsonb_to_recordset($1::jsonb) AS x(entity_id int, lsn bigint)
          WHERE NOT EXISTS (SELECT 1 FROM pim_document d WHERE d.entity_id = x.entity_id AND d.lsn > x.lsn)
         ON CONFLICT (entity_id) DO UPDATE SET lsn = EXCLUDED.lsn WHERE t.lsn < EXCLUDED.lsn`,
        [rows],
      );
      await client.query('COMMIT');
      void tombstones;
      const applied = deleted.rowCount ?? 0;
      // A removal of a product we never had is not stale; one refused by a newer document is.
      const refused = await this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pim_document d JOIN jsonb_to_recordset($1::jsonb) AS x(entity_id int, lsn bigint)
           ON d.entity_id = x.entity_id AND d.lsn > x.lsn`,
        [rows],
      );
      return { applied, stale: refused.rows[0]?.n ?? 0 };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async getBySku(sku: string): Promise<StoredProduct | null> {
    // Named: each pooled connection parses and plans it once, not on every product page view.
    const { rows } = await this.pool.query<{ product: string; lsn: string }>({
      name: 'pim-get-by-sku',
      text: 'SELECT product::text AS product, lsn::text AS lsn FROM pim_document WHERE sku = $1 ORDER BY entity_id LIMIT 1',
      values: [sku],
    });
    const row = rows[0];
    return row ? { json: row.product, version: BigInt(row.lsn) } : null;
  }

  async search(query: CatalogQuery): Promise<CatalogPage> {
    let known: CachedCount | undefined;
    const { sql, params, countKey } = buildCatalogSql(query, (key) => (known = this.counts.lookup(key))?.version ?? null);
    const { rows } = await this.pool.query<{ version: string; total: number | null; items: string | null }>({ name: this.statementName(sql), text: sql, values: params });
    const row = rows[0];
    if (!row) throw new Error('pim_document_version has no row: the PIM schema is not migrated (schema/005-document-version.sql)');
    let totalCount: number;
    if (row.total === null && known?.version === row.version) {
      totalCount = known.total;
      this.counts.reused();
    } else {
      totalCount = row.total ?? 0;
      this.counts.remember(countKey, { version: row.version, total: totalCount });
    }
    return { totalCount, items: row.items === null ? [] : row.items.split(ITEM_SEPARATOR) };
  }

  /**
   * A name per query shape (the values are parameters), so each pooled connection parses a
   * shape once and PostgreSQL may keep its plan — planning over pim_document's many indexes costs
   * about as much as reading a cached-count page. Bounded: shapes past the first MAX_NAMED_SHAPES
   * (a client inventing filter combinations) stay unnamed, so no connection collects them forever.
   */
  private statementName(sql: string): string | undefined {
    let name = this.shapes.get(sql);
    if (name === undefined && this.shapes.size < MAX_NAMED_SHAPES) {
      name = `pim-search-${this.shapes.size + 1}`;
      this.shapes.set(sql, name);
    }
    return name;
  }

  async fullText(request: FullTextRequest): Promise<FullTextResult> {
    const params: unknown[] = [request.q];
    const bind = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const conditions = ["($1 = '' OR d.search @@ websearch_to_tsquery('english', $1))"];
    if (request.categoryId !== undefined) conditions.push(`d.category_ids @> ARRAY[${bind(request.categoryId)}::int]`);
    if (request.color !== undefined) conditions.push(`lower(d.facets->>'color') = lower(${bind(request.color)})`);
    if (request.size !== undefined) conditions.push(`lower(d.facets->>'size') = lower(${bind(request.size)})`);
    if (request.priceFrom !== undefined) conditions.push(`(d.facets->>'price')::numeric >= ${bind(request.priceFrom)}`);
    if (request.priceTo !== undefined) conditions.push(`(d.facets->>'price')::numeric < ${bind(request.priceTo)}`);
    const where = conditions.join(' AND ');
    const ranges = PRICE_RANGES.map(
      (range) => `count(*) FILTER (WHERE (facets->>'price')::numeric >= ${range.from}${range.to === null ? '' : ` AND (facets->>'price')::numeric < ${range.to}`})`,
    );
    const offset = (request.page - 1) * request.pageSize;
    const { rows } = await this.pool.query<{
      total: number;
      items: Array<{ product: FullTextResult['items'][number]['product']; score: number; name_hl: string | null; description_hl: string | null }> | null;
      categories: Array<{ id: number; name: string; count: number }> | null;
      colors: Array<{ value: string; count: number }> | null;
      sizes: Array<{ value: string; count: number }> | null;
      prices: number[];
    }>(
      `WITH matched AS (
         SELECT d.entity_id, d.product, d.facets, d.fields, d.texts, d.category_ids,
                CASE WHEN $1 = '' THEN 0 ELSE ts_rank(d.search, websearch_to_tsquery('english', $1)) END AS score
           FROM pim_document d WHERE ${where}
       ), page AS (
         SELECT * FROM matched ORDER BY score DESC, entity_id ASC LIMIT ${request.pageSize} OFFSET ${offset}
       )
       SELECT (SELECT count(*)::int FROM matched) AS total,
              (SELECT json_agg(json_build_object(
                  'product', p.product, 'score', p.score,
                  'name_hl', CASE WHEN $1 = '' THEN NULL ELSE ts_headline('english', coalesce(p.fields->>'name', ''), websearch_to_tsquery('english', $1), 'StartSel=<em>, StopSel=</em>, HighlightAll=true') END,
                  'description_hl', CASE WHEN $1 = '' THEN NULL ELSE ts_headline('english', coalesce(p.texts->>'description', ''), websearch_to_tsquery('english', $1), 'StartSel=<em>, StopSel=</em>, MaxFragments=2, MaxWords=20, MinWords=5') END
                ) ORDER BY p.score DESC, p.entity_id ASC) FROM page p) AS items,
              (SELECT json_agg(json_build_object('id', c.id, 'name', c.name, 'count', c.n) ORDER BY c.n DESC, c.id)
                 FROM (SELECT (cat->>'id')::int AS id, cat->>'name' AS name, count(*)::int AS n
                         FROM matched, jsonb_array_elements(facets->'categories') cat GROUP BY 1, 2) c) AS categories,
              (SELECT json_agg(json_build_object('value', v.value, 'count', v.n) ORDER BY v.n DESC, v.value)
                 FROM (SELECT facets->>'color' AS value, count(*)::int AS n FROM matched WHERE facets->>'color' IS NOT NULL GROUP BY 1) v) AS colors,
              (SELECT json_agg(json_build_object('value', v.value, 'count', v.n) ORDER BY v.n DESC, v.value)
                 FROM (SELECT facets->>'size' AS value, count(*)::int AS n FROM matched WHERE facets->>'size' IS NOT NULL GROUP BY 1) v) AS sizes,
              (SELECT ARRAY[${ranges.join(', ')}]::int[] FROM matched) AS prices`,
      params,
    );
    const row = rows[0]!;
    const words = request.q.trim() !== '';
    return {
      total: row.total,
      items: (row.items ?? []).map((item) => {
        const highlights: Record<string, string[]> = {};
        if (words && item.name_hl?.includes('<em>')) highlights.name = [item.name_hl];
        if (words && item.description_hl?.includes('<em>')) highlights.description = [item.description_hl];
        return {
          sku: item.product.sku,
          name: item.product.name ?? null,
          price: item.product.price ?? null,
          score: item.score,
          highlights,
          product: item.product,
        };
      }),
      facets: {
        category: (row.categories ?? []).map((c): FacetBucket => ({ value: String(c.id), label: c.name, count: c.count })),
        color: (row.colors ?? []).map((c): FacetBucket => ({ value: c.value, label: c.value, count: c.count })),
        size: (row.sizes ?? []).map((c): FacetBucket => ({ value: c.value, label: c.value, count: c.count })),
        price: PRICE_RANGES.map((range, i): FacetBucket => ({
          value: priceRangeKey(range),
          label: range.to === null ? `${range.from} and above` : `${range.from} – ${range.to}`,
          count: row.prices[i] ?? 0,
        })).filter((bucket) => bucket.count > 0),
      },
    };
  }

  async close(): Promise<void> {
    // The pool belongs to main.ts.
  }
}
