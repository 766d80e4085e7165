import type pg from 'pg';
import type { Logger } from '../../../platform/logger.ts';
import { AppliedPositions } from '../../../cdc/consumer/applied-positions.ts';
import { comparePositions, type ReceivedChange, type ChangePosition } from '../../../cdc/consumer/received-change.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import type { CatalogDictionary } from '../domain/catalog-dictionary.ts';
import { buildProductDocument } from '../domain/document-builder.ts';
import type { ProductStore } from '../store/product-store.ts';
import type { PimMetrics } from '../metrics.ts';
import { applyRawChanges, changesDictionary } from './raw-catalog.ts';
import { loadDictionary, readRawProducts } from './raw-product-reader.ts';

const REBUILD_BATCH = 500;

export interface ProjectorDeps {
  pool: pg.Pool;
  store: ProductStore;
  logger: Logger;
  metrics?: PimMetrics;
}

/**
 * Folds CDC changes into documents. For each batch of changes, in ONE transaction of the PIM
 * database: the consumer kit's per-row position guard (duplicates and older changes are
 * skipped), the raw row, and the affected products marked dirty with the change's LSN. Then the
 * dirty products are rebuilt from their raw rows and written to the store; the mark is cleared
 * only after the store accepted them (a crash in between is repaired by the next `flushDirty`).
 *
 * Everything runs one batch at a time (an in-process lock): two rebuilds of one product racing
 * could otherwise each miss the other's rows.
 */
export class CatalogProjector {
  private readonly positions = new AppliedPositions();
  private readonly log: Logger;
  private dictionary: CatalogDictionary | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private newest: { position: ChangePosition; commitTimeMs: number } | null = null;

  constructor(private readonly deps: ProjectorDeps) {
    this.log = deps.logger.child({ component: 'pim-projector' });
  }

  /** The newest change folded in during this process's life (its commit LSN, position and time). */
  get lastApplied(): { position: ChangePosition; commitTimeMs: number } | null {
    return this.newest;
  }

  /** Applies changes (already parsed by the consumer kit); resolves after the store has the documents. */
  apply(changes: readonly ReceivedChange[]): Promise<{ applied: number; skipped: number }> {
    return this.exclusive(async () => {
      const result = await this.applyRaw(changes);
      await this.rebuildDirty();
      return result;
    });
  }

  /**
   * Folds changes into the raw rows and marks their products dirty, without building documents:
   * while a store seeds from a snapshot, every table's rows touch every product again and again,
   * so documents are built once, in bulk, by `flushDirty` when the snapshot has completed.
   */
  applyDeferred(changes: readonly ReceivedChange[]): Promise<{ applied: number; skipped: number }> {
    return this.exclusive(() => this.applyRaw(changes));
  }

  /** The attribute dictionary from the raw rows, cached until an eav_attribute(_option) change. */
  async currentDictionary(): Promise<CatalogDictionary> {
    if (this.dictionary) return this.dictionary;
    const loaded = await loadDictionary(this.deps.pool);
    // An empty dictionary (nothing received yet) is not kept, as the legacy's cache does.
    if (loaded.byCode.size > 0) this.dictionary = loaded;
    return loaded;
  }

  /** Rebuilds every product still marked dirty (after a crash, or after `markAllDirty`). */
  flushDirty(): Promise<number> {
    return this.exclusive(() => this.rebuildDirty());
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async applyRaw(changes: readonly ReceivedChange[]): Promise<{ applied: number; skipped: number }> {
    let applied: number;
    let dictionaryChanged = false;
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN');
      const dirty = new Map<number, string>();
      let allAt: string | null = null;
      const categories: Array<{ id: number; lsn: string }> = [];
      // One round trip claims the whole batch; one statement per raw table writes the fresh rows.
      const fresh = await this.positions.claimMany(client, changes);
      const freshChanges = changes.filter((_, i) => fresh[i]);
      applied = freshChanges.length;
      for (const change of freshChanges) {
        if (changesDictionary(change.table)) dictionaryChanged = true;
        const mark = { position: change.position, commitTimeMs: change.event.source.ts_ms };
        if (!this.newest || comparePositions(mark.position, this.newest.position) > 0) this.newest = mark;
      }
      for (const { change, affected } of await applyRawChanges(client, freshChanges)) {
        const lsn = change.position.commitLsn.toString();
        if ('products' in affected) {
          for (const id of affected.products) {
            if (!Number.isInteger(id)) continue;
            const held = dirty.get(id);
            // A product keeps the newest LSN of its changes in the batch (greatest() below does the same across batches).
            if (held === undefined || Lsn.parse(held).compare(change.position.commitLsn) < 0) dirty.set(id, lsn);
          }
        }
        if ('allProducts' in affected && (allAt === null || Lsn.parse(allAt).compare(change.position.commitLsn) < 0)) allAt = lsn;
        if ('category' in affected) categories.push({ id: affected.category, lsn });
      }
      if (dirty.size > 0) {
        // Changes come in LSN order within a batch mostly, but not always (retries): greatest() keeps the newest.
        await client.query(
          `INSERT INTO pim_product_state (entity_id, lsn, dirty)
           SELECT id, lsn::pg_lsn, true FROM unnest($1::int[], $2::text[]) AS t(id, lsn)
           ON CONFLICT (entity_id) DO UPDATE SET lsn = greatest(pim_product_state.lsn, EXCLUDED.lsn), dirty = true`,
          [[...dirty.keys()], [...dirty.values()]],
        );
      }
      for (const category of categories) {
        await client.query(
          `UPDATE pim_product_state s SET dirty = true, lsn = greatest(s.lsn, $2::pg_lsn)
            WHERE s.entity_id IN (SELECT product_id FROM pim_raw_category_product WHERE category_id = $1)`,
          [category.id, category.lsn],
        );
      }
      if (allAt !== null) await client.query('UPDATE pim_product_state SET dirty = true, lsn = greatest(lsn, $1::pg_lsn)', [allAt]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    if (dictionaryChanged) this.dictionary = undefined;
    this.deps.metrics?.changesApplied.inc(applied);
    this.deps.metrics?.changesSkipped.inc(changes.length - applied);
    return { applied, skipped: changes.length - applied };
  }

  private async rebuildDirty(): Promise<number> {
    let rebuilt = 0;
    for (;;) {
      const { rows } = await this.deps.pool.query<{ entity_id: number }>(
        'SELECT entity_id FROM pim_product_state WHERE dirty ORDER BY entity_id LIMIT $1',
        [REBUILD_BATCH],
      );
      if (rows.length === 0) return rebuilt;
      const ids = rows.map((row) => row.entity_id);
      const dictionary = await this.currentDictionary();
      const { products, removed } = await readRawProducts(this.deps.pool, ids);
      const documents = products.map((raw) => buildProductDocument(raw, dictionary));
      const written = documents.length > 0 ? await this.deps.store.upsert(documents) : { applied: 0, stale: 0 };
      const deleted = removed.length > 0 ? await this.deps.store.remove(removed) : { applied: 0, stale: 0 };
      this.deps.metrics?.documentsWritten.inc(written.applied + deleted.applied);
      this.deps.metrics?.staleWrites.inc(written.stale + deleted.stale);
      await this.deps.pool.query('UPDATE pim_product_state SET dirty = false WHERE entity_id = ANY($1::int[])', [ids]);
      rebuilt += ids.length;
      if (ids.length === REBUILD_BATCH) this.log.debug({ rebuilt }, 'rebuilding documents');
    }
  }

  /** The newest commit LSN recorded in the PIM database (survives restarts). */
  lastAppliedLsn(): Promise<string | null> {
    return this.positions.lastAppliedLsn(this.deps.pool).then((lsn) => lsn?.toString() ?? null);
  }
}
