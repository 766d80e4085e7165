import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { eventually } from '../testing/pim-stack.ts';
import { driftCount } from '../../../reconcile/drift-report.ts';
import { PimStack } from '../testing/pim-stack.ts';
import { reconcilePim } from './pim-reconciliation.ts';

// Issue 8, reconciliation of the PIM: its PostgreSQL documents, compared product by product with
// the same projection of the legacy tables, while the bridge and the PIM run.

const PRODUCTS = 200;
const QUICK = { settleMs: 200, graceMs: 600, idleMs: 3_000, maxWaitMs: 20_000, bucketSize: 50, segmentSize: 200 };

let stack: PimStack;
let store: pg.Pool;

beforeAll(async () => {
  stack = await PimStack.start({ products: PRODUCTS, label: 'reconcile' });
  store = new pg.Pool({ connectionString: stack.pimDatabase.url, max: 4 });
  await eventually(
    async () => reconcilePim({ legacy: stack.fixture.pool, store, ...QUICK, maxWaitMs: 2_000 }),
    (report) => report.legacyProducts === PRODUCTS && report.storeProducts === PRODUCTS && driftCount(report) === 0,
    90_000,
    'the PIM to hold every legacy product',
  );
}, 180_000);

afterAll(async () => {
  await store?.end();
  await stack?.stop();
});

const entityIds = async (): Promise<number[]> =>
  (await stack.fixture.query<{ entity_id: number }>('SELECT entity_id FROM catalog_product_entity ORDER BY entity_id')).map((row) => row.entity_id);

describe('strangler reconcile pim', () => {
  it('when the PIM followed the stream, then every document equals the legacy projection', async () => {
    const report = await reconcilePim({ legacy: stack.fixture.pool, store, ...QUICK });
    expect(report.legacyProducts).toBe(PRODUCTS);
    expect(report.storeProducts).toBe(PRODUCTS);
    expect(report.buckets.differing).toBe(0);
    expect(driftCount(report)).toBe(0);
  });

  it('when a document is corrupted, one lost and one invented, then each is reported with what differs, and --repair restores the legacy state', async () => {
    const ids = await entityIds();
    const corrupted = ids[5]!;
    const lost = ids[50]!;
    const invented = ids[ids.length - 1]! + 500;
    await store.query(`UPDATE pim_document SET fields = jsonb_set(fields, '{name}', '"Corrupted name"') WHERE entity_id = $1`, [corrupted]);
    await store.query('DELETE FROM pim_document WHERE entity_id = $1', [lost]);
    await store.query('DELETE FROM pim_document_category WHERE entity_id = $1', [lost]);
    await store.query(
      `INSERT INTO pim_document (entity_id, sku, lsn, type_id, attribute_set_id, has_options, required_options, created_at, updated_at,
                                 fields, texts, category_ids, facets, store_values, product, search_text)
       SELECT $2, 'NOT-IN-LEGACY', lsn, type_id, attribute_set_id, has_options, required_options, created_at, updated_at,
              fields, texts, category_ids, facets, store_values, product, search_text
         FROM pim_document WHERE entity_id = $1`,
      [ids[0], invented],
    );

    const report = await reconcilePim({ legacy: stack.fixture.pool, store, ...QUICK });

    expect(report.different).toEqual([corrupted]);
    expect(report.missing).toEqual([lost]);
    expect(report.extra).toEqual([invented]);
    const different = report.examples.find((example) => example.kind === 'different');
    expect(different?.fields).toEqual(['fields']);
    expect((different?.store?.fields as Record<string, string>).name).toBe('Corrupted name');

    const repaired = await reconcilePim({ legacy: stack.fixture.pool, store, ...QUICK, repair: { target: stack.queue, timeoutMs: 60_000 } });
    expect(repaired.repair?.requestedFor).toBe(3);
    expect(repaired.repair?.snapshots.every((snapshot) => snapshot.state === 'completed')).toBe(true);
    expect(repaired.repair?.remaining).toBe(0);
  }, 120_000);

  it('when products change in the legacy during the reconciliation, then the changes in flight are re-checked and not reported as drift', async () => {
    const ids = await entityIds();
    const nameOf = "(SELECT attribute_id FROM eav_attribute WHERE attribute_code = 'name' AND entity_type_id = 4)";
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        await stack.fixture.pool.query(`UPDATE catalog_product_entity_varchar SET value = 'Renamed ' || $2::text WHERE entity_id = $1 AND store_id = 0 AND attribute_id = ${nameOf}`, [
          ids[(writes * 7) % ids.length],
          writes,
        ]);
        writes += 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await eventually(async () => writes >= 20, (value) => value, 10_000, 'the writer to run');
      // Every product changes at once: the PIM is certainly behind when the checksums are read.
      await stack.fixture.pool.query(`UPDATE catalog_product_entity_varchar SET value = value || ' (new)' WHERE store_id = 0 AND attribute_id = ${nameOf}`);
      const reconciling = reconcilePim({ legacy: stack.fixture.pool, store, ...QUICK, maxWaitMs: 60_000 });
      // The writes go on while the checksums are read and the first re-checks run, then stop, so
      // that the PIM can catch up before the re-checks run out of time.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      writing = false;
      await writer;
      const report = await reconciling;
      expect(report.settledByLag).toBeGreaterThan(0);
      expect({ missing: report.missing, extra: report.extra, different: report.different, unsettled: report.unsettled }).toEqual({
        missing: [],
        extra: [],
        different: [],
        unsettled: [],
      });
    } finally {
      writing = false;
      await writer;
    }
  }, 120_000);
});
