import { createRootLogger } from '../../platform/logger.ts';
import { startPimService } from '../../extracted/pim/pim-service.ts';
import { PostgresProductStore } from '../../extracted/pim/store/postgres/postgres-product-store.ts';
import { serveMeasurements } from '../support/measured-server.ts';

// bench:pim's PIM in its own process, as in production: the reads of an already filled store,
// not following the stream (PIM_DATABASE_URL; BENCH_PIM_CACHE=off|no-refresh as in bench/pim.ts).
const logger = createRootLogger({ name: 'bench-pim-host', level: process.env.LOG_LEVEL ?? 'warn' });
const cache = process.env.BENCH_PIM_CACHE;
const pim = await startPimService({
  databaseUrl: process.env.PIM_DATABASE_URL as string,
  amqpUrl: 'amqp://unused',
  logger,
  port: 0,
  host: '127.0.0.1',
  follow: false,
  productCache: cache === 'off' ? false : cache === 'no-refresh' ? { maxRefreshes: 0 } : undefined,
});
process.once('SIGTERM', () => void pim.close().then(() => process.exit(0)));
const counts = pim.store instanceof PostgresProductStore ? pim.store.counts : undefined;
serveMeasurements(pim.port, () => ({
  countCache: counts ? { entries: counts.size, hitRatio: counts.hitRatio } : null,
  productCache: pim.productCache ? { entries: pim.productCache.size, hitRatio: pim.productCache.hitRatio, refreshedAhead: pim.productCache.refreshes } : null,
}));
