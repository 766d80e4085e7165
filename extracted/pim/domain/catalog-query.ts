import { MagentoErrors } from '../../../legacy-stub/api/magento-error.ts';
import { parseMagentoDate } from '../../../legacy-stub/catalog/magento-date.ts';
import { PAGE_SIZE_DEFAULT, type Filter, type SearchCriteria } from '../../../legacy-stub/catalog/search-criteria.ts';
import type { CatalogDictionary } from './catalog-dictionary.ts';

/**
 * A searchCriteria resolved against the PIM's dictionary into a store-neutral query: fields
 * typed, values checked, in the same order and with the same error bodies as the legacy's SQL
 * builder (legacy-stub/catalog/product-query.ts), so a bad query fails identically on both and
 * both store adapters compile the same thing.
 */
export type FieldKind = 'text' | 'int' | 'numeric' | 'timestamp';

export type EntityColumn =
  | 'sku'
  | 'type_id'
  | 'attribute_set_id'
  | 'created_at'
  | 'updated_at'
  | 'entity_id'
  | 'has_options'
  | 'required_options';

export type FieldRef =
  | { readonly source: 'entity'; readonly column: EntityColumn; readonly kind: FieldKind }
  | { readonly source: 'attribute'; readonly code: string; readonly kind: FieldKind; readonly long: boolean };

export type Condition =
  | { readonly type: 'compare'; readonly field: FieldRef; readonly op: '=' | '<>' | '>' | '>=' | '<' | '<='; readonly value: string }
  | { readonly type: 'like'; readonly field: FieldRef; readonly pattern: string }
  | { readonly type: 'in' | 'nin'; readonly field: FieldRef; readonly values: readonly string[] }
  | { readonly type: 'null' | 'notnull'; readonly field: FieldRef }
  | { readonly type: 'finset'; readonly field: FieldRef; readonly value: string }
  | { readonly type: 'category'; readonly mode: 'in' | 'nin' | 'null' | 'notnull'; readonly ids: readonly number[] };

export interface SortKey {
  readonly field: FieldRef;
  readonly direction: 'ASC' | 'DESC';
}

export interface CatalogQuery {
  /** Groups are ANDed, the conditions in a group ORed. */
  readonly groups: ReadonlyArray<ReadonlyArray<Condition>>;
  /** Then entity_id ascending, the legacy's tie-breaker. MySQL's NULL order: first ASC, last DESC. */
  readonly sorts: readonly SortKey[];
  readonly pageSize: number;
  readonly offset: number;
}

const entityFields: Record<string, { column: EntityColumn; kind: FieldKind }> = {
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

export function resolveCatalogQuery(criteria: SearchCriteria, dictionary: CatalogDictionary): CatalogQuery {
  const resolve = (field: string, path: string): FieldRef | 'category' => {
    if (field === 'category_id') return 'category';
    const entity = entityFields[field];
    if (entity) return { source: 'entity', column: entity.column, kind: entity.kind };
    const attribute = dictionary.byCode.get(field);
    if (!attribute || attribute.backendType === 'static') {
      throw MagentoErrors.invalidField(path, `There is no product field or attribute "${field}".`);
    }
    return { source: 'attribute', code: attribute.code, kind: kindOfBackend[attribute.backendType], long: attribute.backendType === 'text' };
  };

  const groups = criteria.filterGroups.map((group) =>
    group.map((filter): Condition => {
      const field = resolve(filter.field, `${filter.path}[field]`);
      return field === 'category' ? categoryCondition(filter) : fieldCondition(filter, field);
    }),
  );
  const sorts = criteria.sortOrders.map((order): SortKey => {
    const field = resolve(order.field, `${order.path}[field]`);
    if (field === 'category') throw MagentoErrors.invalidField(`${order.path}[field]`, 'Products cannot be sorted by category_id.');
    return { field, direction: order.direction };
  });
  const pageSize = criteria.pageSize ?? PAGE_SIZE_DEFAULT;
  return Object.freeze({ groups, sorts, pageSize, offset: ((criteria.currentPage ?? 1) - 1) * pageSize });
}

function fieldCondition(filter: Filter, field: FieldRef): Condition {
  const valuePath = `${filter.path}[value]`;
  const typed = (raw: string): string => typedValue(raw, field.kind, valuePath);
  const value = filter.value ?? '';
  switch (filter.conditionType) {
    case 'eq':
      return { type: 'compare', field, op: '=', value: typed(value) };
    case 'neq':
      return { type: 'compare', field, op: '<>', value: typed(value) };
    case 'gt':
      return { type: 'compare', field, op: '>', value: typed(value) };
    case 'gteq':
    case 'from':
      return { type: 'compare', field, op: '>=', value: typed(value) };
    case 'lt':
      return { type: 'compare', field, op: '<', value: typed(value) };
    case 'lteq':
    case 'to':
      return { type: 'compare', field, op: '<=', value: typed(value) };
    case 'like':
      return { type: 'like', field, pattern: value };
    case 'in':
      return { type: 'in', field, values: list(value).map(typed) };
    case 'nin':
      return { type: 'nin', field, values: list(value).map(typed) };
    case 'null':
      return { type: 'null', field };
    case 'notnull':
      return { type: 'notnull', field };
    case 'finset':
      return { type: 'finset', field, value };
  }
}

function categoryCondition(filter: Filter): Condition {
  const ids = () => list(filter.value ?? '').map((id) => Number(typedValue(id, 'int', `${filter.path}[value]`)));
  switch (filter.conditionType) {
    case 'eq':
    case 'in':
      return { type: 'category', mode: 'in', ids: ids() };
    case 'neq':
    case 'nin':
      return { type: 'category', mode: 'nin', ids: ids() };
    case 'null':
      return { type: 'category', mode: 'null', ids: [] };
    case 'notnull':
      return { type: 'category', mode: 'notnull', ids: [] };
    default:
      throw MagentoErrors.invalidField(
        `${filter.path}[condition_type]`,
        `category_id can be filtered with eq, neq, in, nin, null or notnull, not "${filter.conditionType}".`,
      );
  }
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function typedValue(raw: string, kind: FieldKind, path: string): string {
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
