import type { MagentoProduct } from '../../../legacy-stub/catalog/magento-product.ts';
import type { CatalogQuery } from '../domain/catalog-query.ts';
import type { ProductDocument, ProductRemoval } from '../domain/product-document.ts';

/**
 * Where the PIM keeps its documents: PostgreSQL (store/postgres/, the default) or Elasticsearch
 * (store/elasticsearch/, when ELASTICSEARCH_URL is set). Both keep the LSN rule: a write whose
 * version is below the stored one (or below a delete's) changes nothing and counts as stale.
 */
export interface ProductStore {
  readonly kind: 'postgres' | 'elasticsearch';
  /** Creates what the store needs (tables, index + alias + mapping); idempotent. */
  init(): Promise<void>;
  upsert(documents: readonly ProductDocument[]): Promise<WriteOutcome>;
  remove(removals: readonly ProductRemoval[]): Promise<WriteOutcome>;
  /** The product in the legacy shape, as JSON text, with its version; null when absent. */
  getBySku(sku: string): Promise<StoredProduct | null>;
  /** A searchCriteria page: items in order and the total before paging. */
  search(query: CatalogQuery): Promise<CatalogPage>;
  fullText(request: FullTextRequest): Promise<FullTextResult>;
  close(): Promise<void>;
}

export interface WriteOutcome {
  /** Documents written (or removed). */
  applied: number;
  /** Writes refused because the store holds a newer version (or a newer delete). */
  stale: number;
}

export interface StoredProduct {
  /** The legacy REST JSON, exactly as stored. */
  json: string;
  version: bigint;
}

export interface CatalogPage {
  /** Product JSON texts in page order. */
  items: string[];
  totalCount: number;
}

export interface FullTextRequest {
  /** Words as a user types them (websearch syntax); empty matches every product. */
  q: string;
  categoryId?: number;
  color?: string;
  size?: string;
  priceFrom?: number;
  priceTo?: number;
  page: number;
  pageSize: number;
}

export interface FullTextHit {
  sku: string;
  name: string | null;
  price: number | null;
  score: number;
  /** Fragments with the matched words in <em>…</em>, by field. */
  highlights: Record<string, string[]>;
  product: MagentoProduct;
}

export interface FacetBucket {
  value: string;
  label: string;
  count: number;
}

export interface FullTextResult {
  total: number;
  items: FullTextHit[];
  facets: { category: FacetBucket[]; color: FacetBucket[]; size: FacetBucket[]; price: FacetBucket[] };
}

/** The price ranges of the price facet: [from, to), the last open-ended. */
export const PRICE_RANGES: ReadonlyArray<{ from: number; to: number | null }> = [
  { from: 0, to: 25 },
  { from: 25, to: 50 },
  { from: 50, to: 100 },
  { from: 100, to: 200 },
  { from: 200, to: null },
];

export function priceRangeKey(range: { from: number; to: number | null }): string {
  return `${range.from}-${range.to ?? '*'}`;
}
