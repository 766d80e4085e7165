import type { RequestListener } from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import compression from 'compression';
import { MagentoError, sendMagentoError } from '../../../legacy-stub/api/magento-error.ts';
import type { Logger } from '../../../platform/logger.ts';
import { StranglerError } from '../../../platform/errors.ts';
import type { CatalogDictionary } from '../domain/catalog-dictionary.ts';
import type { PimMetrics } from '../metrics.ts';
import type { ProductStore } from '../store/product-store.ts';
import type { Freshness } from '../sync/freshness.ts';
import { createProductReads } from './product-reads.ts';
import type { ProductResponseCache } from './product-response-cache.ts';
import { productsRouter } from './products-router.ts';
import { searchRouter } from './search-router.ts';

export interface PimAppDeps {
  store: ProductStore;
  dictionary: () => Promise<CatalogDictionary>;
  freshness: Freshness;
  metrics: PimMetrics;
  logger: Logger;
  /** get-by-sku answers kept between document writes; the store's writes must invalidate it (invalidatingWrites). */
  productCache?: ProductResponseCache;
}

/**
 * The PIM's HTTP API: the legacy's product reads under /rest/V1, /search, and the freshness
 * endpoints. Every response carries X-Data-Lsn: the commit LSN of the newest legacy change its
 * data includes, so a client (or the proxy's shadow comparison) can tell how fresh it is.
 *
 * A request listener for node:http: the two storefront reads are answered before express when
 * they can be (product-reads.ts, the same bytes), everything else by the express app.
 */
export function createPimApp(deps: PimAppDeps): RequestListener {
  const app = createExpressApp(deps);
  const reads = createProductReads(deps, app);
  return (req, res) => {
    if (!reads(req, res)) app(req, res);
  };
}

function createExpressApp(deps: PimAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(compression());
  app.use(dataLsn(deps.freshness));
  app.use(timing(deps.metrics));

  app.get('/healthz', async (_req, res) => {
    const status = await deps.freshness.status();
    // `status` is the process's ('ok'); the sync's own ('seeding', 'ready', …) is `sync` here and `status` in /readyz.
    res.json({ ...status, status: 'ok', sync: status.status, store: deps.store.kind });
  });
  app.get('/readyz', async (_req, res) => {
    const status = await deps.freshness.status();
    res.status(status.caughtUp ? 200 : 503).json({ ready: status.caughtUp, ...status });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use('/rest/V1', productsRouter({ store: deps.store, dictionary: deps.dictionary }));
  app.use(searchRouter({ store: deps.store }));
  app.use(errorHandler(deps.logger));
  return app;
}

function dataLsn(freshness: Freshness): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('X-Data-Lsn', freshness.appliedLsn() ?? '0/0');
    next();
  };
}

function timing(metrics: PimMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.requestSeconds.startTimer();
    res.on('finish', () => {
      const route = req.path.startsWith('/rest/V1/products/') ? '/rest/V1/products/:sku' : req.path;
      end({ route: route.length > 40 ? 'other' : route, status: String(res.statusCode) });
    });
    next();
  };
}

/** Magento's error body for the legacy's endpoints; StranglerErrors with their code and remedy. */
function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof MagentoError) return sendMagentoError(res, error);
    if (error instanceof StranglerError && error.status !== undefined && error.status < 500) {
      res.status(error.status).json({ code: error.code, message: error.message, remedy: error.remedy });
      return;
    }
    logger.error({ err: error, url: req.originalUrl }, 'unhandled error in the PIM');
    if (req.path.startsWith('/rest/V1/')) {
      res.status(500).json({ message: 'Internal Error. Details are available in Magento log file. Report ID: %1', parameters: [String(Date.now())] });
      return;
    }
    const code = error instanceof StranglerError ? error.code : 'PIM_INTERNAL';
    res.status(error instanceof StranglerError ? (error.status ?? 500) : 500).json({ code, message: 'internal error' });
  };
}
