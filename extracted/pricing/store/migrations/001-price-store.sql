-- The pricing service's own store, shaped for reading prices (issue 5). Filled only from CDC events;
-- it never reads the legacy database.

-- The attribute dictionary as the stream delivers it: attribute ids are resolved from here, never hard-coded.
CREATE TABLE price_attribute (
  attribute_id integer PRIMARY KEY,
  entity_type_id integer NOT NULL,
  attribute_code text NOT NULL,
  backend_type text
);

-- sku ↔ entity id. Not unique on sku: out-of-order delivery of a rename may hold two rows for a moment.
CREATE TABLE product (
  entity_id integer PRIMARY KEY,
  sku text NOT NULL
);
CREATE INDEX product_sku ON product (sku);

-- Raw EAV value rows, kept by their source key, whatever their attribute: an attribute's dictionary
-- row may arrive after its values (or change), so values are resolved when projected, not when received.
CREATE TABLE attribute_value_decimal (
  value_id integer PRIMARY KEY,
  entity_id integer NOT NULL,
  attribute_id integer NOT NULL,
  store_id integer NOT NULL,
  value numeric
);
CREATE INDEX attribute_value_decimal_entity ON attribute_value_decimal (entity_id, store_id);
CREATE INDEX attribute_value_decimal_attribute ON attribute_value_decimal (attribute_id);

CREATE TABLE attribute_value_datetime (
  value_id integer PRIMARY KEY,
  entity_id integer NOT NULL,
  attribute_id integer NOT NULL,
  store_id integer NOT NULL,
  value timestamp(6)
);
CREATE INDEX attribute_value_datetime_entity ON attribute_value_datetime (entity_id, store_id);
CREATE INDEX attribute_value_datetime_attribute ON attribute_value_datetime (attribute_id);

-- The read model: one row per product and store view with the four price attributes resolved.
-- has_* tells "a value row exists (maybe NULL)" from "no row": a store-view row, even NULL, hides
-- the admin (store 0) value, exactly as the legacy's ORDER BY store_id DESC LIMIT 1 does.
CREATE TABLE store_price (
  entity_id integer NOT NULL,
  store_id integer NOT NULL,
  has_price boolean NOT NULL DEFAULT false,
  price numeric,
  has_special_price boolean NOT NULL DEFAULT false,
  special_price numeric,
  has_special_from boolean NOT NULL DEFAULT false,
  special_from text,
  has_special_to boolean NOT NULL DEFAULT false,
  special_to text,
  PRIMARY KEY (entity_id, store_id)
);

CREATE TABLE tier_price (
  value_id integer PRIMARY KEY,
  entity_id integer NOT NULL,
  all_groups smallint NOT NULL,
  customer_group_id integer NOT NULL,
  qty numeric NOT NULL,
  value numeric NOT NULL,
  percentage_value numeric,
  website_id integer NOT NULL
);
CREATE INDEX tier_price_entity ON tier_price (entity_id, website_id);

-- Group codes, for the tier price answer (customer_group) and for nothing else.
CREATE TABLE customer_group (
  customer_group_id integer PRIMARY KEY,
  customer_group_code text NOT NULL
);

-- The consumer kit's per-row applied positions (cdc/consumer/applied-positions.ts, same DDL).
CREATE TABLE cdc_applied (
  source_table text NOT NULL,
  row_key text NOT NULL,
  commit_lsn pg_lsn NOT NULL,
  position integer NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_table, row_key)
);
