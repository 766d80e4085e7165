import { z } from 'zod';
import { MagentoErrors } from '../api/magento-error.ts';

/**
 * Magento 2's searchCriteria, as a client puts it in a query string:
 *
 *   searchCriteria[filter_groups][0][filters][0][field]=name
 *   searchCriteria[filter_groups][0][filters][0][value]=%25Tee
 *   searchCriteria[filter_groups][0][filters][0][condition_type]=like
 *   searchCriteria[sortOrders][0][field]=price&searchCriteria[sortOrders][0][direction]=ASC
 *   searchCriteria[pageSize]=20&searchCriteria[currentPage]=1
 *
 * Filters in one group are ORed, groups are ANDed. Magento's input processor maps snake_case and
 * camelCase keys to the same setter, so `page_size` and `pageSize` both work here too. This
 * module only knows the grammar; which fields exist is product-query.ts's business.
 */
export const conditionTypes = ['eq', 'neq', 'like', 'in', 'nin', 'gt', 'gteq', 'lt', 'lteq', 'from', 'to', 'null', 'notnull', 'finset'] as const;
export type ConditionType = (typeof conditionTypes)[number];

export interface Filter {
  readonly field: string;
  /** Absent for `null` / `notnull`, which ignore it. */
  readonly value: string | undefined;
  readonly conditionType: ConditionType;
  /** Where the filter sits in the query string, for error messages: `searchCriteria[filter_groups][0][filters][1]`. */
  readonly path: string;
}

export interface SortOrder {
  readonly field: string;
  readonly direction: 'ASC' | 'DESC';
  readonly path: string;
}

export interface SearchCriteria {
  readonly filterGroups: ReadonlyArray<ReadonlyArray<Filter>>;
  readonly sortOrders: ReadonlyArray<SortOrder>;
  /** As the client gave them; the search applies defaults (see PAGE_SIZE_*). */
  readonly pageSize: number | undefined;
  readonly currentPage: number | undefined;
}

/**
 * Magento 2.4's Web API input limits (Stores > Configuration > Services > Web Api Input Limits):
 * 20 items when no pageSize is given, at most 300 per page. Magento ships them disabled; we
 * enable them because an unpaged request on a 100,000-product catalog would answer hundreds of MB.
 */
export const PAGE_SIZE_DEFAULT = 20;
export const PAGE_SIZE_MAX = 300;

// Canonical spelling of each key, matched without underscores and case, as Magento does.
const canonicalKeys = new Map(
  ['filter_groups', 'filters', 'field', 'value', 'condition_type', 'sortOrders', 'direction', 'pageSize', 'currentPage'].map((key) => [
    key.replace(/_/g, '').toLowerCase(),
    key,
  ]),
);

type RawTree = { [key: string]: RawTree | string };

const wholeNumber = (name: string, max?: number) =>
  z.string().regex(/^\d+$/, `${name} must be a whole number`).transform(Number).pipe(
    z.number().int().min(1, `${name} must be at least 1`).max(max ?? Number.MAX_SAFE_INTEGER, `${name} must be at most ${max}`),
  );

const indexed = <T extends z.ZodType>(item: T) =>
  z
    .record(z.string().regex(/^\d+$/, 'an index must be a whole number'), item)
    .transform((record) =>
      Object.entries(record)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([index, value]) => ({ index, value: value as z.output<T> })),
    );

const filterSchema = z.strictObject({
  field: z.string({ error: 'field is required' }).min(1, 'field is required'),
  value: z.string().optional(),
  condition_type: z
    .string()
    .transform((type) => type.toLowerCase())
    .pipe(z.enum(conditionTypes, { error: `condition_type must be one of ${conditionTypes.join(', ')}` }))
    .optional(),
});

const criteriaSchema = z.strictObject({
  filter_groups: indexed(z.strictObject({ filters: indexed(filterSchema).optional() })).optional(),
  sortOrders: indexed(
    z.strictObject({ field: z.string({ error: 'field is required' }).min(1, 'field is required'), direction: z.string().optional() }),
  ).optional(),
  pageSize: wholeNumber('pageSize', PAGE_SIZE_MAX).optional(),
  currentPage: wholeNumber('currentPage').optional(),
});

/**
 * Parses the `searchCriteria[...]` parameters of a raw query string (everything after `?`).
 * Magento answers 400 '"searchCriteria" is required' when none is given; so do we.
 */
export function parseSearchCriteria(rawQuery: string): SearchCriteria {
  const params = new URLSearchParams(rawQuery);
  let present = false;
  const tree: RawTree = {};
  for (const [key, value] of params) {
    if (key !== 'searchCriteria' && !key.startsWith('searchCriteria[')) continue;
    present = true;
    if (key === 'searchCriteria') continue;
    const match = /^searchCriteria((?:\[[^[\]]*\])+)$/.exec(key);
    if (!match) throw MagentoErrors.invalidField(key, 'The parameter name is not a searchCriteria path.');
    const segments = [...match[1]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => canonicalKeys.get(m[1]!.replace(/_/g, '').toLowerCase()) ?? m[1]!);
    insert(tree, segments, value, key);
  }
  if (!present) throw MagentoErrors.requiredField('searchCriteria');

  const parsed = criteriaSchema.safeParse(tree);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    // An unknown key is reported on the key itself, not on its parent object.
    if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
    throw MagentoErrors.invalidField(pathName(path), issue.message);
  }
  const data = parsed.data;
  const filterGroups = (data.filter_groups ?? []).map(({ index: g, value: group }) =>
    Object.freeze(
      (group.filters ?? []).map(({ index: f, value: filter }): Filter => {
        const path = `searchCriteria[filter_groups][${g}][filters][${f}]`;
        const conditionType = filter.condition_type ?? 'eq';
        if (filter.value === undefined && conditionType !== 'null' && conditionType !== 'notnull') {
          throw MagentoErrors.invalidField(`${path}[value]`, `a value is required for condition_type "${conditionType}"`);
        }
        return Object.freeze({ field: filter.field, value: filter.value, conditionType, path });
      }),
    ),
  );
  const sortOrders = (data.sortOrders ?? []).map(({ index, value: order }): SortOrder =>
    Object.freeze({
      field: order.field,
      // Magento's SortingProcessor: `direction == ASC ? ASC : DESC` after upper-casing, so
      // anything else (DESC, desc, down, or none at all) sorts descending.
      direction: order.direction?.toUpperCase() === 'ASC' ? 'ASC' : 'DESC',
      path: `searchCriteria[sortOrders][${index}]`,
    }),
  );
  return Object.freeze({
    filterGroups: Object.freeze(filterGroups.filter((group) => group.length > 0)),
    sortOrders: Object.freeze(sortOrders),
    pageSize: data.pageSize,
    currentPage: data.currentPage,
  });
}

/** The criteria as Magento echoes them in `search_criteria`: snake_case, given fields only. */
export function echoSearchCriteria(criteria: SearchCriteria): Record<string, unknown> {
  const echo: Record<string, unknown> = {
    filter_groups: criteria.filterGroups.map((group) => ({
      filters: group.map((filter) => ({
        field: filter.field,
        ...(filter.value === undefined ? {} : { value: filter.value }),
        condition_type: filter.conditionType,
      })),
    })),
  };
  if (criteria.sortOrders.length > 0) {
    echo.sort_orders = criteria.sortOrders.map((order) => ({ field: order.field, direction: order.direction }));
  }
  if (criteria.pageSize !== undefined) echo.page_size = criteria.pageSize;
  if (criteria.currentPage !== undefined) echo.current_page = criteria.currentPage;
  return echo;
}

function insert(tree: RawTree, segments: string[], value: string, key: string): void {
  let node = tree;
  for (const [i, segment] of segments.entries()) {
    if (segment === '') throw MagentoErrors.invalidField(key, 'Empty brackets are not allowed; give every item an index.');
    const last = i === segments.length - 1;
    const existing = node[segment];
    if (last) {
      if (typeof existing === 'object') throw MagentoErrors.invalidField(key, 'It is given both as a value and as a group.');
      node[segment] = value; // a repeated key: the last one wins, as in PHP
    } else {
      if (typeof existing === 'string') throw MagentoErrors.invalidField(key, 'It is given both as a value and as a group.');
      node = (existing ?? (node[segment] = {})) as RawTree;
    }
  }
}

function pathName(path: readonly string[]): string {
  return `searchCriteria${path.map((segment) => `[${segment}]`).join('')}`;
}
