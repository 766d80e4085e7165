import { Client, HttpConnection, errors as esErrors } from '@elastic/elasticsearch';
import type { QueryDslQueryContainer } from '@elastic/elasticsearch/lib/api/types';
import type { Logger } from '../../../../platform/logger.ts';
import type { CatalogQuery } from '../../domain/catalog-query.ts';
import type { ProductDocument, ProductRemoval } from '../../domain/product-document.ts';
import { PimErrors } from '../../errors.ts';
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
import type { MagentoProduct } from '../../../../legacy-stub/catalog/magento-product.ts';
import { buildCatalogSearch } from './catalog-es-query.ts';
import { MAPPING_VERSION, productIndexMappings, productIndexSettings, versionedIndexName } from './index-mapping.ts';

/**
 * The 9.x client announces `compatible-with=9`, which an Elasticsearch 8 server refuses with
 * 400 media_type_header_exception; the client's maintainers advise setting 8.x compatibility
 * headers when creating the client (elastic/elasticsearch-js#2909). Bulk bodies are NDJSON and
 * need the NDJSON flavour of the same header, per request.
 */
export const ES8_JSON = 'application/vnd.elasticsearch+json; compatible-with=8';
export const ES8_NDJSON = 'application/vnd.elasticsearch+x-ndjson; compatible-with=8';

export interface ElasticsearchStoreOptions {
  node: string;
  /** The alias readers and writers use; the index behind it is `<alias>-v<n>`. */
  alias: string;
  logger: Logger;
  /** Retries of a bulk (or of its items) answered 429, before giving up. Default 5. */
  maxBackPressureRetries?: number;
  /** First back-off delay; doubles each retry. Default 200 ms. */
  backoffMs?: number;
  client?: Client;
}

interface BulkItem {
  status: number;
  result?: string;
  error?: { type?: string; reason?: string | null };
}

/**
 * Documents in Elasticsearch. Writes are bulk requests with external versioning: the version is
 * the document's LSN as a 64-bit integer, `version_type=external_gte` — a stale or replayed
 * write (smaller LSN) is refused with 409 version_conflict_engine_exception, counted as stale;
 * an equal LSN is accepted because the changes of one transaction share their commit LSN.
 * 429 es_rejected_execution_exception (the whole request, or single items) is back-pressure:
 * retried with exponential back-off, then surfaced so the CDC consumer retries later.
 */
export class ElasticsearchProductStore implements ProductStore {
  readonly kind = 'elasticsearch' as const;
  private readonly log: Logger;
  private readonly client: Client;

  private constructor(private readonly options: ElasticsearchStoreOptions) {
    this.log = options.logger.child({ component: 'pim-es-store', alias: options.alias });
    this.client = options.client ?? createEs8Client(options.node);
  }

  static connect(options: ElasticsearchStoreOptions): ElasticsearchProductStore {
    return new ElasticsearchProductStore(options);
  }

  get alias(): string {
    return this.options.alias;
  }

  /** Creates the versioned index with its mapping and points the alias at it, unless the alias exists. */
  async init(): Promise<void> {
    const alias = this.options.alias;
    try {
      if (await this.client.indices.existsAlias({ name: alias })) return;
      const index = versionedIndexName(alias);
      await this.createIndex(index);
      await this.client.indices.updateAliases({ actions: [{ add: { index, alias, is_write_index: true } }] });
      this.log.info({ index, mappingVersion: MAPPING_VERSION }, 'created the product index and its alias');
    } catch (error) {
      throw classify(error);
    }
  }

  /** Creates an index with the product mapping; an existing one is kept (idempotent start). */
  async createIndex(index: string): Promise<void> {
    try {
      await this.client.indices.create({ index, settings: productIndexSettings, mappings: productIndexMappings });
    } catch (error) {
      if (error instanceof esErrors.ResponseError && errorType(error) === 'resource_already_exists_exception') return;
      throw error;
    }
  }

  /** Points the alias from one index to another in one atomic `_aliases` call (after a re-index). */
  async swapAlias(from: string, to: string): Promise<void> {
    const alias = this.options.alias;
    await this.client.indices.updateAliases({
      actions: [{ remove: { index: from, alias } }, { add: { index: to, alias, is_write_index: true } }],
    });
    this.log.info({ from, to }, 'swapped the product alias');
  }

  async upsert(documents: readonly ProductDocument[]): Promise<WriteOutcome> {
    const lines = documents.map((doc) => [
      `{"index":{"_index":${JSON.stringify(this.options.alias)},"_id":"${doc.entityId}","version":${doc.version.toString()},"version_type":"external_gte"}}`,
      JSON.stringify(toSource(doc)),
    ]);
    return this.bulk(lines);
  }

  async remove(removals: readonly ProductRemoval[]): Promise<WriteOutcome> {
    const lines = removals.map((removal) => [
      `{"delete":{"_index":${JSON.stringify(this.options.alias)},"_id":"${removal.entityId}","version":${removal.version.toString()},"version_type":"external_gte"}}`,
    ]);
    return this.bulk(lines);
  }

  /** Sends one bulk of actions (each 1–2 NDJSON lines); retries 429s; sorts the outcome per item. */
  private async bulk(actions: string[][]): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { applied: 0, stale: 0 };
    let pending = actions;
    const maxRetries = this.options.maxBackPressureRetries ?? 5;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 0) {
        if (attempt > maxRetries) throw PimErrors.elasticsearchBackPressure(attempt);
        await sleep((this.options.backoffMs ?? 200) * 2 ** (attempt - 1));
      }
      let items: BulkItem[];
      try {
        const body = `${pending.flat().join('\n')}\n`;
        const response = await this.client.bulk({ operations: body as never }, { headers: { 'content-type': ES8_NDJSON } });
        items = response.items.map((item) => Object.values(item)[0] as BulkItem);
      } catch (error) {
        if (error instanceof esErrors.ResponseError && error.statusCode === 429) {
          this.log.warn({ attempt, actions: pending.length }, 'Elasticsearch is rejecting writes (429); backing off');
          continue;
        }
        throw classify(error);
      }
      const retry: string[][] = [];
      for (const [i, item] of items.entries()) {
        if (item.status >= 200 && item.status < 300) outcome.applied += 1;
        else if (item.status === 404 && item.result === 'not_found') continue; // deleting what was never indexed
        else if (item.status === 409 && item.error?.type === 'version_conflict_engine_exception') outcome.stale += 1;
        else if (item.status === 429) retry.push(pending[i]!);
        else throw PimErrors.elasticsearchRejected(`item ${i}: ${item.status} ${item.error?.type ?? ''} ${item.error?.reason ?? ''}`.trim());
      }
      if (retry.length > 0) this.log.warn({ attempt, rejected: retry.length }, 'Elasticsearch rejected bulk items (429); backing off');
      pending = retry;
    }
    return outcome;
  }

  async getBySku(sku: string): Promise<StoredProduct | null> {
    try {
      const response = await this.client.search<{ product_json: string; lsn: number | string }>({
        index: this.options.alias,
        query: { term: { sku } },
        sort: [{ entity_id: { order: 'asc' } }],
        size: 1,
        _source: ['product_json', 'lsn'],
      });
      const hit = response.hits.hits[0];
      if (!hit?._source) return null;
      return { json: hit._source.product_json, version: BigInt(hit._source.lsn) };
    } catch (error) {
      throw classify(error);
    }
  }

  async search(query: CatalogQuery): Promise<CatalogPage> {
    try {
      const response = await this.client.search<{ product_json: string }>({ index: this.options.alias, ...buildCatalogSearch(query) });
      const total = response.hits.total;
      return {
        totalCount: typeof total === 'number' ? total : (total?.value ?? 0),
        items: response.hits.hits.flatMap((hit) => (hit._source ? [hit._source.product_json] : [])),
      };
    } catch (error) {
      throw classify(error);
    }
  }

  async fullText(request: FullTextRequest): Promise<FullTextResult> {
    const filter: QueryDslQueryContainer[] = [];
    if (request.categoryId !== undefined) filter.push({ term: { category_ids: request.categoryId } });
    // Labels keep their case for the facets; the filter ignores it, as the PostgreSQL store's does.
    if (request.color !== undefined) filter.push({ term: { facet_color: { value: request.color, case_insensitive: true } } });
    if (request.size !== undefined) filter.push({ term: { facet_size: { value: request.size, case_insensitive: true } } });
    if (request.priceFrom !== undefined || request.priceTo !== undefined) {
      filter.push({ range: { facet_price: { ...(request.priceFrom === undefined ? {} : { gte: request.priceFrom }), ...(request.priceTo === undefined ? {} : { lt: request.priceTo }) } } });
    }
    const must: QueryDslQueryContainer[] =
      request.q === '' ? [{ match_all: {} }] : [{ multi_match: { query: request.q, fields: ['name^3', 'search_text'], operator: 'and' } }];
    try {
      const response = await this.client.search<{ product_json: string }>({
        index: this.options.alias,
        query: { bool: { must, filter } },
        sort: [{ _score: { order: 'desc' } }, { entity_id: { order: 'asc' } }],
        from: (request.page - 1) * request.pageSize,
        size: request.pageSize,
        track_total_hits: true,
        _source: ['product_json'],
        highlight: { pre_tags: ['<em>'], post_tags: ['</em>'], fields: { name: {}, description: { number_of_fragments: 2 } } },
        aggs: {
          category: { terms: { field: 'facet_category', size: 50 } },
          color: { terms: { field: 'facet_color', size: 50 } },
          size: { terms: { field: 'facet_size', size: 50 } },
          price: { range: { field: 'facet_price', ranges: PRICE_RANGES.map((r) => ({ key: priceRangeKey(r), from: r.from, ...(r.to === null ? {} : { to: r.to }) })) } },
        },
      });
      const total = response.hits.total;
      const aggregations = (response.aggregations ?? {}) as Record<string, { buckets?: Array<{ key: string | number; doc_count: number }> }>;
      const terms = (name: string, label: (key: string) => { value: string; label: string }): FacetBucket[] =>
        (aggregations[name]?.buckets ?? []).filter((b) => b.doc_count > 0).map((b) => ({ ...label(String(b.key)), count: b.doc_count }));
      return {
        total: typeof total === 'number' ? total : (total?.value ?? 0),
        items: response.hits.hits.flatMap((hit) => {
          if (!hit._source) return [];
          const product = JSON.parse(hit._source.product_json) as MagentoProduct;
          return [{ sku: product.sku, name: product.name ?? null, price: product.price ?? null, score: hit._score ?? 0, highlights: hit.highlight ?? {}, product }];
        }),
        facets: {
          category: terms('category', (key) => {
            const [id = key, ...name] = key.split(':');
            return { value: id, label: name.join(':') || id };
          }),
          color: terms('color', (key) => ({ value: key, label: key })),
          size: terms('size', (key) => ({ value: key, label: key })),
          price: terms('price', (key) => {
            const range = PRICE_RANGES.find((r) => priceRangeKey(r) === key);
            return { value: key, label: !range ? key : range.to === null ? `${range.from} and above` : `${range.from} – ${range.to}` };
          }),
        },
      };
    } catch (error) {
      throw classify(error);
    }
  }

  async close(): Promise<void> {
    if (!this.options.client) await this.client.close();
  }
}

export function createEs8Client(node: string): Client {
  return new Client({
    node,
    // node:http rather than the default undici: one code path in production and under the
    // recordings (nock intercepts node:http).
    Connection: HttpConnection,
    headers: { accept: ES8_JSON, 'content-type': ES8_JSON },
    // 429s are retried by the store with back-off; the transport's own retries cover connection errors.
    maxRetries: 2,
    requestTimeout: 10_000,
  });
}

/** The document as it is indexed (see index-mapping.ts). */
export function toSource(doc: ProductDocument): Record<string, unknown> {
  const attrRaw: Record<string, string> = {};
  const attrInt: Record<string, number> = {};
  const attrNum: Record<string, number> = {};
  for (const [code, value] of Object.entries({ ...doc.fields, ...doc.texts })) {
    attrRaw[code] = value;
    if (/^-?\d+$/.test(value)) attrInt[code] = Number(value);
    if (/^-?\d+(\.\d+)?$/.test(value)) attrNum[code] = Number(value);
  }
  return {
    entity_id: doc.entityId,
    sku: doc.sku,
    lsn: doc.version.toString(),
    type_id: doc.typeId,
    attribute_set_id: doc.attributeSetId,
    has_options: doc.hasOptions,
    required_options: doc.requiredOptions,
    created_at: doc.createdAt,
    updated_at: doc.updatedAt,
    attr_raw: attrRaw,
    attr_int: attrInt,
    attr_num: attrNum,
    store_values: Object.fromEntries(Object.entries(doc.storeValues).map(([store, values]) => [store, JSON.stringify(values)])),
    category_ids: doc.categoryIds,
    facet_category: doc.facets.categories.map((c) => `${c.id}:${c.name}`),
    facet_color: doc.facets.color,
    facet_size: doc.facets.size,
    facet_price: doc.facets.price,
    name: doc.fields.name ?? null,
    description: doc.texts.description ?? null,
    search_text: doc.searchText,
    product_json: JSON.stringify(doc.product),
  };
}

function errorType(error: esErrors.ResponseError): string | undefined {
  const body = error.body as { error?: { type?: string } } | undefined;
  return body?.error?.type;
}

function classify(error: unknown): Error {
  if (error instanceof esErrors.ConnectionError || error instanceof esErrors.TimeoutError || error instanceof esErrors.NoLivingConnectionsError) {
    return PimErrors.elasticsearchUnavailable(error);
  }
  if (error instanceof esErrors.ResponseError) {
    if (error.statusCode === 429) return PimErrors.elasticsearchBackPressure(1, error);
    return PimErrors.elasticsearchRejected(`${error.statusCode} ${errorType(error) ?? error.message}`, error);
  }
  return error instanceof Error ? error : new Error(String(error));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
