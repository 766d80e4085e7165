-- Reading one value of a wide document row is what made searchCriteria slow at 100,000
-- products: every count(*) scanned the whole heap (documents carry their description, search
-- text and tsvector) and de-TOASTed `fields` per row. So:
-- 1. Long texts (descriptions) move out of `fields` into `texts`.
-- 2. The attributes a storefront filters and sorts by most become generated columns with plain
--    btree indexes, which PostgreSQL can answer counts from with index-only scans (it cannot
--    for expression indexes over a jsonb column).
-- 3. Sort indexes follow the legacy's order: MySQL's NULL order (NULLS FIRST ascending, NULLS
--    LAST descending — one index read backwards serves the other) with the entity_id ASC
--    tie-breaker, which a descending sort needs as its own index.
ALTER TABLE pim_document
  ADD COLUMN texts jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN f_name text GENERATED ALWAYS AS (fields->>'name') STORED,
  ADD COLUMN f_price numeric GENERATED ALWAYS AS ((fields->>'price')::numeric) STORED,
  ADD COLUMN f_special_price numeric GENERATED ALWAYS AS ((fields->>'special_price')::numeric) STORED,
  ADD COLUMN f_status integer GENERATED ALWAYS AS ((fields->>'status')::integer) STORED,
  ADD COLUMN f_visibility integer GENERATED ALWAYS AS ((fields->>'visibility')::integer) STORED,
  ADD COLUMN f_color integer GENERATED ALWAYS AS ((fields->>'color')::integer) STORED,
  ADD COLUMN f_size integer GENERATED ALWAYS AS ((fields->>'size')::integer) STORED;

DROP INDEX pim_document_created_at;
DROP INDEX pim_document_updated_at;
DROP INDEX pim_document_name;
DROP INDEX pim_document_price;
DROP INDEX pim_document_status;
DROP INDEX pim_document_visibility;
DROP INDEX pim_document_color;
DROP INDEX pim_document_size;
DROP INDEX pim_document_special_price;

CREATE INDEX pim_document_created_at_asc ON pim_document (created_at ASC NULLS FIRST, entity_id);
CREATE INDEX pim_document_created_at_desc ON pim_document (created_at DESC NULLS LAST, entity_id);
CREATE INDEX pim_document_updated_at_asc ON pim_document (updated_at ASC NULLS FIRST, entity_id);
CREATE INDEX pim_document_updated_at_desc ON pim_document (updated_at DESC NULLS LAST, entity_id);
CREATE INDEX pim_document_name_asc ON pim_document (f_name ASC NULLS FIRST, entity_id);
CREATE INDEX pim_document_name_desc ON pim_document (f_name DESC NULLS LAST, entity_id);
CREATE INDEX pim_document_price_asc ON pim_document (f_price ASC NULLS FIRST, entity_id);
CREATE INDEX pim_document_price_desc ON pim_document (f_price DESC NULLS LAST, entity_id);
CREATE INDEX pim_document_special_price ON pim_document (f_special_price, entity_id);
CREATE INDEX pim_document_status_visibility ON pim_document (f_status, f_visibility, entity_id);
CREATE INDEX pim_document_visibility ON pim_document (f_visibility, entity_id);
CREATE INDEX pim_document_color ON pim_document (f_color, entity_id);
CREATE INDEX pim_document_size ON pim_document (f_size, entity_id);

-- Category membership as narrow rows: counting the products of a category reads this index
-- only, instead of a quarter of the wide document heap (category_ids && ARRAY[..] via GIN).
CREATE TABLE pim_document_category (
  category_id integer NOT NULL,
  entity_id integer NOT NULL,
  PRIMARY KEY (category_id, entity_id)
);
CREATE INDEX pim_document_category_entity ON pim_document_category (entity_id);
