import { describe, expect, it } from 'vitest';
import { parseSearchCriteria } from '../../../legacy-stub/catalog/search-criteria.ts';
import { resolveCatalogQuery } from '../domain/catalog-query.ts';
import { contractDictionary, contractDocument } from './contract-documents.ts';
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

const a1 = contractDocument({ entityId: 1, sku: 'CT-A', name: 'Alpha Tee', price: '12.500000', version: 1500n });
const a2 = contractDocument({ entityId: 1, sku: 'CT-A', name: 'Alpha Tee Two', price: '13.000000', version: 2000n });
const aFirst = contractDocument({ entityId: 1, sku: 'CT-A', name: 'Alpha Tee', price: '12.500000', version: 1000n });
const aLate = contractDocument({ entityId: 1, sku: 'CT-A', name: 'Alpha Resurrected', price: '1.000000', version: 2400n });
const b = contractDocument({ entityId: 2, sku: 'CT-B', name: 'Bravo Shorts', price: '10.000000', version: 3000n });
const c = contractDocument({ entityId: 3, sku: 'CT-C', name: 'Charlie Hoodie', price: '30.000000', version: 3000n });
const d = contractDocument({ entityId: 4, sku: 'CT-D', name: 'Delta Jacket', price: '20.000000', version: 3000n });

const priceQuery = (page: number) =>
  resolveCatalogQuery(
    parseSearchCriteria(
      new URLSearchParams({
        'searchCriteria[filter_groups][0][filters][0][field]': 'price',
        'searchCriteria[filter_groups][0][filters][0][value]': '15',
        'searchCriteria[filter_groups][0][filters][0][condition_type]': 'gteq',
        'searchCriteria[sortOrders][0][field]': 'price',
        'searchCriteria[sortOrders][0][direction]': 'DESC',
        'searchCriteria[pageSize]': '1',
        'searchCriteria[currentPage]': String(page),
      }).toString(),
    ),
    contractDictionary,
  );

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

export const contractDocuments = { a1, a2, aFirst, aLate, b, c, d };
