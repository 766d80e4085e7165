import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createLegacyApp } from '../../legacy-stub/app.ts';
import { createRootLogger } from '../../platform/logger.ts';
import { serveMeasurements } from '../support/measured-server.ts';

// bench:pim's legacy in its own process, as in production, on the clock the catalog was seeded
// with (LEGACY_DATABASE_URL), so special-price windows answer as the PIM's documents say.
const logger = createRootLogger({ name: 'bench-legacy-host', level: process.env.LOG_LEVEL ?? 'warn' });
const pool = new pg.Pool({ connectionString: process.env.LEGACY_DATABASE_URL as string, max: 10 });
pool.on('error', () => undefined);
const app = createLegacyApp({ pool, logger, clock: () => new Date('2025-06-15T12:00:00Z') });
const server = app.listen(0, '127.0.0.1', () => serveMeasurements((server.address() as AddressInfo).port));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void pool.end().then(() => process.exit(0)));
});
