import type { KeyCondition, Projection } from '../../../reconcile/projection.ts';
import { appliedPosition, legacyWalPosition } from '../../../reconcile/positions.ts';
import { ALL_GROUPS_ID } from '../../../legacy-stub/seed/reference-data.ts';

/**
 * The PIM's canonical form of one product document, computed from the legacy tables as the
 * document builder (domain/document-builder.ts) would, and from what the PostgreSQL store keeps
 * (pim_document, schema/002 and 003):
 *
 *   entity     [sku, type_id, attribute_set_id, has_options, required_options, created_at, updated_at]
 *   fields     admin-scope values by attribute code, in the legacy's text form ('45.000000'), long texts apart in
 *   texts      (backend `text`)
 *   stores     store-view values: '<store_id>/<code>' → value
 *   categories [[category_id, position], …]                      sorted
 *   tiers      [[customer_group_id (32000 = all groups), qty, value (fixed tiers only), percentage, website_id], …]  sorted
 *   stock      [item_id, qty, is_in_stock, min_qty, min_sale_qty, max_sale_qty, manage_stock, low_stock_date] or null
 *
 * Categories, tiers and stock are read from the stored REST document (`product`), where they are
 * JSON numbers: both sides compare them as float8, whose text form is the shortest that reads
 * back exactly — the same number JavaScript wrote. A percentage tier's value is derived from the
 * price (compared in `fields`), so only its percentage is compared. Facets, search text and option
 * labels derive from reference data and are not compared per product.
 */
export const legacyDocumentProjection: Projection = {
  name: 'legacy',
  allKeys: 'SELECT entity_id FROM catalog_product_entity',
  select: (keys: KeyCondition) => {
    const values = (backend: string, text: string) =>
      `SELECT v.entity_id, v.store_id, a.attribute_code AS code, a.backend_type, ${text} AS value
         FROM catalog_product_entity_${backend} v JOIN eav_attribute a ON a.attribute_id = v.attribute_id AND a.entity_type_id = 4
        WHERE ${keys('v.entity_id')} AND v.value IS NOT NULL`;
    return `
    WITH vals AS NOT MATERIALIZED (
      ${values('varchar', 'v.value::text')}
      UNION ALL ${values('int', 'v.value::text')}
      UNION ALL ${values('decimal', 'v.value::text')}
      UNION ALL ${values('text', 'v.value')}
      UNION ALL ${values('datetime', "to_char(v.value, 'YYYY-MM-DD HH24:MI:SS')")}),
    -- One pass over the values (the largest part of the work): admin fields, long texts, and
    -- store-view values keyed '<store_id>/<code>'.
    agg AS (
      SELECT entity_id,
             jsonb_object_agg(code, value) FILTER (WHERE store_id = 0 AND backend_type <> 'text') AS fields,
             jsonb_object_agg(code, value) FILTER (WHERE store_id = 0 AND backend_type = 'text') AS texts,
             jsonb_object_agg(store_id::text || '/' || code, value) FILTER (WHERE store_id <> 0) AS stores
        FROM vals GROUP BY entity_id),
    categories AS (
      SELECT product_id AS entity_id, jsonb_agg(jsonb_build_array(category_id, position) ORDER BY category_id, position) AS categories
        FROM catalog_category_product WHERE ${keys('product_id')} GROUP BY product_id),
    tiers AS (
      SELECT entity_id, jsonb_agg(jsonb_build_array(g, q, v, pct, w) ORDER BY w, g, q, v, pct) AS tiers
        FROM (SELECT entity_id, CASE WHEN all_groups = 1 THEN ${ALL_GROUPS_ID} ELSE customer_group_id END AS g, qty::float8 AS q,
                     CASE WHEN percentage_value IS NULL THEN value::float8 END AS v, percentage_value::float8 AS pct, website_id::int AS w
                FROM catalog_product_entity_tier_price WHERE ${keys('entity_id')}) t
       GROUP BY entity_id),
    stock AS (
      SELECT DISTINCT ON (product_id) product_id AS entity_id,
             jsonb_build_array(item_id, qty::float8, is_in_stock = 1, min_qty::float8, min_sale_qty::float8, max_sale_qty::float8,
                               manage_stock = 1, to_char(low_stock_date, 'YYYY-MM-DD HH24:MI:SS')) AS stock
        FROM cataloginventory_stock_item WHERE ${keys('product_id')} ORDER BY product_id, item_id DESC)
    SELECT p.entity_id, jsonb_build_object(
             'entity', jsonb_build_array(p.sku, p.type_id, p.attribute_set_id, p.has_options, p.required_options,
                                         to_char(p.created_at, 'YYYY-MM-DD HH24:MI:SS'), to_char(p.updated_at, 'YYYY-MM-DD HH24:MI:SS')),
             'fields', coalesce(a.fields, '{}'::jsonb), 'texts', coalesce(a.texts, '{}'::jsonb), 'stores', coalesce(a.stores, '{}'::jsonb),
             'categories', coalesce(c.categories, '[]'::jsonb), 'tiers', coalesce(t.tiers, '[]'::jsonb), 'stock', st.stock) AS doc
      FROM catalog_product_entity p
      LEFT JOIN agg a USING (entity_id) LEFT JOIN categories c USING (entity_id)
      LEFT JOIN tiers t USING (entity_id) LEFT JOIN stock st USING (entity_id)
     WHERE ${keys('p.entity_id')}`;
  },
  position: legacyWalPosition,
};

/**
 * The store's side reads the parts of the stored product JSON it compares with the `json` type's
 * operators, which only scan the text (`->` returns a slice of it), and turns each into rows or a
 * record in one pass (json_to_recordset / json_to_record) — parsing the document (its head) into
 * jsonb cost more, and it was most of this side's work. (json_to_record over the whole document,
 * to slice both parts in one pass, is slower still: it keeps every member.)
 */
export const storeDocumentProjection: Projection = {
  name: 'pim store',
  allKeys: 'SELECT entity_id FROM pim_document',
  select: (keys: KeyCondition) => `
    SELECT d.entity_id, jsonb_build_object(
             'entity', jsonb_build_array(d.sku, d.type_id, d.attribute_set_id, d.has_options, d.required_options, d.created_at, d.updated_at),
             'fields', d.fields, 'texts', d.texts,
             'stores', coalesce((SELECT jsonb_object_agg(s.key || '/' || v.key, v.value)
                                   FROM jsonb_each(d.store_values) s CROSS JOIN LATERAL jsonb_each_text(s.value) v), '{}'::jsonb),
             'categories', coalesce((
               SELECT jsonb_agg(jsonb_build_array(l.category_id, l.position) ORDER BY l.category_id, l.position)
                 FROM json_to_recordset(j.ext->'category_links') AS l(category_id int, position int)), '[]'::jsonb),
             'tiers', coalesce((
               SELECT jsonb_agg(jsonb_build_array(g, q, v, pct, w) ORDER BY w, g, q, v, pct)
                 FROM (SELECT x.customer_group_id AS g, x.qty AS q, CASE WHEN e.pct_given THEN NULL ELSE x.value END AS v, e.pct, e.w
                         FROM json_to_recordset(j.tiers) AS x(customer_group_id int, qty float8, value float8, extension_attributes jsonb)
                        CROSS JOIN LATERAL (SELECT x.extension_attributes ? 'percentage_value' AS pct_given,
                                                   (x.extension_attributes->>'percentage_value')::float8 AS pct,
                                                   (x.extension_attributes->>'website_id')::int AS w) e) t), '[]'::jsonb),
             'stock', (SELECT jsonb_build_array(st.item_id, st.qty, st.is_in_stock, st.min_qty, st.min_sale_qty, st.max_sale_qty, st.manage_stock, st.low_stock_date)
                         FROM json_to_record(j.ext->'stock_item') AS st(item_id int, qty float8, is_in_stock boolean, min_qty float8,
                              min_sale_qty float8, max_sale_qty float8, manage_stock boolean, low_stock_date text)
                        WHERE json_typeof(j.ext->'stock_item') = 'object')) AS doc
      FROM pim_document d
      -- OFFSET 0 keeps the planner from inlining this: each part is sliced out of the document once per row.
      CROSS JOIN LATERAL (SELECT d.product->'extension_attributes' AS ext, d.product->'tier_prices' AS tiers OFFSET 0) j
     WHERE ${keys('d.entity_id')}`,
  // The raw rows (and cdc_applied) are committed before the documents are rebuilt from them: a
  // product marked dirty has changes its document does not show yet.
  position: (db, keys) =>
    appliedPosition(db, { keys, pendingWork: 'SELECT 1 FROM pim_product_state WHERE dirty AND ($1::int[] IS NULL OR entity_id = ANY($1::int[]))' }),
};
