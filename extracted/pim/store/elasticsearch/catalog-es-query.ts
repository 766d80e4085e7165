import type { CatalogQuery, Condition, FieldRef } from '../../domain/catalog-query.ts';

/**
 * Compiles a CatalogQuery to Elasticsearch's query DSL over the mapping of index-mapping.ts.
 * It keeps the legacy's semantics where the engine allows: NULL (a missing field) never matches
 * neq/nin, MySQL's NULL order (missing first ascending, last descending), case-insensitive
 * like, FIND_IN_SET as a regexp on the raw value, entity_id as the tie-breaker.
 * Known difference: text sorts by bytes (keyword order), not by PostgreSQL's collation.
 */
type Json = Record<string, unknown>;

export function fieldPath(field: FieldRef): string {
  if (field.source === 'entity') return field.column;
  switch (field.kind) {
    case 'int':
      return `attr_int.${field.code}`;
    case 'numeric':
      return `attr_num.${field.code}`;
    default:
      return `attr_raw.${field.code}`;
  }
}

function rawPath(field: FieldRef): string {
  return field.source === 'entity' ? field.column : `attr_raw.${field.code}`;
}

function typed(field: FieldRef, value: string): string | number {
  return field.kind === 'int' || field.kind === 'numeric' ? Number(value) : value;
}

/** SQL LIKE → wildcard: % → *, _ → ?, the wildcard's own metacharacters escaped. */
export function likeToWildcard(pattern: string): string {
  return pattern.replace(/[\\*?]/g, (char) => `\\${char}`).replace(/%/g, '*').replace(/_/g, '?');
}

function regexpEscape(text: string): string {
  return text.replace(/[.?+*|{}[\]()"\\#@&<>~]/g, (char) => `\\${char}`);
}

export function conditionQuery(condition: Condition): Json {
  if (condition.type === 'category') {
    switch (condition.mode) {
      case 'in':
        return { terms: { category_ids: condition.ids } };
      case 'nin':
        return { bool: { must_not: [{ terms: { category_ids: condition.ids } }] } };
      case 'null':
        return { bool: { must_not: [{ exists: { field: 'category_ids' } }] } };
      case 'notnull':
        return { exists: { field: 'category_ids' } };
    }
  }
  const path = fieldPath(condition.field);
  const exists = { exists: { field: path } };
  switch (condition.type) {
    case 'compare': {
      const value = typed(condition.field, condition.value);
      switch (condition.op) {
        case '=':
          return { term: { [path]: value } };
        case '<>':
          return { bool: { filter: [exists], must_not: [{ term: { [path]: value } }] } };
        case '>':
          return { range: { [path]: { gt: value } } };
        case '>=':
          return { range: { [path]: { gte: value } } };
        case '<':
          return { range: { [path]: { lt: value } } };
        case '<=':
          return { range: { [path]: { lte: value } } };
      }
      break;
    }
    case 'like':
      return { wildcard: { [rawPath(condition.field)]: { value: likeToWildcard(condition.pattern), case_insensitive: true } } };
    case 'in':
      return { terms: { [path]: condition.values.map((value) => typed(condition.field, value)) } };
    case 'nin':
      return { bool: { filter: [exists], must_not: [{ terms: { [path]: condition.values.map((value) => typed(condition.field, value)) } }] } };
    case 'null':
      return { bool: { must_not: [exists] } };
    case 'notnull':
      return exists;
    case 'finset':
      return { regexp: { [rawPath(condition.field)]: { value: `(.*,)?${regexpEscape(condition.value)}(,.*)?` } } };
  }
  throw new RangeError('unreachable');
}

export function buildCatalogSearch(query: CatalogQuery): Json {
  const filter = query.groups.map((group) =>
    group.length === 1 ? conditionQuery(group[0]!) : { bool: { should: group.map(conditionQuery), minimum_should_match: 1 } },
  );
  const sort: Json[] = query.sorts.map((key) => ({
    [fieldPath(key.field)]: key.direction === 'ASC' ? { order: 'asc', missing: '_first' } : { order: 'desc', missing: '_last' },
  }));
  sort.push({ entity_id: { order: 'asc' } });
  return {
    query: filter.length > 0 ? { bool: { filter } } : { match_all: {} },
    sort,
    from: query.offset,
    size: query.pageSize,
    track_total_hits: true,
    _source: ['product_json'],
  };
}
