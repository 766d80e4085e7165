import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { silentLogger } from '../../../../platform/logger.ts';
import { contractDocuments } from '../contract-documents.ts';
import { describeProductStoreContract } from '../product-store.contract.ts';
import { ElasticsearchProductStore } from './elasticsearch-product-store.ts';
import { loadRecording, replayRecording } from './recording-replay.ts';

// Elasticsearch cannot run here: the store talks to nock, which answers with Elasticsearch 8
// request/response pairs from recordings/*.json (each names its source). A request that does
// not match its recording — path, body, version, version_type, or the compatible-with=8
// headers — gets no answer and fails the test.
const BASE = 'http://es.test:9200';

const newStore = (options: { maxBackPressureRetries?: number } = {}) =>
  ElasticsearchProductStore.connect({ node: BASE, alias: 'pim-products', logger: silentLogger(), backoffMs: 1, ...options });

let scope: nock.Scope | undefined;
let contractStore: ElasticsearchProductStore;

beforeAll(() => {
  nock.disableNetConnect();
  contractStore = newStore();
});

afterEach(() => {
  nock.cleanAll();
});

afterAll(async () => {
  await contractStore.close();
  nock.enableNetConnect();
});

describeProductStoreContract('the Elasticsearch store (recordings)', {
  store: () => contractStore,
  prepare: async (scenario) => {
    nock.cleanAll();
    scope = replayRecording(BASE, loadRecording(`contract-${scenario}`));
  },
  verify: () => {
    expect(scope?.pendingMocks()).toEqual([]);
  },
});

describe('the Elasticsearch store manages its index', () => {
  it('on a first start, then it creates the versioned index with the explicit mapping and points the alias at it', async () => {
    const replay = replayRecording(BASE, loadRecording('index-bootstrap'));
    const store = newStore();
    await store.init();
    expect(replay.pendingMocks()).toEqual([]);
    await store.close();
  });

  it('when the alias exists, then a start changes nothing', async () => {
    const replay = replayRecording(BASE, loadRecording('index-exists'));
    const store = newStore();
    await store.init();
    expect(replay.pendingMocks()).toEqual([]);
    await store.close();
  });

  it('a re-index swaps the alias in one atomic _aliases call', async () => {
    const replay = replayRecording(BASE, loadRecording('alias-swap'));
    const store = newStore();
    await store.swapAlias('pim-products-v1', 'pim-products-v2');
    expect(replay.pendingMocks()).toEqual([]);
    await store.close();
  });

  it('every request carries the Elasticsearch 8 compatibility headers, never compatible-with=9', async () => {
    let headers: Record<string, unknown> = {};
    nock(BASE)
      .head('/_alias/pim-products')
      .reply(function () {
        headers = this.req.headers;
        return [200, '', { 'x-elastic-product': 'Elasticsearch' }];
      });
    const store = newStore();
    await store.init();
    expect(headers.accept).toBe('application/vnd.elasticsearch+json; compatible-with=8');
    expect(JSON.stringify(headers)).not.toContain('compatible-with=9');
    await store.close();
  });
});

describe('the Elasticsearch store under back-pressure and errors', () => {
  const { b, c } = contractDocuments;

  it('when the cluster answers 429 to the bulk and then to one item, then it backs off and resends only what was rejected', async () => {
    const replay = replayRecording(BASE, loadRecording('back-pressure'));
    const store = newStore();
    expect(await store.upsert([b, c])).toEqual({ applied: 2, stale: 0 });
    expect(replay.pendingMocks()).toEqual([]);
    await store.close();
  });

  it('when 429s do not stop, then it gives up with PIM_ES_BACK_PRESSURE so the CDC consumer retries later', async () => {
    const replay = replayRecording(BASE, loadRecording('back-pressure-exhausted'));
    const store = newStore({ maxBackPressureRetries: 2 });
    await expect(store.upsert([b])).rejects.toMatchObject({ code: 'PIM_ES_BACK_PRESSURE' });
    expect(replay.pendingMocks()).toEqual([]);
    await store.close();
  });

  it('when an item fails for another reason, then the write fails with PIM_ES_REJECTED naming the error', async () => {
    replayRecording(BASE, loadRecording('bulk-item-error'));
    const store = newStore();
    await expect(store.upsert([b])).rejects.toMatchObject({ code: 'PIM_ES_REJECTED', message: expect.stringContaining('document_parsing_exception') });
    await store.close();
  });
});

describe('the Elasticsearch store answers /search', () => {
  it('runs a multi_match with facet aggregations and highlighting, and maps hits, highlights and buckets', async () => {
    const replay = replayRecording(BASE, loadRecording('full-text-search'));
    const store = newStore();
    const result = await store.fullText({ q: 'hoodie', color: 'red', page: 1, pageSize: 20 });
    expect(replay.pendingMocks()).toEqual([]);
    expect(result.total).toBe(1);
    expect(result.items).toEqual([
      { sku: 'CT-C', name: 'Charlie Hoodie', price: 30, score: 1.89, highlights: { name: ['Charlie <em>Hoodie</em>'] }, product: contractDocuments.c.product },
    ]);
    expect(result.facets).toEqual({
      category: [{ value: '3', label: 'Tops', count: 1 }],
      color: [{ value: 'Red', label: 'Red', count: 1 }],
      size: [],
      price: [{ value: '25-50', label: '25 – 50', count: 1 }],
    });
    await store.close();
  });
});
