-- The legacy shop's schema, close to Magento 2's own tables and column names.
-- Schema only: reference data and the catalog are written by the seed (legacy-stub/seed/), so
-- that the CDC bridge can create its replication slot in between and every row reaches the stream.

CREATE TABLE store_website (
  website_id smallint PRIMARY KEY,
  code varchar(32) NOT NULL UNIQUE,
  name varchar(64) NOT NULL,
  is_default smallint NOT NULL DEFAULT 0
);

CREATE TABLE store (
  store_id smallint PRIMARY KEY,
  code varchar(32) NOT NULL UNIQUE,
  website_id smallint NOT NULL REFERENCES store_website (website_id),
  name varchar(255) NOT NULL,
  is_active smallint NOT NULL DEFAULT 1
);

CREATE TABLE customer_group (
  customer_group_id smallint PRIMARY KEY,
  customer_group_code varchar(32) NOT NULL UNIQUE,
  tax_class_id integer NOT NULL DEFAULT 3
);

CREATE TABLE eav_attribute (
  attribute_id smallserial PRIMARY KEY,
  entity_type_id smallint NOT NULL DEFAULT 4, -- 4 = catalog_product, as in Magento
  attribute_code varchar(255) NOT NULL,
  backend_type varchar(8) NOT NULL CHECK (backend_type IN ('static', 'varchar', 'int', 'decimal', 'text', 'datetime')),
  frontend_input varchar(50),
  frontend_label varchar(255),
  is_required smallint NOT NULL DEFAULT 0,
  UNIQUE (entity_type_id, attribute_code)
);

CREATE TABLE eav_attribute_option (
  option_id serial PRIMARY KEY,
  attribute_id smallint NOT NULL REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  sort_order smallint NOT NULL DEFAULT 0
);

CREATE TABLE eav_attribute_option_value (
  value_id serial PRIMARY KEY,
  option_id integer NOT NULL REFERENCES eav_attribute_option (option_id) ON DELETE CASCADE,
  store_id smallint NOT NULL DEFAULT 0,
  value varchar(255),
  UNIQUE (option_id, store_id)
);

CREATE TABLE catalog_product_entity (
  entity_id serial PRIMARY KEY,
  attribute_set_id smallint NOT NULL DEFAULT 4,
  type_id varchar(32) NOT NULL DEFAULT 'simple',
  sku varchar(64) NOT NULL UNIQUE,
  has_options smallint NOT NULL DEFAULT 0,
  required_options smallint NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);

CREATE TABLE catalog_product_entity_varchar (
  value_id serial PRIMARY KEY,
  attribute_id smallint NOT NULL REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  store_id smallint NOT NULL DEFAULT 0 REFERENCES store (store_id) ON DELETE CASCADE,
  entity_id integer NOT NULL REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  value varchar(255),
  UNIQUE (entity_id, attribute_id, store_id)
);

CREATE TABLE catalog_product_entity_int (
  value_id serial PRIMARY KEY,
  attribute_id smallint NOT NULL REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  store_id smallint NOT NULL DEFAULT 0 REFERENCES store (store_id) ON DELETE CASCADE,
  entity_id integer NOT NULL REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  value integer,
  UNIQUE (entity_id, attribute_id, store_id)
);

CREATE TABLE catalog_product_entity_decimal (
  value_id serial PRIMARY KEY,
  attribute_id smallint NOT NULL REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  store_id smallint NOT NULL DEFAULT 0 REFERENCES store (store_id) ON DELETE CASCADE,
  entity_id integer NOT NULL REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  value numeric(20, 6),
  UNIQUE (entity_id, attribute_id, store_id)
);

CREATE TABLE catalog_product_entity_text (
  value_id serial PRIMARY KEY,
  attribute_id smallint NOT NULL REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  store_id smallint NOT NULL DEFAULT 0 REFERENCES store (store_id) ON DELETE CASCADE,
  entity_id integer NOT NULL REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  value text,
  UNIQUE (entity_id, attribute_id, store_id)
);

CREATE TABLE catalog_product_entity_datetime (
  value_id serial PRIMARY KEY,
  attribute_id smallint NOT NULL REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  store_id smallint NOT NULL DEFAULT 0 REFERENCES store (store_id) ON DELETE CASCADE,
  entity_id integer NOT NULL REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  value timestamp,
  UNIQUE (entity_id, attribute_id, store_id)
);

-- all_groups = 1 means "every customer group" (customer_group_id is then ignored, 0 by convention);
-- percentage_value, when set, is a discount in percent off the base price instead of `value`.
CREATE TABLE catalog_product_entity_tier_price (
  value_id serial PRIMARY KEY,
  entity_id integer NOT NULL REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  all_groups smallint NOT NULL DEFAULT 1,
  customer_group_id smallint NOT NULL DEFAULT 0 REFERENCES customer_group (customer_group_id) ON DELETE CASCADE,
  qty numeric(12, 4) NOT NULL DEFAULT 1,
  value numeric(20, 6) NOT NULL DEFAULT 0,
  percentage_value numeric(5, 2),
  website_id smallint NOT NULL DEFAULT 0 REFERENCES store_website (website_id) ON DELETE CASCADE,
  UNIQUE (entity_id, all_groups, customer_group_id, qty, website_id)
);

CREATE TABLE catalog_category_entity (
  entity_id serial PRIMARY KEY,
  attribute_set_id smallint NOT NULL DEFAULT 3,
  parent_id integer NOT NULL DEFAULT 0,
  name varchar(255) NOT NULL, -- Magento keeps this in catalog_category_entity_varchar; one EAV set is enough here
  url_key varchar(255),
  is_active smallint NOT NULL DEFAULT 1,
  path varchar(255) NOT NULL DEFAULT '',
  position integer NOT NULL DEFAULT 0,
  level integer NOT NULL DEFAULT 0,
  children_count integer NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);

CREATE TABLE catalog_category_product (
  entity_id serial PRIMARY KEY,
  category_id integer NOT NULL REFERENCES catalog_category_entity (entity_id) ON DELETE CASCADE,
  product_id integer NOT NULL REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  position integer NOT NULL DEFAULT 0,
  UNIQUE (category_id, product_id)
);
CREATE INDEX catalog_category_product_product_id ON catalog_category_product (product_id);

CREATE TABLE cataloginventory_stock_item (
  item_id serial PRIMARY KEY,
  product_id integer NOT NULL UNIQUE REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  stock_id smallint NOT NULL DEFAULT 1,
  qty numeric(12, 4),
  min_qty numeric(12, 4) NOT NULL DEFAULT 0,
  min_sale_qty numeric(12, 4) NOT NULL DEFAULT 1,
  max_sale_qty numeric(12, 4) NOT NULL DEFAULT 10000,
  is_in_stock smallint NOT NULL DEFAULT 0,
  manage_stock smallint NOT NULL DEFAULT 1,
  low_stock_date timestamp
);
