import express, { Router } from 'express';
import compression from 'compression';
import type { Logger } from '../../../platform/logger.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import { amountNumber, parseAmount } from '../domain/decimal-amount.ts';
import type { PriceStore } from '../store/price-store.ts';
import type { SyncProgress } from '../sync/price-sync.ts';
import type { PricingMetrics } from '../metrics.ts';
import type { FactsCache } from './facts-cache.ts';
import { magentoErrorHandler } from './magento-error.ts';
import { answerFinalPrice } from './final-price.ts';
import { parseBody, skusBody, type ParsedQuery } from './price-request.ts';

/** What the bridge's /healthz says (cdc/health-server.ts), the part the service uses. */
export interface BridgeStatus {
  state: string;
  flushedLsn: string | null;
  receivedLsn: string | null;
}

export interface PricingAppDeps {
  store: PriceStore;
  cache: FactsCache;
  metrics: PricingMetrics;
  logger: Logger;
  /** "Now" for special-price windows; tests pin it. */
  clock: () => Date;
  /** The last applied LSN, for X-Data-Lsn (cheap: read on every response). */
  appliedLsn: () => Lsn | null;
  progress: () => Promise<SyncProgress>;
  /** The bridge's status, or null when it cannot be reached. */
  bridgeStatus: () => Promise<BridgeStatus | null>;
}

/** Magento's "all customer groups" name in tier price answers. */
const ALL_GROUPS = 'ALL GROUPS';

/**
 * The pricing service's HTTP API: the legacy's price endpoints with the same JSON byte for byte
 * (fields, order, number formatting, error bodies and statuses), plus /healthz, /readyz, /metrics.
 * Every response carries X-Data-Lsn: the legacy commit LSN the store has applied up to.
 */
export function createPricingApp(deps: PricingAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.setHeader('X-Data-Lsn', (deps.appliedLsn() ?? Lsn.ZERO).toString());
    next();
  });
  // As the legacy does, so that a client (or the proxy's shadow comparison) sees the same headers.
  app.use(compression());

  app.get('/healthz', async (_req, res) => {
    const [progress, bridge] = await Promise.all([deps.progress(), deps.bridgeStatus()]);
    const bridgeLsn = bridge?.flushedLsn ? Lsn.parse(bridge.flushedLsn) : null;
    // The consumer kit does not reconnect: a queue without consumers means this process stopped
    // following the legacy, and a restart (which /healthz failing asks for) is the cure.
    const consuming = progress.queue === null || progress.queue.consumers > 0;
    res.status(consuming ? 200 : 503).json({
      status: consuming ? 'ok' : 'not-consuming',
      appliedLsn: progress.appliedLsn?.toString() ?? null,
      appliedCommitTime: progress.appliedCommitTimeMs === null ? null : new Date(progress.appliedCommitTimeMs).toISOString(),
      caughtUp: progress.caughtUp,
      lagSeconds: progress.lagSeconds,
      // Bytes of legacy WAL between the bridge's confirmed position and ours: an upper bound, since
      // it also counts changes to tables pricing does not follow.
      lagBytes: bridgeLsn ? walBytesBehind(bridgeLsn, progress.appliedLsn) : null,
      seeded: progress.seed.state === 'seeded',
      seed: progress.seed,
      queue: progress.queue,
      bridge: bridge ? { reachable: true, state: bridge.state, flushedLsn: bridge.flushedLsn, receivedLsn: bridge.receivedLsn } : { reachable: false },
      cache: { keys: deps.cache.size },
    });
  });
  app.get('/readyz', async (_req, res) => {
    const progress = await deps.progress();
    // While an empty store seeds itself from a snapshot: { status: 'seeding', snapshot: { id, rowsEmitted, … } }.
    const seeding = progress.seed.state !== 'seeded';
    res.status(progress.caughtUp ? 200 : 503).json({
      ready: progress.caughtUp,
      status: seeding ? progress.seed.state : progress.caughtUp ? 'ready' : 'catching-up',
      snapshot: progress.seed.snapshot,
      appliedLsn: progress.appliedLsn?.toString() ?? null,
      queue: progress.queue,
      lagSeconds: progress.lagSeconds,
    });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.use('/rest/V1', express.json({ limit: '10mb' }));
  app.use('/rest/V1', priceRoutes(deps));
  app.use(magentoErrorHandler(deps.logger));
  return app;
}

function walBytesBehind(bridge: Lsn, applied: Lsn | null): number {
  const behind = bridge.minus(applied ?? Lsn.ZERO);
  return behind > 0n ? Number(behind) : 0;
}

function priceRoutes(deps: PricingAppDeps): Router {
  const router = Router();

  router.post('/products/base-prices-information', async (req, res) => {
    const { skus } = parseBody(skusBody, req);
    const rows = await deps.store.basePrices(skus);
    res.json(rows.map((row) => ({ price: amountNumber(parseAmount(row.price)), store_id: row.storeId, sku: row.sku })));
  });

  router.post('/products/tier-prices-information', async (req, res) => {
    const { skus } = parseBody(skusBody, req);
    const rows = await deps.store.tierPrices(skus);
    res.json(
      rows.map((row) => ({
        price: amountNumber(parseAmount(row.percentageValue ?? row.value)),
        price_type: row.percentageValue === null ? 'fixed' : 'discount',
        website_id: row.websiteId,
        sku: row.sku,
        customer_group: row.allGroups ? ALL_GROUPS : row.customerGroupCode,
        quantity: amountNumber(parseAmount(row.qty)),
      })),
    );
  });

  router.post('/products/special-price-information', async (req, res) => {
    const { skus } = parseBody(skusBody, req);
    const rows = await deps.store.specialPrices(skus);
    res.json(
      rows.map((row) => ({ price: amountNumber(parseAmount(row.price)), store_id: row.storeId, sku: row.sku, price_from: row.priceFrom, price_to: row.priceTo })),
    );
  });

  // The canonical path is answered before express by pricing-server.ts; this route takes the
  // variants express also matches (HEAD, a trailing slash, other letter case).
  router.get('/products/:sku/final-price', async (req, res) => {
    const started = performance.now();
    let status = 500;
    try {
      const answer = await answerFinalPrice(deps, req.params.sku, req.query as ParsedQuery);
      status = answer.status;
      res.status(answer.status).json(answer.body);
    } finally {
      deps.metrics.finalPriceSeconds.observe({ status: String(status) }, (performance.now() - started) / 1000);
    }
  });

  return router;
}
