import { parseSearchCriteria } from '../../../legacy-stub/catalog/search-criteria.ts';
import { resolveCatalogQuery, type CatalogQuery } from '../domain/catalog-query.ts';
import { createCatalogDictionary } from '../domain/catalog-dictionary.ts';
import { buildProductDocument } from '../domain/document-builder.ts';
import type { ProductDocument } from '../domain/product-document.ts';

/**
 * Small, fixed documents for the store contract (product-store.contract.ts): the same bytes in
 * every run, so the Elasticsearch recordings can carry them.
 */
const dictionary = createCatalogDictionary(
  [
    { id: 73, code: 'name', backendType: 'varchar', frontendInput: 'text' },
    { id: 77, code: 'price', backendType: 'decimal', frontendInput: 'price' },
    { id: 93, code: 'color', backendType: 'int', frontendInput: 'select' },
  ],
  new Map([[5, 'Red']]),
);

export function contractDocument(options: { entityId: number; sku: string; name: string; price: string; version: bigint }): ProductDocument {
  return buildProductDocument(
    {
      entity: {
        entity_id: options.entityId,
        sku: options.sku,
        type_id: 'simple',
        attribute_set_id: 4,
        has_options: 0,
        required_options: 0,
        created_at: '2025-06-01 10:00:00',
        updated_at: '2025-06-02 11:00:00',
      },
      values: [
        { attribute_id: 73, store_id: 0, value: options.name },
        { attribute_id: 77, store_id: 0, value: options.price },
        { attribute_id: 93, store_id: 0, value: '5' },
      ],
      tierPrices: [],
      categoryLinks: [{ category_id: 3, position: 1 }],
      categoryNames: new Map([[3, 'Tops']]),
      stockItem: null,
      version: options.version,
    },
    dictionary,
  );
}

export const contractDocuments = (() => {
  const a1 = contractDocument({ entityId: 1, sku: 'CT-A', name: 'Alpha Tee', price: '12.500000', version: 1500n });
  const a2 = contractDocument({ entityId: 1, sku: 'CT-A', name: 'Alpha Tee Two', price: '13.000000', version: 2000n });
  const aFirst = contractDocument({ entityId: 1, sku: 'CT-A', name: 'Alpha Tee', price: '12.500000', version: 1000n });
  const aLate = contractDocument({ entityId: 1, sku: 'CT-A', name: 'Alpha Resurrected', price: '1.000000', version: 2400n });
  const b = contractDocument({ entityId: 2, sku: 'CT-B', name: 'Bravo Shorts', price: '10.000000', version: 3000n });
  const c = contractDocument({ entityId: 3, sku: 'CT-C', name: 'Charlie Hoodie', price: '30.000000', version: 3000n });
  const d = contractDocument({ entityId: 4, sku: 'CT-D', name: 'Delta Jacket', price: '20.000000', version: 3000n });
  return { a1, a2, aFirst, aLate, b, c, d };
})();

/** price >= 15, price descending, one per page: the contract's search. */
export const priceQuery = (page: number): CatalogQuery =>
  resolveCatalogQuery(
    parseSearchCriteria(
      new URLSearchParams({
        'searchCriteria[filter_groups][0][filters][0][field]': 'price',
        'searchCriteria[filter_groups][0][filters][0][value]': '15',
        'searchCriteria[filter_groups][0][filters][0][condition_type]': 'gteq',
        'searchCriteria[sortOrders][0][field]': 'price',
        'searchCriteria[sortOrders][0][direction]': 'DESC',
        'searchCriteria[pageSize]': '1',
        'searchCriteria[currentPage]': String(page),
      }).toString(),
    ),
    dictionary,
  );

