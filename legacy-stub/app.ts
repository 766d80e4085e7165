import express from 'express';
import compression from 'compression';
import type pg from 'pg';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../platform/logger.ts';
import { magentoErrorHandler } from './api/magento-error.ts';
import { productsRouter } from './api/products-router.ts';
import { pricesRouter } from './api/prices-router.ts';
import { storefrontRouter } from './storefront/storefront-router.ts';

export interface LegacyDeps {
  pool: pg.Pool;
  logger: Logger;
  /** "Now" for special-price windows; tests pin it. */
  clock: () => Date;
}

/** The monolith: Magento-2-shaped REST API and the server-rendered storefront, in one express app. */
export function createLegacyApp(deps: LegacyDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(compression());
  app.use('/static', express.static(fileURLToPath(new URL('./storefront/static', import.meta.url)), { maxAge: '1h' }));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use('/rest/V1', express.json({ limit: '10mb' }));
  // Price routes first: `/products/base-prices-information` must not be taken for a sku.
  app.use('/rest/V1', pricesRouter(deps));
  app.use('/rest/V1', productsRouter(deps));
  app.use(storefrontRouter(deps));
  app.use(magentoErrorHandler(deps.logger));
  return app;
}
