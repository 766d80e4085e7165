import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../../platform/logger.ts';
import { migrate } from '../../platform/migrations.ts';
import { createPimApp } from './api/pim-app.ts';
import { invalidatingWrites, ProductResponseCache, type ProductResponseCacheOptions } from './api/product-response-cache.ts';
import { PimErrors } from './errors.ts';
import { PimMetrics } from './metrics.ts';
import type { ProductStore } from './store/product-store.ts';
import { PostgresProductStore } from './store/postgres/postgres-product-store.ts';
import { CatalogProjector } from './sync/catalog-projector.ts';
import { CatalogSync } from './sync/catalog-sync.ts';
import { Freshness } from './sync/freshness.ts';
import { requestSnapshot } from '../../cdc/snapshot/snapshot-request.ts';

export const PIM_SCHEMA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'schema');

export interface PimServiceDeps {
  databaseUrl: string;
  amqpUrl: string;
  logger: Logger;
  port: number;
  host?: string;
  /** Builds the store on the PIM's pool; default the PostgreSQL store. */
  createStore?: (pool: pg.Pool) => ProductStore;
  queue?: string;
  exchange?: string;
  serverName?: string;
  /** The bridge's signal queue (CDC_SIGNAL_QUEUE); default legacy.cdc.signals. */
  signalQueue?: string;
  bridgeHealthUrl?: string;
  /**
   * How an empty store asks for its snapshot; default: publish the request to the bridge's signal
   * queue (cdc/snapshot/snapshot-request.ts), targeted at the PIM's queue.
   */
  requestSnapshot?: (snapshotId: string, tables: readonly string[]) => Promise<void>;
  metrics?: PimMetrics;
  /** false: serve only (no CDC consumer), e.g. for a benchmark filled by copyLegacySnapshot. */
  follow?: boolean;
  /** The get-by-sku answer cache (api/product-response-cache.ts); false: none, every read asks the store. */
  productCache?: ProductResponseCacheOptions | false;
}

export interface PimService {
  port: number;
  pool: pg.Pool;
  /** The store; its writes invalidate the cached answers (write through it, not around it). */
  store: ProductStore;
  productCache: ProductResponseCache | undefined;
  projector: CatalogProjector;
  freshness: Freshness;
  /** Resolves when the queue is followed (and an empty store's snapshot requested). */
  synced: Promise<void>;
  sync(): CatalogSync | undefined;
  close(): Promise<void>;
}

/** Wires the PIM: migrations, store, projector, HTTP API, then the CDC sync in the background. */
export async function startPimService(deps: PimServiceDeps): Promise<PimService> {
  const log = deps.logger.child({ component: 'pim' });
  try {
    await migrate(deps.databaseUrl, PIM_SCHEMA, deps.logger);
  } catch (error) {
    throw PimErrors.databaseUnavailable(deps.databaseUrl, error);
  }
  const pool = new pg.Pool({ connectionString: deps.databaseUrl, max: 10 });
  pool.on('error', (error) => log.warn({ err: error }, 'idle PIM database connection failed'));
  const productCache = deps.productCache === false ? undefined : new ProductResponseCache(deps.productCache);
  const createdStore = deps.createStore ? deps.createStore(pool) : new PostgresProductStore(pool);
  await createdStore.init();
  const store = productCache ? invalidatingWrites(createdStore, productCache) : createdStore;
  const metrics = deps.metrics ?? new PimMetrics();
  const projector = new CatalogProjector({ pool, store, logger: deps.logger, metrics });
  let sync: CatalogSync | undefined;
  const freshness = new Freshness({ projector, sync: () => sync, bridgeHealthUrl: deps.bridgeHealthUrl, logger: deps.logger });
  await freshness.load();
  const app = createPimApp({ store, dictionary: () => projector.currentDictionary(), freshness, metrics, logger: deps.logger, productCache });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, store: store.kind }, 'PIM listening');

  if (deps.follow !== false) {
    const queue = deps.queue ?? 'pim.cdc';
    sync = CatalogSync.begin({
      requestSnapshot:
        deps.requestSnapshot ??
        (async (id, tables) => {
          await requestSnapshot({ amqpUrl: deps.amqpUrl, request: { id, target: queue, tables: [...tables] }, queue: deps.signalQueue, connectionName: `pim-seed:${queue}` });
        }),
      amqpUrl: deps.amqpUrl,
      pool,
      projector,
      logger: deps.logger,
      queue,
      exchange: deps.exchange,
      serverName: deps.serverName,
    });
  }
  const synced = sync ? sync.started : Promise.resolve();
  synced.catch((error: unknown) => log.error({ err: error }, 'the CDC sync could not start'));

  return {
    port,
    pool,
    store,
    productCache,
    projector,
    freshness,
    synced,
    sync: () => sync,
    async close() {
      await sync?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await pool.end();
    },
  };
}
