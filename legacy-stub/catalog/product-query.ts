import { MagentoErrors } from '../api/magento-error.ts';
import type { AttributeDictionary } from './attribute-dictionary.ts';
import { parseMagentoDate } from './magento-date.ts';
import { PAGE_SIZE_DEFAULT, type Filter, type SearchCriteria } from './search-criteria.ts';

/**
 * Turns SearchCriteria into SQL over the EAV tables. Each attribute a filter or a sort uses adds
 * one LEFT JOIN on its value table (admin store, store_id 0), and only those: a search by sku on
 * 100,000 products touches no value table at all. The count and the page share the WHERE clause;
 * the count skips joins only sorting needs.
 */
export interface ProductQuery {
  /** `SELECT count(*)` before paging, as Magento's total_count. */
  countSql: string;
  countParams: unknown[];
  /** The entity_ids of the requested page, in order. */
  pageSql: string;
  pageParams: unknown[];
}

type Kind = 'text' | 'int' | 'numeric' | 'timestamp';

interface ColumnField {
  type: 'column';
  expression: string;
  kind: Kind;
  joinAlias?: string;
}

interface CategoryField {
  type: 'category';
}

// The entity's own columns, by the names Magento's getList accepts (`id` is an alias of entity_id).
const entityFields: Record<string, { column: string; kind: Kind }> = {
  sku: { column: 'sku', kind: 'text' },
  type_id: { column: 'type_id', kind: 'text' },
  attribute_set_id: { column: 'attribute_set_id', kind: 'int' },
  created_at: { column: 'created_at', kind: 'timestamp' },
  updated_at: { column: 'updated_at', kind: 'timestamp' },
  entity_id: { column: 'entity_id', kind: 'int' },
  id: { column: 'entity_id', kind: 'int' },
  has_options: { column: 'has_options', kind: 'int' },
  required_options: { column: 'required_options', kind: 'int' },
};

const kindOfBackend = { varchar: 'text', text: 'text', int: 'int', decimal: 'numeric', datetime: 'timestamp' } as const;
const sqlCast: Record<Kind, string> = { text: 'text', int: 'int', numeric: 'numeric', timestamp: 'timestamp' };

export function buildProductQuery(criteria: SearchCriteria, dictionary: AttributeDictionary): ProductQuery {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const joins = new Map<string, string>();
  const filterJoins = new Set<string>();

  const resolve = (field: string, path: string): ColumnField | CategoryField => {
    if (field === 'category_id') return { type: 'category' };
    const entity = entityFields[field];
    if (entity) return { type: 'column', expression: `e.${entity.column}`, kind: entity.kind };
    const attribute = dictionary.byCode.get(field);
    if (!attribute || attribute.backendType === 'static') {
      throw MagentoErrors.invalidField(path, `There is no product field or attribute "${field}".`);
    }
    const alias = `v${attribute.id}`;
    if (!joins.has(alias)) {
      joins.set(
        alias,
        `LEFT JOIN catalog_product_entity_${attribute.backendType} ${alias} ON ${alias}.entity_id = e.entity_id AND ${alias}.attribute_id = ${attribute.id} AND ${alias}.store_id = 0`,
      );
    }
    return { type: 'column', expression: `${alias}.value`, kind: kindOfBackend[attribute.backendType], joinAlias: alias };
  };

  const groups = criteria.filterGroups.map((group) => {
    const conditions = group.map((filter) => {
      const field = resolve(filter.field, `${filter.path}[field]`);
      if (field.type === 'category') return categoryCondition(filter, bind);
      if (field.joinAlias) filterJoins.add(field.joinAlias);
      return columnCondition(filter, field, bind);
    });
    return conditions.length === 1 ? conditions[0]! : `(${conditions.join(' OR ')})`;
  });
  const where = groups.length > 0 ? `WHERE ${groups.join(' AND ')}` : '';
  const whereParams = [...params];

  const orderBy = criteria.sortOrders.map((order) => {
    const field = resolve(order.field, `${order.path}[field]`);
    if (field.type === 'category') throw MagentoErrors.invalidField(`${order.path}[field]`, 'Products cannot be sorted by category_id.');
    // MySQL, Magento's database, sorts NULLs first ascending and last descending; PostgreSQL does
    // the opposite by default, so say it.
    return `${field.expression} ${order.direction === 'ASC' ? 'ASC NULLS FIRST' : 'DESC NULLS LAST'}`;
  });
  // Without a unique tie-breaker, pages of equal values could repeat or skip products.
  orderBy.push('e.entity_id ASC');

  const pageSize = criteria.pageSize ?? PAGE_SIZE_DEFAULT;
  const offset = ((criteria.currentPage ?? 1) - 1) * pageSize;
  const allJoins = [...joins.values()].join('\n');
  const countJoins = [...joins.entries()].filter(([alias]) => filterJoins.has(alias)).map(([, sql]) => sql).join('\n');
  return {
    countSql: `SELECT count(*)::int AS total FROM catalog_product_entity e\n${countJoins}\n${where}`,
    countParams: whereParams,
    pageSql: `SELECT e.entity_id FROM catalog_product_entity e\n${allJoins}\n${where}\nORDER BY ${orderBy.join(', ')}\nLIMIT ${pageSize} OFFSET ${offset}`,
    pageParams: whereParams,
  };
}

function columnCondition(filter: Filter, field: ColumnField, bind: (value: unknown) => string): string {
  const x = field.expression;
  const valuePath = `${filter.path}[value]`;
  const typed = (raw: string): string => typedValue(raw, field.kind, valuePath);
  const value = filter.value ?? '';
  switch (filter.conditionType) {
    case 'eq':
      return `${x} = ${bind(typed(value))}::${sqlCast[field.kind]}`;
    case 'neq':
      return `${x} <> ${bind(typed(value))}::${sqlCast[field.kind]}`;
    case 'gt':
      return `${x} > ${bind(typed(value))}::${sqlCast[field.kind]}`;
    case 'gteq':
    case 'from':
      return `${x} >= ${bind(typed(value))}::${sqlCast[field.kind]}`;
    case 'lt':
      return `${x} < ${bind(typed(value))}::${sqlCast[field.kind]}`;
    case 'lteq':
    case 'to':
      return `${x} <= ${bind(typed(value))}::${sqlCast[field.kind]}`;
    case 'like':
      // MySQL's default collation makes Magento's LIKE case-insensitive; ILIKE does the same.
      // Dates compare in their Magento text form, numbers in their stored form (45.000000).
      return `${textOf(x, field.kind)} ILIKE ${bind(value)}`;
    case 'in':
      return `${x} = ANY(${bind(list(value).map(typed))}::${sqlCast[field.kind]}[])`;
    case 'nin':
      // As MySQL's NOT IN: a product without the value is not "not in" the list.
      return `${x} <> ALL(${bind(list(value).map(typed))}::${sqlCast[field.kind]}[])`;
    case 'null':
      return `${x} IS NULL`;
    case 'notnull':
      return `${x} IS NOT NULL`;
    case 'finset':
      // MySQL's FIND_IN_SET(value, field): the field holds a comma-separated set (multiselects).
      return `${bind(value)} = ANY(string_to_array(${textOf(x, field.kind)}, ','))`;
  }
}

/**
 * category_id is not a column but membership in catalog_category_product, as Magento's
 * ProductCategoryFilter treats it: eq/in keep products in the categories, neq/nin the others.
 */
function categoryCondition(filter: Filter, bind: (value: unknown) => string): string {
  const member = (ids: string) => `SELECT 1 FROM catalog_category_product ccp WHERE ccp.product_id = e.entity_id AND ccp.category_id = ANY(${ids}::int[])`;
  const ids = () => bind(list(filter.value ?? '').map((id) => typedValue(id, 'int', `${filter.path}[value]`)));
  switch (filter.conditionType) {
    case 'eq':
    case 'in':
      return `EXISTS (${member(ids())})`;
    case 'neq':
    case 'nin':
      return `NOT EXISTS (${member(ids())})`;
    case 'null':
      return 'NOT EXISTS (SELECT 1 FROM catalog_category_product ccp WHERE ccp.product_id = e.entity_id)';
    case 'notnull':
      return 'EXISTS (SELECT 1 FROM catalog_category_product ccp WHERE ccp.product_id = e.entity_id)';
    default:
      throw MagentoErrors.invalidField(
        `${filter.path}[condition_type]`,
        `category_id can be filtered with eq, neq, in, nin, null or notnull, not "${filter.conditionType}".`,
      );
  }
}

function textOf(expression: string, kind: Kind): string {
  return kind === 'timestamp' ? `to_char(${expression}, 'YYYY-MM-DD HH24:MI:SS')` : `${expression}::text`;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The value as the text PostgreSQL will cast, or a 400 naming the filter's value. */
function typedValue(raw: string, kind: Kind, path: string): string {
  const value = raw.trim();
  switch (kind) {
    case 'text':
      return raw;
    case 'int':
      if (!/^-?\d{1,9}$/.test(value)) throw MagentoErrors.invalidField(path, `"${raw}" is not a whole number.`);
      return value;
    case 'numeric':
      if (!/^-?\d{1,14}(\.\d{1,6})?$/.test(value)) throw MagentoErrors.invalidField(path, `"${raw}" is not a number.`);
      return value;
    case 'timestamp': {
      const date = parseMagentoDate(value);
      if (!date) throw MagentoErrors.invalidField(path, `"${raw}" is not a date (YYYY-MM-DD or YYYY-MM-DD hh:mm:ss).`);
      return date;
    }
  }
}
