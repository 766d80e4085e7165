import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate } from '../platform/migrations.ts';
import { silentLogger } from '../platform/logger.ts';
import { LEGACY_SCHEMA } from '../cdc/testing/cdc-fixture.ts';
import { PRICING_MIGRATIONS } from '../extracted/pricing/pricing-service.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { RECONCILE_EXIT, runReconcile, type ReconcileCommandIo } from './reconcile-command.ts';

// What an operator sees from `strangler reconcile`: the exit status the docs promise, a short
// table, JSON with --json. Databases without the CDC path: the legacy schema and the pricing
// store's migrations, written by hand.

let legacy: TestDatabase;
let pricing: TestDatabase;

function io(env: Record<string, string> = {}): ReconcileCommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { env, out: (text) => stdout.push(text), err: (text) => stderr.push(text), stdout, stderr };
}

const QUICK = { settleMs: 50, graceMs: 100, idleMs: 200, maxWaitMs: 1000 };

beforeAll(async () => {
  legacy = await createTestDatabase('reconcile_cli_legacy');
  pricing = await createTestDatabase('reconcile_cli_pricing');
  await migrate(legacy.url, LEGACY_SCHEMA, silentLogger());
  await migrate(pricing.url, PRICING_MIGRATIONS, silentLogger());
});

afterAll(async () => {
  await legacy?.drop();
  await pricing?.drop();
});

describe('strangler reconcile', () => {
  it('exits 0 and says "no drift" when both sides hold the same products', async () => {
    const out = io({ LEGACY_DATABASE_URL: legacy.url, PRICING_DATABASE_URL: pricing.url });
    expect(await runReconcile('pricing', QUICK, out)).toBe(RECONCILE_EXIT.clean);
    expect(out.stdout.join('\n')).toMatch(/^pricing: no drift \(0 in legacy, 0 in the store/);
  });

  it('exits 1 and lists the drifted products, by kind, when the store lacks one; --json gives the whole report', async () => {
    await legacy.drop();
    legacy = await createTestDatabase('reconcile_cli_legacy');
    await migrate(legacy.url, LEGACY_SCHEMA, silentLogger());
    const client = new pg.Client({ connectionString: legacy.url });
    await client.connect();
    await client.query("INSERT INTO catalog_product_entity (entity_id, sku) VALUES (7, 'ONLY-IN-LEGACY')");
    await client.end();

    const human = io();
    expect(await runReconcile('pricing', { ...QUICK, legacyUrl: legacy.url, storeUrl: pricing.url }, human)).toBe(RECONCILE_EXIT.drift);
    const text = human.stdout.join('\n');
    expect(text).toContain('pricing: 1 drifted product');
    expect(text).toMatch(/^missing\s+1\s+7$/m);
    expect(text).toContain('missing 7: sku, stores, tiers');

    const json = io();
    expect(await runReconcile('pricing', { ...QUICK, legacyUrl: legacy.url, storeUrl: pricing.url, json: true }, json)).toBe(RECONCILE_EXIT.drift);
    expect(JSON.parse(json.stdout.join('\n'))).toMatchObject({ service: 'pricing', legacyProducts: 1, storeProducts: 0, missing: [7], extra: [], different: [] });
  });

  it('exits 2 with a code and a remedy for an unknown service, an unreachable database, a store without its tables, and a PIM on Elasticsearch', async () => {
    const unknown = io();
    expect(await runReconcile('stock', {}, unknown)).toBe(RECONCILE_EXIT.usage);
    expect(unknown.stderr.join('\n')).toContain('RECONCILE_USAGE');

    const unreachable = io({ LEGACY_DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/legacy' });
    expect(await runReconcile('pricing', {}, unreachable)).toBe(RECONCILE_EXIT.usage);
    expect(unreachable.stderr.join('\n')).toContain('RECONCILE_DATABASE_UNREACHABLE');
    expect(unreachable.stderr.join('\n')).not.toContain('secret');

    const notMigrated = io();
    expect(await runReconcile('pim', { ...QUICK, legacyUrl: legacy.url, storeUrl: pricing.url }, notMigrated)).toBe(RECONCILE_EXIT.usage);
    expect(notMigrated.stderr.join('\n')).toContain('RECONCILE_SCHEMA_MISSING');

    const elasticsearch = io({ ELASTICSEARCH_URL: 'http://127.0.0.1:9200' });
    expect(await runReconcile('pim', {}, elasticsearch)).toBe(RECONCILE_EXIT.usage);
    expect(elasticsearch.stderr.join('\n')).toContain('RECONCILE_STORE_UNSUPPORTED');
  });
});
