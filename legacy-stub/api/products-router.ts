import { Router, type Request } from 'express';
import type { LegacyDeps } from '../app.ts';
import { MagentoErrors } from './magento-error.ts';
import { createProductRepository } from '../catalog/product-repository.ts';
import { parseProductBody } from '../catalog/product-input.ts';
import { echoSearchCriteria, parseSearchCriteria } from '../catalog/search-criteria.ts';

/**
 * Magento 2's catalog product endpoints, mounted under /rest/V1:
 *   GET    /products?searchCriteria[...]  → { items, search_criteria, total_count }
 *   GET    /products/:sku                 → the product
 *   POST   /products        { product }   → the product (creates, or updates an existing sku, as Magento's save)
 *   PUT    /products/:sku   { product }   → the product (404 when the sku does not exist)
 *   DELETE /products/:sku                 → true
 * Errors are MagentoErrors, rendered by magentoErrorHandler as `{ message, parameters }`.
 */
export function productsRouter(deps: LegacyDeps): Router {
  const repository = createProductRepository({ pool: deps.pool, clock: deps.clock });
  const router = Router();

  router.get('/products', async (req, res) => {
    const criteria = parseSearchCriteria(rawQuery(req));
    const { items, totalCount } = await repository.search(criteria);
    res.json({ items, search_criteria: echoSearchCriteria(criteria), total_count: totalCount });
  });

  router.get('/products/:sku', async (req, res) => {
    res.json(await repository.get(req.params.sku));
  });

  router.post('/products', async (req, res) => {
    const input = parseProductBody(req.body);
    if (input.sku === undefined) throw MagentoErrors.requiredField('product.sku');
    res.json(await repository.save(input, { mode: 'upsert', sku: input.sku }));
  });

  router.put('/products/:sku', async (req, res) => {
    const input = parseProductBody(req.body);
    const sku = req.params.sku;
    // Magento would save under the body's sku and so create a second product; renaming a sku
    // through the URL of another is almost always a client bug, so it is refused here.
    if (input.sku !== undefined && input.sku !== sku) {
      throw MagentoErrors.invalidField('product.sku', `The sku in the body ("${input.sku}") differs from the sku in the URL ("${sku}").`);
    }
    res.json(await repository.save(input, { mode: 'update', sku }));
  });

  router.delete('/products/:sku', async (req, res) => {
    await repository.delete(req.params.sku);
    res.json(true);
  });

  return router;
}

/** searchCriteria keys hold brackets that express's query parser would reshape; parse the raw string. */
function rawQuery(req: Request): string {
  const index = req.originalUrl.indexOf('?');
  return index === -1 ? '' : req.originalUrl.slice(index + 1);
}
