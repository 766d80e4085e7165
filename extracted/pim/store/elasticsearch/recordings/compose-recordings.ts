// How the recordings in this folder were composed: Elasticsearch 8 response shapes from the
// sources each file names, carrying the contract documents. Run: npx tsx <this file>.
// Not a capture from a live cluster (see README.md); re-record against one when available.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { contractDocuments as docs } from '../../contract-documents.ts';
import type { ProductDocument } from '../../../domain/product-document.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
const ALIAS = 'pim-products';
const INDEX = 'pim-products-v1';
const UUID = 'aAsFqTI0Tc2W0LCWgPNrOA';
const DOCS_BULK = 'Elasticsearch reference, Bulk API (docs/reference/docs/bulk.asciidoc): response shape of items (index/delete/create with _index, _id, _version, result, _shards, _seq_no, _primary_term, status) and of failed items (status + error {type, reason, index_uuid, shard, index}); `_type` dropped as in 8.x.';
const DOCS_CONFLICT = 'Elasticsearch reference, Index API / Optimistic concurrency control: version_conflict_engine_exception, 409, reason "[<id>]: version conflict, current version [N] is higher than the one provided [M]" for version_type=external(_gte).';
const DOCS_SEARCH = 'Elasticsearch reference, Search API (docs/reference/search/search.asciidoc): took, timed_out, _shards, hits.total {value, relation}, hits.max_score, hits.hits[{_index, _id, _score, _source, sort}].';

const shards = { total: 2, successful: 1, failed: 0 };
const indexAction = (doc: ProductDocument) => ({ index: { _index: ALIAS, _id: String(doc.entityId), version: Number(doc.version), version_type: 'external_gte' } });
const sourceSubset = (doc: ProductDocument) => ({ entity_id: doc.entityId, sku: doc.sku, lsn: doc.version.toString(), product_json: JSON.stringify(doc.product) });
const okItem = (doc: { entityId: number; version: bigint }, op: 'index' | 'delete', result: string, status: number, seq: number) => ({
  [op]: { _index: INDEX, _id: String(doc.entityId), _version: Number(doc.version), result, _shards: shards, _seq_no: seq, _primary_term: 1, status },
});
const conflictItem = (id: number, op: 'index' | 'delete', current: bigint, provided: bigint) => ({
  [op]: {
    _index: INDEX,
    _id: String(id),
    status: 409,
    error: {
      type: 'version_conflict_engine_exception',
      reason: `[${id}]: version conflict, current version [${current}] is higher than the one provided [${provided}]`,
      index_uuid: UUID,
      shard: '0',
      index: INDEX,
    },
  },
});
const bulk = (note: string, ndjson: unknown[], items: unknown[], took = 30) => ({
  note,
  request: { method: 'POST', path: '/_bulk', ndjson },
  response: { status: 200, body: { took, errors: items.some((i) => Object.values(i as object)[0].status >= 300), items } },
});
const hit = (doc: ProductDocument, sort?: unknown[]) => ({
  _index: INDEX,
  _id: String(doc.entityId),
  _score: null,
  _source: { product_json: JSON.stringify(doc.product), lsn: doc.version.toString() },
  ...(sort ? { sort } : {}),
});
const searchResponse = (hits: unknown[], total: number) => ({
  status: 200,
  body: { took: 5, timed_out: false, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 }, hits: { total: { value: total, relation: 'eq' }, max_score: null, hits } },
});
const skuSearch = (sku: string, found: ProductDocument | null) => ({
  note: `get by sku ${sku}`,
  request: {
    method: 'POST',
    path: `/${ALIAS}/_search`,
    body: { query: { term: { sku } }, sort: [{ entity_id: { order: 'asc' } }], size: 1, _source: ['product_json', 'lsn'] },
  },
  response: searchResponse(found ? [hit(found, [found.entityId])] : [], found ? 1 : 0),
});
const write = (name: string, source: string, exchanges: unknown[]) =>
  writeFileSync(`${dir}/${name}.json`, `${JSON.stringify({ source, exchanges }, null, 2)}\n`);

write('contract-upsert-get', `${DOCS_BULK} ${DOCS_SEARCH}`, [
  bulk('index CT-A at LSN 1000', [indexAction(docs.aFirst), sourceSubset(docs.aFirst)], [okItem(docs.aFirst, 'index', 'created', 201, 0)]),
  skuSearch('CT-A', docs.aFirst),
  skuSearch('CT-NONE', null),
]);

write('contract-stale-upsert', `${DOCS_BULK} ${DOCS_CONFLICT} ${DOCS_SEARCH}`, [
  bulk('index CT-A at LSN 2000', [indexAction(docs.a2), sourceSubset(docs.a2)], [okItem(docs.a2, 'index', 'created', 201, 0)]),
  bulk('a replayed older change: LSN 1500 < 2000 → 409 in the item, HTTP 200 overall', [indexAction(docs.a1), sourceSubset(docs.a1)], [conflictItem(1, 'index', 2000n, 1500n)]),
  skuSearch('CT-A', docs.a2),
]);

write('contract-delete', `${DOCS_BULK} ${DOCS_CONFLICT} ${DOCS_SEARCH} Deletes keep a versioned tombstone for index.gc_deletes (Elasticsearch reference, Delete API, "Versioning").`, [
  bulk('index CT-A at LSN 2000', [indexAction(docs.a2), sourceSubset(docs.a2)], [okItem(docs.a2, 'index', 'created', 201, 0)]),
  bulk('delete at LSN 1800 < 2000 → 409', [{ delete: { _index: ALIAS, _id: '1', version: 1800, version_type: 'external_gte' } }], [conflictItem(1, 'delete', 2000n, 1800n)]),
  skuSearch('CT-A', docs.a2),
  bulk('delete at LSN 2500', [{ delete: { _index: ALIAS, _id: '1', version: 2500, version_type: 'external_gte' } }], [okItem({ entityId: 1, version: 2500n }, 'delete', 'deleted', 200, 1)]),
  skuSearch('CT-A', null),
  bulk('a late upsert at LSN 2400 hits the tombstone (2500) → 409', [indexAction(docs.aLate), sourceSubset(docs.aLate)], [conflictItem(1, 'index', 2500n, 2400n)]),
  skuSearch('CT-A', null),
]);

const priceSearch = (from: number, doc: ProductDocument) => ({
  note: `price >= 15, price DESC (missing last), entity_id ASC, page size 1 from ${from}`,
  request: {
    method: 'POST',
    path: `/${ALIAS}/_search`,
    body: {
      query: { bool: { filter: [{ range: { 'attr_num.price': { gte: 15 } } }] } },
      sort: [{ 'attr_num.price': { order: 'desc', missing: '_last' } }, { entity_id: { order: 'asc' } }],
      from,
      size: 1,
      track_total_hits: true,
      _source: ['product_json'],
    },
  },
  response: searchResponse([{ ...hit(doc, [Number(doc.fields.price), doc.entityId]), _source: { product_json: JSON.stringify(doc.product) } }], 2),
});
write('contract-search', `${DOCS_BULK} ${DOCS_SEARCH} Sort with "missing" and track_total_hits: Elasticsearch reference, Sort search results / Track total hits.`, [
  bulk(
    'index three products in one bulk',
    [indexAction(docs.b), sourceSubset(docs.b), indexAction(docs.c), sourceSubset(docs.c), indexAction(docs.d), sourceSubset(docs.d)],
    [okItem(docs.b, 'index', 'created', 201, 0), okItem(docs.c, 'index', 'created', 201, 1), okItem(docs.d, 'index', 'created', 201, 2)],
  ),
  priceSearch(0, docs.c),
  priceSearch(1, docs.d),
]);

write('index-bootstrap', 'Elasticsearch reference: Alias exists API (HEAD /_alias/<alias>: 200 or 404, no body), Create index API (PUT /<index> with settings + mappings → {acknowledged, shards_acknowledged, index}), Aliases API (POST /_aliases actions → {acknowledged: true}).', [
  { note: 'no alias yet', request: { method: 'HEAD', path: `/_alias/${ALIAS}` }, response: { status: 404 } },
  {
    note: 'the versioned index with the explicit mapping',
    request: { method: 'PUT', path: `/${INDEX}`, body: { settings: { number_of_shards: 1, 'index.gc_deletes': '1h' }, mappings: { dynamic: 'strict', properties: { sku: { type: 'keyword' }, lsn: { type: 'unsigned_long' }, product_json: { type: 'keyword', index: false, doc_values: false } } } } },
    response: { status: 200, body: { acknowledged: true, shards_acknowledged: true, index: INDEX } },
  },
  {
    note: 'the alias, as the write index',
    request: { method: 'POST', path: '/_aliases', body: { actions: [{ add: { index: INDEX, alias: ALIAS, is_write_index: true } }] } },
    response: { status: 200, body: { acknowledged: true } },
  },
]);

write('index-exists', 'Elasticsearch reference, Alias exists API: 200 when the alias exists (then the start changes nothing).', [
  { note: 'the alias is there', request: { method: 'HEAD', path: `/_alias/${ALIAS}` }, response: { status: 200 } },
]);

write('alias-swap', 'Elasticsearch reference, Aliases API: "Rename an alias"/swap — remove and add in one request are applied atomically → {acknowledged: true}.', [
  {
    note: 'swap v1 → v2 in one call',
    request: { method: 'POST', path: '/_aliases', body: { actions: [{ remove: { index: INDEX, alias: ALIAS } }, { add: { index: 'pim-products-v2', alias: ALIAS, is_write_index: true } }] } },
    response: { status: 200, body: { acknowledged: true } },
  },
]);

const rejected429 = {
  error: {
    root_cause: [{ type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=52428800, max_coordinating_and_primary_bytes=53687091]' }],
    type: 'es_rejected_execution_exception',
    reason: 'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=52428800, max_coordinating_and_primary_bytes=53687091]',
  },
  status: 429,
};
write('back-pressure', 'Whole-request 429 es_rejected_execution_exception: Elasticsearch reference, "Indexing pressure" (rejections of coordinating operations answer 429 with this body). Per-item 429 inside a 200 bulk: the client\'s own test fixture, elastic/elasticsearch-js test/unit/helpers/bulk.test.ts "Should perform a bulk request (retry a single document from batch)" (items [{index:{status:200}},{index:{status:429}},…]), which the client\'s bulk helper retries.', [
  {
    note: 'the cluster rejects the whole bulk',
    request: { method: 'POST', path: '/_bulk', ndjson: [indexAction(docs.b), sourceSubset(docs.b), indexAction(docs.c), sourceSubset(docs.c)] },
    response: { status: 429, body: rejected429 },
  },
  bulk('accepted, but one item rejected (429)', [indexAction(docs.b), sourceSubset(docs.b), indexAction(docs.c), sourceSubset(docs.c)], [
    okItem(docs.b, 'index', 'created', 201, 0),
    { index: { _index: INDEX, _id: '3', status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of primary operation [coordinating_and_primary_bytes=53687091, replica_bytes=0, all_bytes=53687091, primary_operation_bytes=4096, max_coordinating_and_primary_bytes=53687091]' } } },
  ]),
  bulk('only the rejected item is sent again', [indexAction(docs.c), sourceSubset(docs.c)], [okItem(docs.c, 'index', 'created', 201, 1)]),
]);

write('back-pressure-exhausted', 'As back-pressure.json: Elasticsearch reference, "Indexing pressure" 429 body; repeated until the store gives up.', [1, 2, 3].map((n) => ({
  note: `rejected, attempt ${n}`,
  request: { method: 'POST', path: '/_bulk', ndjson: [indexAction(docs.b), sourceSubset(docs.b)] },
  response: { status: 429, body: rejected429 },
})));

write('bulk-item-error', `${DOCS_BULK} A mapping error in one item (mapper_parsing_exception, status 400), as in the reference's "Example with failed actions".`, [
  bulk('one item cannot be indexed', [indexAction(docs.b), sourceSubset(docs.b)], [
    { index: { _index: INDEX, _id: '2', status: 400, error: { type: 'document_parsing_exception', reason: "[1:42] failed to parse field [attr_int.color] of type [long] in document with id '2'. Preview of field's value: 'red'", index_uuid: UUID, shard: '0', index: INDEX } } },
  ]),
]);


write('full-text-search', 'Elasticsearch reference: Search API with `highlight` (Highlighting: hits[].highlight.<field> fragments with pre/post tags), Terms aggregation response (doc_count_error_upper_bound, sum_other_doc_count, buckets[{key, doc_count}]), Range aggregation with custom keys (buckets[{key, from, to, doc_count}]).', [
  {
    note: 'q=hoodie, color=red, with facets and highlighting',
    request: {
      method: 'POST',
      path: `/${ALIAS}/_search`,
      body: {
        query: { bool: { must: [{ multi_match: { query: 'hoodie', fields: ['name^3', 'search_text'], operator: 'and' } }], filter: [{ term: { facet_color: { value: 'red', case_insensitive: true } } }] } },
        from: 0,
        size: 20,
        track_total_hits: true,
        highlight: { pre_tags: ['<em>'], post_tags: ['</em>'] },
        aggs: { category: { terms: { field: 'facet_category', size: 50 } }, color: { terms: { field: 'facet_color', size: 50 } } },
      },
    },
    response: {
      status: 200,
      body: {
        took: 7,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: {
          total: { value: 1, relation: 'eq' },
          max_score: 1.89,
          hits: [{ _index: INDEX, _id: '3', _score: 1.89, _source: { product_json: JSON.stringify(docs.c.product) }, highlight: { name: ['Charlie <em>Hoodie</em>'] }, sort: [1.89, 3] }],
        },
        aggregations: {
          category: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: '3:Tops', doc_count: 1 }] },
          color: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: 'Red', doc_count: 1 }] },
          size: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [] },
          price: {
            buckets: [
              { key: '0-25', from: 0, to: 25, doc_count: 0 },
              { key: '25-50', from: 25, to: 50, doc_count: 1 },
              { key: '50-100', from: 50, to: 100, doc_count: 0 },
              { key: '100-200', from: 100, to: 200, doc_count: 0 },
              { key: '200-*', from: 200, doc_count: 0 },
            ],
          },
        },
      },
    },
  },
]);

