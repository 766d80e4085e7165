import type { MagentoProduct } from '../../../legacy-stub/catalog/magento-product.ts';

/**
 * One product, denormalised: everything the PIM answers about it, assembled from the EAV rows
 * (entity, every attribute type and store scope, categories, stock, tier prices).
 *
 * `version` is the LSN (as a 64-bit integer) of the last change folded into the document; a
 * store never lets a write with a smaller version replace a larger one.
 */
export interface ProductDocument {
  readonly entityId: number;
  readonly sku: string;
  readonly version: bigint;
  readonly typeId: string;
  readonly attributeSetId: number;
  readonly hasOptions: number;
  readonly requiredOptions: number;
  /** 'YYYY-MM-DD hh:mm:ss', as the legacy prints and compares it (sorts like the time itself). */
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Admin-scope (store 0) attribute values by code, in the legacy's text form ('45.000000'), except long texts. */
  readonly fields: Readonly<Record<string, string>>;
  /**
   * Admin-scope values of the `text` backend (descriptions), kept apart so a store can keep the
   * small, often-filtered values compact (PostgreSQL would otherwise de-TOAST every description
   * to read a price).
   */
  readonly texts: Readonly<Record<string, string>>;
  /** Store-view overrides: store_id → code → value. */
  readonly storeValues: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly categoryIds: readonly number[];
  readonly facets: ProductFacets;
  /** Words for full-text search: name, sku, descriptions, material, colour and size labels. */
  readonly searchText: string;
  /** The legacy REST shape (GET /rest/V1/products/:sku), byte for byte what the legacy answers. */
  readonly product: MagentoProduct;
}

export interface ProductFacets {
  readonly categories: ReadonlyArray<{ readonly id: number; readonly name: string }>;
  readonly color: string | null;
  readonly size: string | null;
  /** The base price as a number, for price-range facets (the exact text stays in fields.price). */
  readonly price: number | null;
}

/** A product that no longer exists, with the LSN of its delete. */
export interface ProductRemoval {
  readonly entityId: number;
  readonly version: bigint;
}
