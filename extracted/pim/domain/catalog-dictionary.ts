/**
 * What the PIM knows about the product attributes, resolved from the eav_attribute and
 * eav_attribute_option(_value) rows it received from the CDC stream — never hard-coded ids, as
 * the legacy's reference data warns (attribute ids are assigned by the legacy database).
 */
export type BackendType = 'static' | 'varchar' | 'int' | 'decimal' | 'text' | 'datetime';

export interface AttributeInfo {
  readonly id: number;
  readonly code: string;
  readonly backendType: BackendType;
  readonly frontendInput: string | null;
}

export interface CatalogDictionary {
  /** Product attributes (entity type 4) in attribute_id order: the legacy's custom_attributes order. */
  readonly byCode: ReadonlyMap<string, AttributeInfo>;
  readonly byId: ReadonlyMap<number, AttributeInfo>;
  /** option_id → its admin (store 0) label, for select attributes such as color and size. */
  readonly optionLabels: ReadonlyMap<number, string>;
}

export function createCatalogDictionary(attributes: readonly AttributeInfo[], optionLabels: ReadonlyMap<number, string>): CatalogDictionary {
  const sorted = [...attributes].sort((a, b) => a.id - b.id).map((a) => Object.freeze({ ...a }));
  return Object.freeze({
    byCode: new Map(sorted.map((a) => [a.code, a])),
    byId: new Map(sorted.map((a) => [a.id, a])),
    optionLabels,
  });
}
