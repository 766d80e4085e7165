-- The PostgreSQL store's documents (store/postgres/). `product` is the legacy REST shape, served
-- as is; the other columns exist to filter, sort and search. `lsn` is the version: a write with
-- an older LSN never replaces a newer document (see postgres-product-store.ts).

CREATE TABLE pim_document (
  entity_id integer PRIMARY KEY,
  sku text NOT NULL,
  lsn bigint NOT NULL,
  type_id text NOT NULL,
  attribute_set_id integer NOT NULL,
  has_options integer NOT NULL,
  required_options integer NOT NULL,
  created_at text NOT NULL,
  updated_at text NOT NULL,
  fields jsonb NOT NULL,
  category_ids integer[] NOT NULL,
  facets jsonb NOT NULL,
  store_values jsonb NOT NULL,
  -- json, not jsonb: jsonb would reorder the keys of the legacy shape we answer byte for byte.
  product json NOT NULL,
  search_text text NOT NULL,
  search tsvector GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED
);
CREATE INDEX pim_document_sku ON pim_document (sku);
CREATE INDEX pim_document_created_at ON pim_document (created_at, entity_id);
CREATE INDEX pim_document_updated_at ON pim_document (updated_at, entity_id);
CREATE INDEX pim_document_type ON pim_document (type_id);
CREATE INDEX pim_document_categories ON pim_document USING gin (category_ids);
CREATE INDEX pim_document_search ON pim_document USING gin (search);
CREATE INDEX pim_document_fields ON pim_document USING gin (fields jsonb_path_ops);
-- The fields the storefront and integrations filter and sort by most (searchCriteria).
CREATE INDEX pim_document_name ON pim_document ((fields->>'name'), entity_id);
CREATE INDEX pim_document_price ON pim_document (((fields->>'price')::numeric), entity_id);
CREATE INDEX pim_document_status ON pim_document (((fields->>'status')::int));
CREATE INDEX pim_document_visibility ON pim_document (((fields->>'visibility')::int));
CREATE INDEX pim_document_color ON pim_document (((fields->>'color')::int));
CREATE INDEX pim_document_size ON pim_document (((fields->>'size')::int));
CREATE INDEX pim_document_special_price ON pim_document (((fields->>'special_price')::numeric));
CREATE INDEX pim_document_url_key ON pim_document ((fields->>'url_key'));

-- A delete leaves its LSN behind, so a stale upsert that arrives after it cannot resurrect the product.
CREATE TABLE pim_document_tombstone (
  entity_id integer PRIMARY KEY,
  lsn bigint NOT NULL
);
