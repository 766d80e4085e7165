import pg from 'pg';
import type { CatalogQuery, Condition, FieldKind, FieldRef } from '../../domain/catalog-query.ts';

/**
 * Compiles a CatalogQuery to SQL over pim_document. The expressions are spelled exactly as the
 * expression indexes of schema/002-postgres-documents.sql, so the planner can use them.
 * Semantics follow the legacy's SQL builder: MySQL NULL ordering, ILIKE for like, NOT IN that
 * leaves out products without the value, FIND_IN_SET for finset, entity_id as the tie-breaker.
 */
export interface CatalogSql {
  sql: string;
  params: unknown[];
}

const sqlCast: Record<FieldKind, string> = { text: 'text', int: 'int', numeric: 'numeric', timestamp: 'text' };

/** Attributes with a generated, indexed column (schema/003-document-filter-columns.sql). */
const GENERATED_COLUMNS: Readonly<Record<string, { column: string; kind: FieldKind }>> = {
  name: { column: 'f_name', kind: 'text' },
  price: { column: 'f_price', kind: 'numeric' },
  special_price: { column: 'f_special_price', kind: 'numeric' },
  status: { column: 'f_status', kind: 'int' },
  visibility: { column: 'f_visibility', kind: 'int' },
  color: { column: 'f_color', kind: 'int' },
  size: { column: 'f_size', kind: 'int' },
};

export function expressionOf(field: FieldRef): string {
  if (field.source === 'entity') return `d.${field.column}`;
  const generated = GENERATED_COLUMNS[field.code];
  // Only when the legacy still types the attribute the same way (the dictionary comes from CDC).
  if (generated && generated.kind === field.kind && !field.long) return `d.${generated.column}`;
  const raw = `(d.${field.long ? 'texts' : 'fields'}->>${pg.escapeLiteral(field.code)})`;
  switch (field.kind) {
    case 'int':
      return `(${raw}::int)`;
    case 'numeric':
      return `(${raw}::numeric)`;
    default:
      // Timestamps are kept as 'YYYY-MM-DD hh:mm:ss', which compares like the time itself.
      return raw;
  }
}

/** The value as text, as the legacy's LIKE and FIND_IN_SET see it ('45.000000', '2024-05-01 00:00:00'). */
function textOf(field: FieldRef): string {
  if (field.source === 'entity') return field.kind === 'int' ? `d.${field.column}::text` : `d.${field.column}`;
  return `(d.${field.long ? 'texts' : 'fields'}->>${pg.escapeLiteral(field.code)})`;
}

function conditionSql(condition: Condition, bind: (value: unknown) => string): string {
  if (condition.type === 'category') {
    switch (condition.mode) {
      case 'in':
        return `EXISTS (SELECT 1 FROM pim_document_category c WHERE c.entity_id = d.entity_id AND c.category_id = ANY(${bind(condition.ids)}::int[]))`;
      case 'nin':
        return `NOT EXISTS (SELECT 1 FROM pim_document_category c WHERE c.entity_id = d.entity_id AND c.category_id = ANY(${bind(condition.ids)}::int[]))`;
      case 'null':
        return 'cardinality(d.category_ids) = 0';
      case 'notnull':
        return 'cardinality(d.category_ids) > 0';
    }
  }
  const x = expressionOf(condition.field);
  const cast = sqlCast[condition.field.kind];
  switch (condition.type) {
    case 'compare':
      return `${x} ${condition.op} ${bind(condition.value)}::${cast}`;
    case 'like':
      return `${textOf(condition.field)} ILIKE ${bind(condition.pattern)}`;
    case 'in':
      return `${x} = ANY(${bind(condition.values)}::${cast}[])`;
    case 'nin':
      return `${x} <> ALL(${bind(condition.values)}::${cast}[])`;
    case 'null':
      return `${x} IS NULL`;
    case 'notnull':
      return `${x} IS NOT NULL`;
    case 'finset':
      return `${bind(condition.value)} = ANY(string_to_array(${textOf(condition.field)}, ','))`;
  }
}

/**
 * One statement for the page and its total_count, so both come from one snapshot (the legacy
 * reads them in one REPEATABLE READ transaction). Answers `version` (pim_document_version, as
 * text), `total` and `items`: the page's product JSON texts in order, joined by ITEM_SEPARATOR
 * (null for an empty page).
 *
 * `countKey` names the count (its SQL and parameters) for the CountCache. With `knownVersion`
 * (the version a cached count of that key belongs to), the statement counts only if the documents
 * changed since, and answers a NULL total otherwise: PostgreSQL runs an uncorrelated sub-select
 * (an InitPlan) only when the expression needing it is evaluated, which the CASE skips.
 */
/**
 * Between the product texts of `items`: U+001E (record separator) cannot occur in them, since
 * they are JSON.stringify's output, which escapes every control character.
 */
export const ITEM_SEPARATOR = '\u001e';

export interface CatalogStatement extends CatalogSql {
  countKey: string;
}

export function buildCatalogSql(query: CatalogQuery, knownVersion: (countKey: string) => string | null = () => null): CatalogStatement {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const groups = query.groups.map((group) => {
    const conditions = group.map((condition) => conditionSql(condition, bind));
    return conditions.length === 1 ? conditions[0]! : `(${conditions.join(' OR ')})`;
  });
  const where = groups.length > 0 ? `WHERE ${groups.join(' AND ')}` : '';
  const count = countSql(query, where, bind);
  // The parameters bound so far are exactly those of the count (and the page's WHERE).
  const countKey = JSON.stringify([count, params]);
  const version = bind(knownVersion(countKey));
  const orderBy = query.sorts.map((sort) => `${expressionOf(sort.field)} ${sort.direction === 'ASC' ? 'ASC NULLS FIRST' : 'DESC NULLS LAST'}`);
  orderBy.push('d.entity_id ASC');
  const limit = bind(query.pageSize);
  const offset = bind(query.offset);
  // The page as one text, the stored JSON documents joined by ITEM_SEPARATOR: a text[] would make
  // the driver unescape it character by character (every quote of the JSON is escaped in an
  // array's text form), ~1 ms for a page of 20 products.
  const sql = `SELECT v.version::text AS version,
       CASE WHEN v.version = ${version}::bigint THEN NULL ELSE (${count}) END AS total,
       (SELECT string_agg(page.product::text, E'\\x1e' ORDER BY page.n) FROM (
          SELECT d.product, row_number() OVER () AS n FROM (
            SELECT d.product FROM pim_document d ${where} ORDER BY ${orderBy.join(', ')} LIMIT ${limit}::int OFFSET ${offset}::int
          ) d
       ) page) AS items
  FROM pim_document_version v`;
  return { sql, params, countKey };
}

/**
 * The count before paging. A storefront's most common listing — one category, nothing else —
 * is counted from the membership index alone: pim_document_category rows exist exactly for the
 * documents (the store writes both in one transaction), so no document row needs reading.
 */
function countSql(query: CatalogQuery, where: string, bind: (value: unknown) => string): string {
  const only = query.groups.length === 1 && query.groups[0]!.length === 1 ? query.groups[0]![0]! : undefined;
  if (only?.type === 'category' && only.mode === 'in') {
    return `SELECT count(DISTINCT c.entity_id)::int FROM pim_document_category c WHERE c.category_id = ANY(${bind(only.ids)}::int[])`;
  }
  return `SELECT count(*)::int FROM pim_document d ${where}`;
}
