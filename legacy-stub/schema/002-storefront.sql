-- The storefront's own tables: customers, sessions and the cart (Magento's quote).
CREATE TABLE customer_entity (
  entity_id serial PRIMARY KEY,
  website_id smallint NOT NULL DEFAULT 1 REFERENCES store_website (website_id),
  email varchar(255) NOT NULL UNIQUE,
  group_id smallint NOT NULL DEFAULT 1 REFERENCES customer_group (customer_group_id),
  firstname varchar(255) NOT NULL,
  lastname varchar(255) NOT NULL,
  password_hash varchar(255) NOT NULL,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);

CREATE TABLE storefront_session (
  session_id varchar(64) PRIMARY KEY,
  customer_id integer REFERENCES customer_entity (entity_id) ON DELETE SET NULL,
  customer_group_id smallint NOT NULL DEFAULT 0,
  form_key varchar(32) NOT NULL,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);

CREATE TABLE quote (
  entity_id serial PRIMARY KEY,
  session_id varchar(64) NOT NULL REFERENCES storefront_session (session_id) ON DELETE CASCADE,
  customer_id integer REFERENCES customer_entity (entity_id) ON DELETE SET NULL,
  customer_group_id smallint NOT NULL DEFAULT 0,
  is_active smallint NOT NULL DEFAULT 1,
  items_count integer NOT NULL DEFAULT 0,
  items_qty numeric(12, 4) NOT NULL DEFAULT 0,
  grand_total numeric(20, 4) NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);
CREATE INDEX quote_session_id ON quote (session_id) WHERE is_active = 1;

CREATE TABLE quote_item (
  item_id serial PRIMARY KEY,
  quote_id integer NOT NULL REFERENCES quote (entity_id) ON DELETE CASCADE,
  product_id integer NOT NULL REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  sku varchar(64) NOT NULL,
  name varchar(255),
  qty numeric(12, 4) NOT NULL,
  price numeric(20, 4) NOT NULL,
  row_total numeric(20, 4) NOT NULL,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now(),
  UNIQUE (quote_id, product_id)
);
