import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pg from 'pg';
import { silentLogger } from '../../platform/logger.ts';
import { createLegacyApp } from '../app.ts';

/**
 * The whole legacy app (createLegacyApp) on an ephemeral port against a test database, with a
 * clock the test can move. Test support for the price API and storefront tests.
 */
export interface LegacyTestServer {
  baseUrl: string;
  pool: pg.Pool;
  setNow(now: Date): void;
  close(): Promise<void>;
}

export async function startLegacyTestServer(databaseUrl: string, now: Date): Promise<LegacyTestServer> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 5 });
  let current = now;
  const app = createLegacyApp({ pool, logger: silentLogger(), clock: () => current });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pool,
    setNow(next) {
      current = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
