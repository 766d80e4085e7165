-- The PIM keeps the raw EAV rows it receives from the CDC stream, so that a change to any one row
-- rebuilds just that product's document from rows it already has (no call back to the legacy).
-- Values are kept as the legacy's text forms ('45.000000', '2024-05-01 00:00:00').

CREATE TABLE pim_raw_entity (
  entity_id integer PRIMARY KEY,
  sku text NOT NULL,
  type_id text NOT NULL,
  attribute_set_id integer NOT NULL,
  has_options integer NOT NULL,
  required_options integer NOT NULL,
  created_at text NOT NULL,
  updated_at text NOT NULL
);

-- The five catalog_product_entity_<backend> tables in one; (backend, value_id) is the source key.
CREATE TABLE pim_raw_value (
  backend text NOT NULL,
  value_id integer NOT NULL,
  entity_id integer NOT NULL,
  attribute_id integer NOT NULL,
  store_id integer NOT NULL,
  value text,
  PRIMARY KEY (backend, value_id)
);
CREATE INDEX pim_raw_value_entity ON pim_raw_value (entity_id);

CREATE TABLE pim_raw_tier_price (
  value_id integer PRIMARY KEY,
  entity_id integer NOT NULL,
  all_groups integer NOT NULL,
  customer_group_id integer NOT NULL,
  qty text NOT NULL,
  value text NOT NULL,
  percentage_value text,
  website_id integer NOT NULL
);
CREATE INDEX pim_raw_tier_price_entity ON pim_raw_tier_price (entity_id);

CREATE TABLE pim_raw_category_product (
  entity_id integer PRIMARY KEY,
  category_id integer NOT NULL,
  product_id integer NOT NULL,
  position integer NOT NULL
);
CREATE INDEX pim_raw_category_product_product ON pim_raw_category_product (product_id);
CREATE INDEX pim_raw_category_product_category ON pim_raw_category_product (category_id);

CREATE TABLE pim_raw_stock_item (
  item_id integer PRIMARY KEY,
  product_id integer NOT NULL,
  stock_id integer NOT NULL,
  qty text,
  min_qty text NOT NULL,
  min_sale_qty text NOT NULL,
  max_sale_qty text NOT NULL,
  is_in_stock integer NOT NULL,
  manage_stock integer NOT NULL,
  low_stock_date text
);
CREATE INDEX pim_raw_stock_item_product ON pim_raw_stock_item (product_id);

CREATE TABLE pim_raw_attribute (
  attribute_id integer PRIMARY KEY,
  entity_type_id integer NOT NULL,
  attribute_code text NOT NULL,
  backend_type text NOT NULL,
  frontend_input text,
  frontend_label text
);

CREATE TABLE pim_raw_option (
  option_id integer PRIMARY KEY,
  attribute_id integer NOT NULL,
  sort_order integer NOT NULL
);

CREATE TABLE pim_raw_option_value (
  value_id integer PRIMARY KEY,
  option_id integer NOT NULL,
  store_id integer NOT NULL,
  value text
);

CREATE TABLE pim_raw_category (
  entity_id integer PRIMARY KEY,
  parent_id integer NOT NULL,
  name text NOT NULL,
  path text NOT NULL,
  is_active integer NOT NULL
);

-- Per product: the LSN of the last change folded into it (the document's version) and whether
-- its document still has to be (re)written to the store. `dirty` is set in the same transaction
-- as the raw row, and cleared only after the store accepted the document, so a crash in between
-- is repaired on the next start.
CREATE TABLE pim_product_state (
  entity_id integer PRIMARY KEY,
  lsn pg_lsn NOT NULL,
  dirty boolean NOT NULL DEFAULT true
);
CREATE INDEX pim_product_state_dirty ON pim_product_state (entity_id) WHERE dirty;

CREATE TABLE pim_sync_state (
  key text PRIMARY KEY,
  value text NOT NULL
);

-- The consumer kit's per-row positions (cdc/consumer/applied-positions.ts), in our migrations.
CREATE TABLE IF NOT EXISTS cdc_applied (
  source_table text NOT NULL,
  row_key text NOT NULL,
  commit_lsn pg_lsn NOT NULL,
  position integer NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_table, row_key)
);
