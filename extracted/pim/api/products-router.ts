import { Router, type Request } from 'express';
import { MagentoErrors } from '../../../legacy-stub/api/magento-error.ts';
// The grammar is the contract, so the PIM uses the legacy's own parser (pure: no SQL in it).
import { echoSearchCriteria, parseSearchCriteria } from '../../../legacy-stub/catalog/search-criteria.ts';
import type { CatalogDictionary } from '../domain/catalog-dictionary.ts';
import { resolveCatalogQuery } from '../domain/catalog-query.ts';
import type { ProductStore } from '../store/product-store.ts';

export interface ProductsRouterDeps {
  store: ProductStore;
  dictionary: () => Promise<CatalogDictionary>;
}

/**
 * The legacy's read endpoints, answered from the documents (mounted under /rest/V1):
 *   GET /products?searchCriteria[...] → { items, search_criteria, total_count }
 *   GET /products/:sku                → the product
 * Same JSON (the stored legacy shape is sent as is), same grammar and errors.
 */
export function productsRouter(deps: ProductsRouterDeps): Router {
  const router = Router();

  router.get('/products', async (req, res) => {
    const criteria = parseSearchCriteria(rawQuery(req));
    const query = resolveCatalogQuery(criteria, await deps.dictionary());
    const page = await deps.store.search(query);
    // Assembled as text: the items are the stored JSON, never parsed and re-serialised.
    res
      .type('application/json')
      .send(`{"items":[${page.items.join(',')}],"search_criteria":${JSON.stringify(echoSearchCriteria(criteria))},"total_count":${page.totalCount}}`);
  });

  router.get('/products/:sku', async (req, res) => {
    const stored = await deps.store.getBySku(req.params.sku);
    if (!stored) throw MagentoErrors.productNotFound();
    res.type('application/json').send(stored.json);
  });

  return router;
}

function rawQuery(req: Request): string {
  const index = req.originalUrl.indexOf('?');
  return index === -1 ? '' : req.originalUrl.slice(index + 1);
}
