import { describe, expect, it } from 'vitest';
import { MagentoError } from '../api/magento-error.ts';
import { conditionTypes, echoSearchCriteria, parseSearchCriteria } from './search-criteria.ts';

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

function badField(rawQuery: string): unknown {
  try {
    parseSearchCriteria(rawQuery);
  } catch (error) {
    expect(error).toBeInstanceOf(MagentoError);
    expect((error as MagentoError).status).toBe(400);
    return (error as MagentoError).parameters;
  }
  throw new Error('expected the criteria to be refused');
}

describe('searchCriteria grammar', () => {
  it('reads filter groups, filters, sort orders and paging, in index order', () => {
    const criteria = parseSearchCriteria(
      q({
        'searchCriteria[filter_groups][1][filters][0][field]': 'status',
        'searchCriteria[filter_groups][1][filters][0][value]': '1',
        'searchCriteria[filter_groups][0][filters][10][field]': 'name',
        'searchCriteria[filter_groups][0][filters][10][value]': '%Tee',
        'searchCriteria[filter_groups][0][filters][10][condition_type]': 'LIKE',
        'searchCriteria[filter_groups][0][filters][2][field]': 'sku',
        'searchCriteria[filter_groups][0][filters][2][value]': 'MT-1',
        'searchCriteria[sortOrders][0][field]': 'price',
        'searchCriteria[sortOrders][0][direction]': 'asc',
        'searchCriteria[pageSize]': '10',
        'searchCriteria[currentPage]': '2',
        'fields': 'items[sku]',
      }),
    );
    expect(criteria.filterGroups.map((group) => group.map((filter) => [filter.field, filter.value, filter.conditionType]))).toEqual([
      [
        ['sku', 'MT-1', 'eq'],
        ['name', '%Tee', 'like'],
      ],
      [['status', '1', 'eq']],
    ]);
    expect(criteria.filterGroups[0]![1]!.path).toBe('searchCriteria[filter_groups][0][filters][10]');
    expect(criteria.sortOrders).toEqual([{ field: 'price', direction: 'ASC', path: 'searchCriteria[sortOrders][0]' }]);
    expect(criteria).toMatchObject({ pageSize: 10, currentPage: 2 });
    expect(Object.isFrozen(criteria)).toBe(true);
  });

  it('accepts snake_case and camelCase keys alike, as Magento maps both to one setter', () => {
    const snake = parseSearchCriteria(q({ 'searchCriteria[page_size]': '3', 'searchCriteria[sort_orders][0][field]': 'name', 'searchCriteria[filterGroups][0][filters][0][field]': 'sku', 'searchCriteria[filterGroups][0][filters][0][value]': 'A', 'searchCriteria[filterGroups][0][filters][0][conditionType]': 'neq' }));
    expect(snake.pageSize).toBe(3);
    expect(snake.sortOrders[0]!.field).toBe('name');
    expect(snake.filterGroups[0]![0]!.conditionType).toBe('neq');
  });

  it('knows every condition type of Magento\'s grammar', () => {
    for (const type of conditionTypes) {
      const criteria = parseSearchCriteria(
        q({ 'searchCriteria[filter_groups][0][filters][0][field]': 'sku', 'searchCriteria[filter_groups][0][filters][0][value]': 'x', 'searchCriteria[filter_groups][0][filters][0][condition_type]': type }),
      );
      expect(criteria.filterGroups[0]![0]!.conditionType).toBe(type);
    }
    expect(conditionTypes).toEqual(['eq', 'neq', 'like', 'in', 'nin', 'gt', 'gteq', 'lt', 'lteq', 'from', 'to', 'null', 'notnull', 'finset']);
  });

  it('lets null and notnull go without a value', () => {
    const criteria = parseSearchCriteria(q({ 'searchCriteria[filter_groups][0][filters][0][field]': 'special_price', 'searchCriteria[filter_groups][0][filters][0][condition_type]': 'null' }));
    expect(criteria.filterGroups[0]![0]!.value).toBeUndefined();
  });

  it('reads the direction as Magento: ASC in any case ascends, anything else descends', () => {
    const direction = (value?: string) =>
      parseSearchCriteria(q({ 'searchCriteria[sortOrders][0][field]': 'name', ...(value === undefined ? {} : { 'searchCriteria[sortOrders][0][direction]': value }) })).sortOrders[0]!.direction;
    expect(direction('ASC')).toBe('ASC');
    expect(direction('Asc')).toBe('ASC');
    expect(direction('DESC')).toBe('DESC');
    expect(direction('ascending')).toBe('DESC');
    expect(direction()).toBe('DESC');
  });

  it('echoes the criteria in Magento\'s snake_case, only with what was given', () => {
    expect(echoSearchCriteria(parseSearchCriteria('searchCriteria'))).toEqual({ filter_groups: [] });
    expect(
      echoSearchCriteria(
        parseSearchCriteria(q({ 'searchCriteria[filter_groups][0][filters][0][field]': 'sku', 'searchCriteria[filter_groups][0][filters][0][value]': 'A', 'searchCriteria[sortOrders][0][field]': 'price', 'searchCriteria[sortOrders][0][direction]': 'ASC', 'searchCriteria[pageSize]': '5', 'searchCriteria[currentPage]': '1' })),
      ),
    ).toEqual({
      filter_groups: [{ filters: [{ field: 'sku', value: 'A', condition_type: 'eq' }] }],
      sort_orders: [{ field: 'price', direction: 'ASC' }],
      page_size: 5,
      current_page: 1,
    });
  });

  it('a repeated key keeps the last value, as PHP does', () => {
    expect(parseSearchCriteria('searchCriteria[pageSize]=5&searchCriteria[pageSize]=7').pageSize).toBe(7);
  });

  it.each([
    ['no searchCriteria at all', 'foo=bar', { fieldName: 'searchCriteria' }],
    ['a non-numeric index', q({ 'searchCriteria[filter_groups][first][filters][0][field]': 'sku' }), { fieldName: 'searchCriteria[filter_groups][first]' }],
    ['empty brackets', 'searchCriteria[filter_groups][][filters][0][field]=sku', { fieldName: 'searchCriteria[filter_groups][][filters][0][field]' }],
    ['a value given as a group too', 'searchCriteria[pageSize]=5&searchCriteria[pageSize][0]=1', { fieldName: 'searchCriteria[pageSize][0]' }],
    ['an unknown filter key', q({ 'searchCriteria[filter_groups][0][filters][0][field]': 'sku', 'searchCriteria[filter_groups][0][filters][0][operator]': 'eq' }), { fieldName: 'searchCriteria[filter_groups][0][filters][0][operator]' }],
    ['a filter without a field', q({ 'searchCriteria[filter_groups][0][filters][0][value]': 'x' }), { fieldName: 'searchCriteria[filter_groups][0][filters][0][field]' }],
    ['a negative pageSize', q({ 'searchCriteria[pageSize]': '-1' }), { fieldName: 'searchCriteria[pageSize]' }],
    ['a fractional currentPage', q({ 'searchCriteria[currentPage]': '1.5' }), { fieldName: 'searchCriteria[currentPage]' }],
  ])('refuses %s with a 400 naming the field', (_case, rawQuery, parameters) => {
    expect(badField(rawQuery)).toEqual(parameters);
  });
});
