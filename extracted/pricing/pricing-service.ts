import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../../platform/migrations.ts';
import type { Logger } from '../../platform/logger.ts';
import type { BridgeStatus } from './api/pricing-app.ts';
import { createPricingServer } from './api/pricing-server.ts';
import { FactsCache } from './api/facts-cache.ts';
import { PricingMetrics } from './metrics.ts';
import { PriceStore } from './store/price-store.ts';
import { PriceSync } from './sync/price-sync.ts';
import type { PricingConfig } from './pricing-config.ts';
import { PricingErrors } from './errors.ts';
import { requestSnapshot } from '../../cdc/snapshot/snapshot-request.ts';

export const PRICING_MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'store', 'migrations');

export interface PricingServiceDeps {
  config: Pick<PricingConfig, 'port' | 'host' | 'databaseUrl' | 'amqpUrl' | 'cdcHealthUrl' | 'exchange' | 'serverName' | 'queue' | 'cacheTtlSeconds' | 'poolSize'> & Partial<Pick<PricingConfig, 'signalQueue'>>;
  logger: Logger;
  clock?: () => Date;
  metrics?: PricingMetrics;
  /** Consumer kit retry policy (tests shorten it). */
  maxAttempts?: number;
  retryBackoff?: { initialMs: number; maxMs: number };
  /**
   * How an empty store asks for its snapshot; default: publish the request to the bridge's signal
   * queue (cdc/snapshot/snapshot-request.ts), targeted at this service's queue.
   */
  requestSnapshot?: (snapshotId: string, tables: readonly string[]) => Promise<void>;
  /** How long to keep trying to reach RabbitMQ at start (it may come up after us, as in docker compose). */
  brokerWaitMs?: number;
}

export interface PricingService {
  url: string;
  port: number;
  pool: pg.Pool;
  store: PriceStore;
  sync: PriceSync;
  cache: FactsCache;
  metrics: PricingMetrics;
  close(): Promise<void>;
}

/** Migrates the store, starts following the CDC stream and serves the API: the whole service, for main.ts and tests. */
export async function startPricingService(deps: PricingServiceDeps): Promise<PricingService> {
  const { config } = deps;
  const logger = deps.logger.child({ component: 'pricing' });
  await migrate(config.databaseUrl, PRICING_MIGRATIONS, deps.logger).catch((error: unknown) => {
    throw PricingErrors.storeUnavailable(error);
  });
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.poolSize });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle pricing store connection failed'));
  const store = new PriceStore(pool);
  const metrics = deps.metrics ?? new PricingMetrics();
  // A bound, so that requests for made-up skus (cached as unknown) cannot grow the cache without limit.
  const cache = new FactsCache({ ttlSeconds: config.cacheTtlSeconds, maxKeys: 500_000, metrics });
  let sync: PriceSync;
  try {
    const initialLsn = await store.lastAppliedLsn();
    sync = await withRetry(logger, deps.brokerWaitMs ?? 30_000, () => PriceSync.start({
      pool,
      amqpUrl: config.amqpUrl,
      queue: config.queue,
      exchange: config.exchange,
      serverName: config.serverName,
      logger: deps.logger,
      metrics,
      onInvalidate: (invalidation) => cache.invalidate(invalidation),
      initialLsn,
      maxAttempts: deps.maxAttempts,
      retryBackoff: deps.retryBackoff,
      requestSnapshot:
        deps.requestSnapshot ??
        (async (id, tables) => {
          await requestSnapshot({ amqpUrl: config.amqpUrl, request: { id, target: config.queue, tables: [...tables] }, queue: config.signalQueue, connectionName: `pricing-seed:${config.queue}` });
        }),
    }));
  } catch (error) {
    await pool.end().catch(() => undefined);
    cache.close();
    throw error;
  }
  const server = createPricingServer({
    store,
    cache,
    metrics,
    logger,
    clock: deps.clock ?? (() => new Date()),
    appliedLsn: () => sync.appliedLsn,
    progress: () => sync.progress(),
    bridgeStatus: () => fetchBridgeStatus(config.cdcHealthUrl),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  // Keep-alive longer than typical client pools, so benchmarks and proxies reuse connections.
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, `pricing service listening on http://${config.host}:${port}/`);
  return {
    url: `http://${config.host}:${port}`,
    port,
    pool,
    store,
    sync,
    cache,
    metrics,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sync.stop();
      cache.close();
      await pool.end();
    },
  };
}

/** Retries `start` with a growing pause until it succeeds or `waitMs` has passed; then throws PRICING_BROKER_UNAVAILABLE. */
async function withRetry<T>(logger: Logger, waitMs: number, start: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let pause = 250; ; pause = Math.min(pause * 2, 5000)) {
    try {
      return await start();
    } catch (error) {
      if (Date.now() + pause > deadline) throw PricingErrors.brokerUnavailable(error);
      logger.warn({ err: error, retryInMs: pause }, 'cannot follow the CDC queue yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

async function fetchBridgeStatus(url: string): Promise<BridgeStatus | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(500) });
    const body = (await response.json()) as Partial<BridgeStatus>;
    return { state: String(body.state ?? 'unknown'), flushedLsn: body.flushedLsn ?? null, receivedLsn: body.receivedLsn ?? null };
  } catch {
    return null;
  }
}
