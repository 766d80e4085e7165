import type { IndicesIndexSettings, MappingTypeMapping } from '@elastic/elasticsearch/lib/api/types';

/**
 * The explicit mapping of the product index. Documents are written under an alias that points at
 * a versioned index (`<alias>-v<MAPPING_VERSION>`): a re-index builds the next version beside
 * it and swaps the alias in one `_aliases` call, so readers never see a half-built index.
 *
 * Attribute values are mapped by kind under four objects, so a new attribute needs no mapping
 * change (dynamic templates) while every other field is explicit (`dynamic: strict` at the root).
 */
export const MAPPING_VERSION = 1;

export function versionedIndexName(alias: string, version = MAPPING_VERSION): string {
  return `${alias}-v${version}`;
}

export const productIndexSettings: IndicesIndexSettings = {
  number_of_shards: 1,
  // Deletes with external versions leave tombstones for gc_deletes (60s by default); a stale
  // upsert arriving later than that could resurrect a product, so keep them longer.
  'index.gc_deletes': '1h',
};

export const productIndexMappings: MappingTypeMapping = {
  dynamic: 'strict',
  dynamic_templates: [
    { raw_values: { path_match: 'attr_raw.*', mapping: { type: 'keyword' } } },
    { int_values: { path_match: 'attr_int.*', mapping: { type: 'long' } } },
    { numeric_values: { path_match: 'attr_num.*', mapping: { type: 'double' } } },
    { store_values: { path_match: 'store_values.*', mapping: { type: 'keyword', index: false, doc_values: false } } },
  ],
  properties: {
    entity_id: { type: 'integer' },
    sku: { type: 'keyword' },
    lsn: { type: 'unsigned_long' },
    type_id: { type: 'keyword' },
    attribute_set_id: { type: 'integer' },
    has_options: { type: 'integer' },
    required_options: { type: 'integer' },
    created_at: { type: 'keyword' },
    updated_at: { type: 'keyword' },
    attr_raw: { type: 'object', dynamic: true },
    attr_int: { type: 'object', dynamic: true },
    attr_num: { type: 'object', dynamic: true },
    store_values: { type: 'object', dynamic: true },
    category_ids: { type: 'integer' },
    facet_category: { type: 'keyword' },
    facet_color: { type: 'keyword' },
    facet_size: { type: 'keyword' },
    facet_price: { type: 'double' },
    name: { type: 'text', analyzer: 'english' },
    description: { type: 'text', analyzer: 'english' },
    search_text: { type: 'text', analyzer: 'english' },
    // The legacy REST JSON, kept as text so it is answered byte for byte; never searched.
    product_json: { type: 'keyword', index: false, doc_values: false },
  },
};
