/**
 * The shop's category tree, shaped like Magento's: id 1 is the invisible root, id 2 the store's
 * "Default Category", and the visible tree hangs below it. Keys are stable names the catalog
 * generator links products to; ids are assigned by the database in this order.
 */
export interface CategoryNode {
  key: string;
  name: string;
  urlKey: string;
  /** `null` only for the root. */
  parent: string | null;
  isActive?: boolean;
}

export const categoryTree: readonly CategoryNode[] = [
  { key: 'root', name: 'Root Catalog', urlKey: 'root-catalog', parent: null },
  { key: 'default', name: 'Default Category', urlKey: 'default-category', parent: 'root' },
  { key: 'women', name: 'Women', urlKey: 'women', parent: 'default' },
  { key: 'women-tops', name: 'Tops', urlKey: 'women-tops', parent: 'women' },
  { key: 'women-bottoms', name: 'Bottoms', urlKey: 'women-bottoms', parent: 'women' },
  { key: 'men', name: 'Men', urlKey: 'men', parent: 'default' },
  { key: 'men-tops', name: 'Tops', urlKey: 'men-tops', parent: 'men' },
  { key: 'men-bottoms', name: 'Bottoms', urlKey: 'men-bottoms', parent: 'men' },
  { key: 'gear', name: 'Gear', urlKey: 'gear', parent: 'default' },
  { key: 'gear-bags', name: 'Bags', urlKey: 'bags', parent: 'gear' },
  { key: 'gear-fitness', name: 'Fitness Equipment', urlKey: 'fitness-equipment', parent: 'gear' },
  { key: 'gear-watches', name: 'Watches', urlKey: 'watches', parent: 'gear' },
  { key: 'sale', name: 'Sale', urlKey: 'sale', parent: 'default' },
  { key: 'new', name: "What's New", urlKey: 'what-is-new', parent: 'default' },
  { key: 'archive', name: 'Archive', urlKey: 'archive', parent: 'default', isActive: false },
];
