import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { MagentoErrors } from '../../../legacy-stub/api/magento-error.ts';
import { echoSearchCriteria, parseSearchCriteria } from '../../../legacy-stub/catalog/search-criteria.ts';
import type { CatalogDictionary } from '../domain/catalog-dictionary.ts';
import { resolveCatalogQuery } from '../domain/catalog-query.ts';
import type { PimMetrics } from '../metrics.ts';
import type { ProductStore } from '../store/product-store.ts';
import type { Freshness } from '../sync/freshness.ts';
import { ListingResponseCache } from './listing-response-cache.ts';
import type { ProductAnswer, ProductResponseCache } from './product-response-cache.ts';

export interface ProductReadsDeps {
  store: ProductStore;
  dictionary: () => Promise<CatalogDictionary>;
  freshness: Freshness;
  metrics: PimMetrics;
  /** Answers of get-by-sku kept between document writes (product-response-cache.ts); none: every read asks the store. */
  productCache?: ProductResponseCache;
  /**
   * Answers of searchCriteria listings kept while no document changes (listing-response-cache.ts).
   * By default one follows `productCache`'s write generation; none without `productCache` (no
   * writes are observed then) or when false: every listing asks the store.
   */
  listingCache?: ListingResponseCache | false;
}

/** Takes the request and returns true, or returns false without touching it (then express answers it). */
export type ProductReads = (req: IncomingMessage, res: ServerResponse) => boolean;

const SEARCH_PATH = '/rest/V1/products';
const PRODUCT_PREFIX = '/rest/V1/products/';

/**
 * Accept-Encoding values as browsers and HTTP clients send them, and the coding express's
 * compression (1.8) picks for each: br before gzip when both are accepted, at brotli quality 4.
 * A request with any other value (weights, other orders) is negotiated by express itself.
 */
const CONTENT_CODINGS: ReadonlyMap<string, 'br' | 'gzip'> = new Map([
  ['gzip, deflate, br, zstd', 'br'], // current Chrome, Edge, Firefox
  ['gzip, deflate, br', 'br'], // Safari, older browsers
  ['br', 'br'],
  ['gzip, deflate', 'gzip'], // Node's fetch, many HTTP libraries
  ['gzip', 'gzip'],
]);
/** compression's default threshold: smaller bodies are sent as they are (with Vary all the same). */
const COMPRESSION_THRESHOLD = 1024;
const BROTLI_OPTIONS = { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } };

/**
 * The storefront's two reads — `GET /rest/V1/products/:sku` and `GET /rest/V1/products?searchCriteria…`
 * — answered on node:http, before express. Why: express 5's per-request machinery (prototype
 * swaps, router, compression's wrappers, res.send) cost ≈0.5 ms of CPU per request on this
 * machine, several times the store's read; at ten concurrent clients on two cores that queueing
 * alone broke the get-by-sku p99 target (5 ms).
 *
 * The answer is the one express gives (products-router.ts), byte for byte and header for header:
 * the same body, `X-Data-Lsn`, `Content-Type: application/json; charset=utf-8`, `Content-Length`,
 * and `Vary: Accept-Encoding` (compression adds it to every JSON answer). Without
 * `Accept-Encoding` the answer is sent as it is (compression's default is identity); a product
 * for a client whose `Accept-Encoding` is one of CONTENT_CODINGS is sent compressed as express
 * would (`Content-Encoding`, chunked), from bytes compressed once per cached answer. A listing
 * for a compressing client, any other `Accept-Encoding`, any other method or spelling of the path (express matches them
 * case-insensitively and with a trailing slash), an undecodable sku, and every error other than
 * "no such sku" go to express, which answers them as before — the request is untouched until an
 * answer is ready, so express can start from scratch.
 *
 * A product's answer comes from `productCache` when it holds it (no PostgreSQL round trip, no
 * encoding), else from the store, and is kept for the next read (product-response-cache.ts says
 * how a document write drops it).
 */
export function createProductReads(deps: ProductReadsDeps, express: (req: IncomingMessage, res: ServerResponse) => void): ProductReads {
  const productSeconds = deps.metrics.requestSeconds.labels({ route: '/rest/V1/products/:sku', status: '200' });
  const searchSeconds = deps.metrics.requestSeconds.labels({ route: SEARCH_PATH, status: '200' });
  const notFoundBody = JSON.stringify(MagentoErrors.productNotFound().toBody());
  const productCache = deps.productCache;
  const listingCache =
    deps.listingCache === false ? undefined : (deps.listingCache ?? (productCache ? new ListingResponseCache({ generation: () => productCache.generation }) : undefined));
  /** The headers of every JSON answer, as express and its compression write them. */
  const jsonHeaders = () => ({ 'X-Data-Lsn': deps.freshness.appliedLsn() ?? '0/0', 'Content-Type': 'application/json; charset=utf-8', Vary: 'Accept-Encoding' });
  const send = (res: ServerResponse, status: number, body: string | Buffer) => {
    res.writeHead(status, { ...jsonHeaders(), 'Content-Length': typeof body === 'string' ? Buffer.byteLength(body) : body.length });
    res.end(body);
  };
  const sendProduct = (res: ServerResponse, answer: ProductAnswer, coding: 'br' | 'gzip' | 'identity') => {
    if (coding === 'identity' || answer.body.length < COMPRESSION_THRESHOLD) return send(res, 200, answer.body);
    let encoded = answer.encoded.get(coding);
    if (encoded === undefined) {
      encoded = coding === 'br' ? brotliCompressSync(answer.body, BROTLI_OPTIONS) : gzipSync(answer.body);
      answer.encoded.set(coding, encoded);
    }
    res.writeHead(200, { ...jsonHeaders(), 'Content-Encoding': coding });
    res.end(encoded);
  };

  /** A product's JSON read afresh, for the cache's refresh ahead of an answer's age limit. */
  const readProduct = (sku: string) => deps.store.getBySku(sku).then((stored) => stored?.json ?? null);

  return (req, res) => {
    if (req.method !== 'GET') return false;
    const acceptEncoding = req.headers['accept-encoding'];
    const coding = acceptEncoding === undefined ? 'identity' : CONTENT_CODINGS.get(acceptEncoding);
    if (coding === undefined) return false;
    const url = req.url ?? '';
    if (!url.startsWith(SEARCH_PATH)) return false;
    const mark = url.indexOf('?');
    const path = mark < 0 ? url : url.slice(0, mark);
    const fallBack = () => express(req, res);
    const started = performance.now();

    if (path === SEARCH_PATH) {
      if (coding !== 'identity') return false;
      const query = mark < 0 ? '' : url.slice(mark + 1);
      const kept = listingCache?.get(query);
      if (kept !== undefined) {
        send(res, 200, kept);
        searchSeconds.observe((performance.now() - started) / 1000);
        return true;
      }
      const generation = listingCache?.generation ?? 0;
      const criteria = (() => {
        try {
          return parseSearchCriteria(query);
        } catch {
          return undefined; // a bad query: express answers the legacy's error
        }
      })();
      if (!criteria) return false;
      deps
        .dictionary()
        .then((dictionary) => deps.store.search(resolveCatalogQuery(criteria, dictionary)))
        .then((page) => {
          // Assembled as text: the items are the stored JSON, never parsed and re-serialised.
          const json = `{"items":[${page.items.join(',')}],"search_criteria":${JSON.stringify(echoSearchCriteria(criteria))},"total_count":${page.totalCount}}`;
          send(res, 200, listingCache ? listingCache.fill(query, json, generation) : json);
          searchSeconds.observe((performance.now() - started) / 1000);
        }, fallBack);
      return true;
    }

    const segment = path.slice(PRODUCT_PREFIX.length);
    if (!path.startsWith(PRODUCT_PREFIX) || segment === '' || segment.includes('/')) return false;
    let sku: string;
    try {
      sku = decodeURIComponent(segment);
    } catch {
      return false;
    }
    const cached = productCache?.get(sku, readProduct);
    if (cached !== undefined) {
      sendProduct(res, cached, coding);
      productSeconds.observe((performance.now() - started) / 1000);
      return true;
    }
    const generation = productCache?.generation ?? 0;
    deps.store.getBySku(sku).then((stored) => {
      if (stored) {
        sendProduct(res, productCache ? productCache.fill(sku, stored.json, generation) : { body: Buffer.from(stored.json), encoded: new Map() }, coding);
        productSeconds.observe((performance.now() - started) / 1000);
      } else {
        send(res, 404, notFoundBody);
        deps.metrics.requestSeconds.observe({ route: '/rest/V1/products/:sku', status: '404' }, (performance.now() - started) / 1000);
      }
    }, fallBack);
    return true;
  };
}
