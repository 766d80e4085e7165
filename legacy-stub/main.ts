import pg from 'pg';
import { createRootLogger } from '../platform/logger.ts';
import { StranglerError } from '../platform/errors.ts';
import { createLegacyApp } from './app.ts';

// The legacy monolith as its own process. `npm start` runs it with LEGACY_DATABASE_URL pointing at
// the migrated and seeded database; run alone, it needs that variable.
const logger = createRootLogger({ name: 'legacy', level: process.env.LOG_LEVEL ?? 'info' });
const databaseUrl = process.env.LEGACY_DATABASE_URL;
if (!databaseUrl) {
  const error = new StranglerError('LEGACY_NO_DATABASE', 'LEGACY_DATABASE_URL is not set', {
    remedy: 'Start the whole stack with `npm start`, or set LEGACY_DATABASE_URL to a migrated and seeded legacy database.',
  });
  logger.fatal(error.explain());
  process.exit(1);
}
const port = Number(process.env.LEGACY_PORT ?? 8081);
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(process.env.LEGACY_POOL_SIZE ?? 20) });
const app = createLegacyApp({ pool, logger, clock: () => new Date() });
const server = app.listen(port, process.env.LEGACY_HOST ?? '127.0.0.1', () => {
  logger.info({ port }, `legacy shop listening on http://127.0.0.1:${port}/`);
});

const shutdown = (signal: string) => {
  logger.info({ signal }, 'stopping the legacy shop');
  server.close(() => {
    void pool.end().then(() => process.exit(0));
  });
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 5000).unref();
};
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));
