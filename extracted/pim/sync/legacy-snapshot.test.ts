import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { migrate } from '../../../platform/migrations.ts';
import { silentLogger } from '../../../platform/logger.ts';
import { LEGACY_SCHEMA } from '../../../cdc/testing/cdc-fixture.ts';
import { createLegacyApp } from '../../../legacy-stub/app.ts';
import { seedLegacy } from '../../../legacy-stub/seed/seed.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { startPimService, type PimService } from '../pim-service.ts';
import { call } from '../testing/pim-stack.ts';
import { copyLegacySnapshot } from './legacy-snapshot.ts';

// The benchmark's fill: the legacy tables copied in one snapshot, documents built by the projector.
let legacyDb: TestDatabase;
let pimDb: TestDatabase;
let legacyPool: pg.Pool;
let legacyServer: http.Server;
let legacyBase: string;
let pim: PimService;

beforeAll(async () => {
  const logger = silentLogger();
  legacyDb = await createTestDatabase('pim_snapshot_legacy');
  await migrate(legacyDb.url, LEGACY_SCHEMA, logger);
  await seedLegacy(legacyDb.url, { products: 60, randomSeed: 3, logger, now: new Date('2025-06-15T12:00:00Z') });
  legacyPool = new pg.Pool({ connectionString: legacyDb.url, max: 4 });
  const app = createLegacyApp({ pool: legacyPool, logger, clock: () => new Date('2025-06-15T12:00:00Z') });
  legacyServer = await new Promise<http.Server>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
  legacyBase = `http://127.0.0.1:${(legacyServer.address() as AddressInfo).port}`;
  pimDb = await createTestDatabase('pim_snapshot');
  pim = await startPimService({ databaseUrl: pimDb.url, amqpUrl: 'amqp://unused', logger, port: 0, host: '127.0.0.1', follow: false });
});

afterAll(async () => {
  await pim?.close();
  legacyServer?.closeAllConnections();
  await new Promise((resolve) => legacyServer?.close(resolve));
  await legacyPool?.end();
  await pimDb?.drop();
  await legacyDb?.drop();
});

describe('a PIM filled from a snapshot of the legacy tables', () => {
  it('answers every product and a full listing exactly as the legacy, versioned at the snapshot LSN', async () => {
    const { lsn, rows } = await copyLegacySnapshot({ legacyUrl: legacyDb.url, pimPool: pim.pool, logger: silentLogger() });
    expect(rows).toBeGreaterThan(60 * 10);
    expect(await pim.projector.flushDirty()).toBe(60);
    const base = `http://127.0.0.1:${pim.port}`;
    const listing = '/rest/V1/products?searchCriteria[pageSize]=100&searchCriteria[sortOrders][0][field]=name&searchCriteria[sortOrders][0][direction]=ASC';
    const [expected, actual] = await Promise.all([call(legacyBase, listing), call(base, listing)]);
    expect(actual.body.total_count).toBe(60);
    expect(actual.text).toBe(expected.text);
    const stored = await pim.store.getBySku(expected.body.items[0].sku);
    const [high, low] = lsn.split('/').map((part) => BigInt(`0x${part}`));
    expect(stored?.version).toBe((high! << 32n) | low!);
  });
});
