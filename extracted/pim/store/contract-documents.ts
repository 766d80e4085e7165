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

export const contractDictionary = dictionary;
