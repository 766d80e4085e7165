import { describe, expect, it } from 'vitest';
import { contractDocuments, priceQuery } from './contract-documents.ts';
import type { ProductStore } from './product-store.ts';

/**
 * What every ProductStore must do, whatever the backend: the LSN rule on upserts and deletes,
 * get by sku, and a searchCriteria page. The PostgreSQL store runs it against a real database;
 * the Elasticsearch store against recordings (store/elasticsearch/recordings/contract-*.json),
 * one per scenario, which `prepare(scenario)` loads.
 */
export interface ContractHarness {
  store: () => ProductStore;
  /** Called before each scenario with its name: reset the database, or load the recording. */
  prepare: (scenario: string) => Promise<void>;
  /** Called after each scenario: e.g. assert that every recorded exchange was used. */
  verify?: (scenario: string) => void;
}

const { a1, a2, aFirst, aLate, b, c, d } = contractDocuments;

export function describeProductStoreContract(name: string, harness: ContractHarness): void {
  describe(`${name} keeps the ProductStore contract`, () => {
    const run = (scenario: string, title: string, body: (store: ProductStore) => Promise<void>) =>
      it(title, async () => {
        await harness.prepare(scenario);
        await body(harness.store());
        harness.verify?.(scenario);
      });

    run('upsert-get', 'when a document is upserted, then get by sku answers its JSON and version', async (store) => {
      expect(await store.upsert([aFirst])).toEqual({ applied: 1, stale: 0 });
      expect(await store.getBySku('CT-A')).toEqual({ json: JSON.stringify(aFirst.product), version: 1000n });
      expect(await store.getBySku('CT-NONE')).toBeNull();
    });

    run('stale-upsert', 'when an older version arrives after a newer one, then it is refused as stale and the newer stays', async (store) => {
      expect(await store.upsert([a2])).toEqual({ applied: 1, stale: 0 });
      expect(await store.upsert([a1])).toEqual({ applied: 0, stale: 1 });
      expect(await store.getBySku('CT-A')).toEqual({ json: JSON.stringify(a2.product), version: 2000n });
    });

    run('delete', 'a delete older than the document is refused; a newer one removes it and keeps out older upserts', async (store) => {
      expect(await store.upsert([a2])).toEqual({ applied: 1, stale: 0 });
      expect(await store.remove([{ entityId: 1, version: 1800n }])).toEqual({ applied: 0, stale: 1 });
      expect((await store.getBySku('CT-A'))?.version).toBe(2000n);
      expect(await store.remove([{ entityId: 1, version: 2500n }])).toEqual({ applied: 1, stale: 0 });
      expect(await store.getBySku('CT-A')).toBeNull();
      expect(await store.upsert([aLate])).toEqual({ applied: 0, stale: 1 });
      expect(await store.getBySku('CT-A')).toBeNull();
    });

    run('search', 'a searchCriteria page: filter, sort descending, page by page, with the total before paging', async (store) => {
      expect(await store.upsert([b, c, d])).toEqual({ applied: 3, stale: 0 });
      expect(await store.search(priceQuery(1))).toEqual({ totalCount: 2, items: [JSON.stringify(c.product)] });
      expect(await store.search(priceQuery(2))).toEqual({ totalCount: 2, items: [JSON.stringify(d.product)] });
    });
  });
}
