import { describe, expect, it } from 'vitest';
import type { ProductDocument, ProductRemoval } from '../domain/product-document.ts';
import { contractDocument } from '../store/contract-documents.ts';
import type { ProductStore, StoredProduct, WriteOutcome } from '../store/product-store.ts';
import { invalidatingWrites, ProductResponseCache } from './product-response-cache.ts';

/** A store in memory whose writes can be held open, to interleave a read with a write's commit. */
class MemoryStore implements ProductStore {
  readonly kind = 'postgres' as const;
  readonly documents = new Map<number, ProductDocument>();
  /** Resolves the write in hand after its "commit" (the documents changed), when set. */
  hold: Promise<void> | undefined;
  failAfterCommit = false;

  async init(): Promise<void> {}
  async upsert(documents: readonly ProductDocument[]): Promise<WriteOutcome> {
    for (const doc of documents) this.documents.set(doc.entityId, doc);
    await this.hold;
    if (this.failAfterCommit) throw new Error('connection lost after COMMIT');
    return { applied: documents.length, stale: 0 };
  }
  async remove(removals: readonly ProductRemoval[]): Promise<WriteOutcome> {
    for (const removal of removals) this.documents.delete(removal.entityId);
    await this.hold;
    return { applied: removals.length, stale: 0 };
  }
  async getBySku(sku: string): Promise<StoredProduct | null> {
    const doc = [...this.documents.values()].filter((d) => d.sku === sku).sort((a, b) => a.entityId - b.entityId)[0];
    return doc ? { json: JSON.stringify(doc.product), version: doc.version } : null;
  }
  search(): never {
    throw new Error('not used');
  }
  fullText(): never {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}

const doc = (entityId: number, sku: string, name: string, version = 1n) => contractDocument({ entityId, sku, name, price: '10.000000', version });

/** What the fast path does: the cache, else the store (and keep what it read). */
async function read(cache: ProductResponseCache, store: ProductStore, sku: string, between?: () => Promise<void>): Promise<string | null> {
  const cached = cache.get(sku);
  if (cached) return cached.body.toString();
  const generation = cache.generation;
  const stored = await store.getBySku(sku);
  await between?.();
  return stored ? cache.fill(sku, stored.json, generation).body.toString() : null;
}

const nameIn = (json: string | null) => (json === null ? null : (JSON.parse(json) as { name: string }).name);

describe('the get-by-sku answer cache', () => {
  it('when a product was read, then the next read is answered from the cache with the same bytes', async () => {
    const memory = new MemoryStore();
    const cache = new ProductResponseCache();
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'First')]);
    const first = await read(cache, store, 'A');
    expect(cache.size).toBe(1);
    memory.documents.clear(); // behind the cache's back: only a hit can still answer
    expect(await read(cache, store, 'A')).toBe(first);
    expect(cache.hits).toBe(1);
  });

  it('when a product is written through the store, then its next read has the new document', async () => {
    const memory = new MemoryStore();
    const cache = new ProductResponseCache();
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'First')]);
    expect(nameIn(await read(cache, store, 'A'))).toBe('First');
    await store.upsert([doc(1, 'A', 'Second', 2n)]);
    expect(nameIn(await read(cache, store, 'A'))).toBe('Second');
  });

  it('when a product is removed (by entity id only), then it is no longer answered', async () => {
    const memory = new MemoryStore();
    const cache = new ProductResponseCache();
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'First'), doc(2, 'B', 'Other')]);
    await read(cache, store, 'A');
    await read(cache, store, 'B');
    await store.remove([{ entityId: 1, version: 2n }]);
    expect(await read(cache, store, 'A')).toBeNull();
    expect(cache.size).toBe(1); // B stays
  });

  it('when a product changes its sku, then the old sku is no longer answered from the cache', async () => {
    const memory = new MemoryStore();
    const cache = new ProductResponseCache();
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'OLD', 'Renamed')]);
    expect(nameIn(await read(cache, store, 'OLD'))).toBe('Renamed');
    await store.upsert([doc(1, 'NEW', 'Renamed', 2n)]);
    expect(await read(cache, store, 'OLD')).toBeNull();
    expect(nameIn(await read(cache, store, 'NEW'))).toBe('Renamed');
  });

  it('when a read saw the document before a write committed and ends after it, then its answer is not kept', async () => {
    const memory = new MemoryStore();
    const cache = new ProductResponseCache();
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'First')]);
    let written: Promise<WriteOutcome> | undefined;
    // The read gets the old document from the store; the write commits and completes before the read ends.
    const old = await read(cache, store, 'A', async () => {
      written = store.upsert([doc(1, 'A', 'Second', 2n)]);
      await written;
    });
    expect(nameIn(old)).toBe('First'); // sent: that read began before the change was applied
    expect(nameIn(await read(cache, store, 'A'))).toBe('Second');
  });

  it('when a write has committed but not returned, then the answer kept before is dropped as soon as it returns', async () => {
    const memory = new MemoryStore();
    const cache = new ProductResponseCache();
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'First')]);
    expect(nameIn(await read(cache, store, 'A'))).toBe('First');
    let release!: () => void;
    memory.hold = new Promise((resolve) => (release = resolve));
    const written = store.upsert([doc(1, 'A', 'Second', 2n)]); // committed, not yet returned: not applied for the sync
    release();
    await written;
    memory.hold = undefined;
    expect(nameIn(await read(cache, store, 'A'))).toBe('Second');
  });

  it('when a write fails after its commit, then its products are read afresh all the same', async () => {
    const memory = new MemoryStore();
    const cache = new ProductResponseCache();
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'First')]);
    await read(cache, store, 'A');
    memory.failAfterCommit = true;
    await expect(store.upsert([doc(1, 'A', 'Second', 2n)])).rejects.toThrow('after COMMIT');
    expect(nameIn(await read(cache, store, 'A'))).toBe('Second');
  });

  it('keeps at most maxEntries answers, the least recently used going first, and none older than maxAgeMs', async () => {
    let now = 0;
    const memory = new MemoryStore();
    const cache = new ProductResponseCache({ maxEntries: 2, maxAgeMs: 1000, now: () => now });
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'a'), doc(2, 'B', 'b'), doc(3, 'C', 'c')]);
    await read(cache, store, 'A');
    await read(cache, store, 'B');
    await read(cache, store, 'A'); // A is now the most recently used
    await read(cache, store, 'C');
    expect(cache.get('B')).toBeUndefined();
    expect(cache.get('A')).toBeDefined();
    now = 1001;
    expect(cache.get('A')).toBeUndefined();
  });

  it('answers filled at one moment expire at different moments within (maxAgeMs/2, maxAgeMs], not all at once', async () => {
    let now = 0;
    const draws = [0, 0.5, 0.999];
    const memory = new MemoryStore();
    const cache = new ProductResponseCache({ maxAgeMs: 1000, now: () => now, random: () => draws.shift() ?? 0 });
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'a'), doc(2, 'B', 'b'), doc(3, 'C', 'c')]);
    for (const sku of ['A', 'B', 'C']) await read(cache, store, sku);
    now = 500;
    expect(['A', 'B', 'C'].map((sku) => cache.get(sku) !== undefined)).toEqual([true, true, true]);
    now = 501;
    expect(['A', 'B', 'C'].map((sku) => cache.get(sku) !== undefined)).toEqual([true, true, false]);
    now = 751;
    expect(['A', 'B', 'C'].map((sku) => cache.get(sku) !== undefined)).toEqual([true, false, false]);
    now = 1001;
    expect(cache.get('A')).toBeUndefined();
  });

  it('when an answer is past ¾ of its age limit, then a hit still answers it and reads it afresh, so a sku asked often never expires', async () => {
    let now = 0;
    const memory = new MemoryStore();
    const cache = new ProductResponseCache({ maxAgeMs: 1000, now: () => now, random: () => 0 });
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'First')]);
    const reads: string[] = [];
    const reader = async (sku: string) => {
      reads.push(sku);
      return (await memory.getBySku(sku))?.json ?? null;
    };
    await read(cache, store, 'A');
    now = 700;
    expect(nameIn(cache.get('A', reader)?.body.toString() ?? null)).toBe('First');
    expect(reads).toEqual([]); // not yet ¾ of its life
    // A writer the PIM does not see (a hand-made fix): only the age limit brings it in.
    memory.documents.set(1, doc(1, 'A', 'Fixed by hand', 2n));
    now = 800;
    expect(nameIn(cache.get('A', reader)?.body.toString() ?? null)).toBe('First'); // answered at once, read in the background
    expect(reads).toEqual(['A']);
    await new Promise((resolve) => setImmediate(resolve));
    now = 1500; // past the first answer's limit, within the refreshed one's
    expect(nameIn(cache.get('A')?.body.toString() ?? null)).toBe('Fixed by hand');
    expect(cache.refreshes).toBe(1);
    expect(cache.misses).toBe(1); // the first read only
  });

  it('when a write commits while a refresh reads, then the refreshed answer is not kept and the next read has the new document', async () => {
    let now = 0;
    const memory = new MemoryStore();
    const cache = new ProductResponseCache({ maxAgeMs: 1000, now: () => now, random: () => 0 });
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'First')]);
    await read(cache, store, 'A');
    let written: Promise<WriteOutcome> | undefined;
    const reader = async (sku: string) => {
      const json = (await memory.getBySku(sku))?.json ?? null; // the old document
      written = store.upsert([doc(1, 'A', 'Second', 2n)]);
      await written;
      return json;
    };
    now = 800;
    cache.get('A', reader);
    await new Promise((resolve) => setImmediate(resolve));
    await written;
    expect(cache.refreshes).toBe(0);
    expect(nameIn(await read(cache, store, 'A'))).toBe('Second');
  });

  it('refreshes at most maxRefreshes answers at a time, one read per sku, and drops a sku the store no longer has', async () => {
    let now = 0;
    const memory = new MemoryStore();
    const cache = new ProductResponseCache({ maxAgeMs: 1000, now: () => now, random: () => 0, maxRefreshes: 2 });
    const store = invalidatingWrites(memory, cache);
    await store.upsert([doc(1, 'A', 'a'), doc(2, 'B', 'b'), doc(3, 'C', 'c')]);
    for (const sku of ['A', 'B', 'C']) await read(cache, store, sku);
    const pending: Array<() => void> = [];
    const reads: string[] = [];
    const reader = (sku: string) => {
      reads.push(sku);
      return new Promise<string | null>((resolve) => pending.push(() => resolve(null)));
    };
    now = 800;
    for (const sku of ['A', 'A', 'B', 'C']) expect(cache.get(sku, reader)).toBeDefined();
    expect(reads).toEqual(['A', 'B']);
    for (const release of pending) release();
    await new Promise((resolve) => setImmediate(resolve));
    // The store answered "no such sku" (null) for both: they are read from the store next time.
    expect(cache.get('A')).toBeUndefined();
    expect(cache.get('B')).toBeUndefined();
    expect(cache.get('C', reader)).toBeDefined();
    expect(reads).toEqual(['A', 'B', 'C']);
  });

  it('the invalidating store is still the store underneath (its class, fields and reads)', async () => {
    const memory = new MemoryStore();
    const store = invalidatingWrites(memory, new ProductResponseCache());
    expect(store).toBeInstanceOf(MemoryStore);
    expect(store.documents).toBe(memory.documents);
    await store.upsert([doc(1, 'A', 'a')]);
    expect(await store.getBySku('A')).not.toBeNull();
  });
});
