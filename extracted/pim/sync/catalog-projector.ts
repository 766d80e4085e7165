import type pg from 'pg';
import type { Logger } from '../../../platform/logger.ts';
import { AppliedPositions } from '../../../cdc/consumer/applied-positions.ts';
import { comparePositions, type ReceivedChange, type ChangePosition } from '../../../cdc/consumer/received-change.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import type { CatalogDictionary } from '../domain/catalog-dictionary.ts';
import { buildProductDocument } from '../domain/document-builder.ts';
import type { ProductStore } from '../store/product-store.ts';
import { PostgresProductStore } from '../store/postgres/postgres-product-store.ts';
import type { PimMetrics } from '../metrics.ts';
import { applyRawChanges, applySnapshotRows, changesDictionary, isWholeRowWrite } from './raw-catalog.ts';
import { loadDictionary, readRawProducts } from './raw-product-reader.ts';

const REBUILD_BATCH = 500;
/**
 * Rebuild loops of a seeded catalog (and of the catch-up rounds after it). Each loop waits in turn
 * for PostgreSQL (reads, the write, its commit) and for Node (building the documents), so two
 * loops left a core idle much of the time on a 2-core box: 10,000 products took 5.8 s with 2
 * loops and 4.5 s with 4, the same CPU per document. Three keep both cores busy without piling
 * more than the pool's connections on PostgreSQL (each loop reads with up to six at once).
 */
const SEED_WORKERS = 3;
/**
 * Connections that build the deferred document indexes at once: one index build is one backend
 * (a GIN over the tsvector alone takes seconds at 100,000 products), so one after the other they
 * left the second core idle while the PIM was not ready yet.
 */
const INDEX_BUILDERS = 2;

/** A seeding's batch holding this many snapshot rows or more has them applied as two concurrent halves (`applyDeferred`). */
const SPLIT_SNAPSHOT_ROWS = 1000;
/**
 * Marks a table's comment while the secondary indexes of its set are dropped (their definitions
 * follow as JSON). A comment, not a row: `store reset` truncates every table, and the definitions
 * must outlive that.
 */
const DEFERRED_INDEXES_MARK = 'strangler:deferred-indexes ';

/** Secondary indexes dropped while a seeding writes their tables in bulk, and built once afterwards. */
interface DeferredIndexSet {
  /** The table whose comment holds the dropped definitions. */
  markTable: string;
  tables: readonly string[];
  /** Kept while the others are dropped. */
  kept: readonly string[];
  /** Logged when they are dropped (bench/seed.ts marks the end of the snapshot's rows at the documents' message). */
  droppedMessage: string;
  /**
   * Autovacuum is switched off on these tables while their indexes are dropped and on again with
   * them (same transactions, so a crash in between is repaired with the indexes). A table filled
   * from empty in bulk crosses autovacuum's thresholds again and again: on a loaded machine
   * (bench:seed, 2026-12-07, load ~7) it vacuumed pim_document in the middle of the documents'
   * bulk write, reading the growing table while the seeding was short of CPU; and an index build
   * that finds it running waits until it is cancelled (deadlock_timeout, 1 s).
   */
  pauseAutovacuum: boolean;
}

/**
 * The PostgreSQL store's documents, dropped for the first write of a seeded catalog. Kept:
 * every document write deletes its product's category rows by entity_id first, which without
 * this narrow btree is a scan of the whole membership table.
 */
const DOCUMENT_INDEXES: DeferredIndexSet = {
  markTable: 'pim_document',
  tables: ['pim_document', 'pim_document_category'],
  kept: ['pim_document_category_entity'],
  droppedMessage: 'document indexes dropped until the seeded documents are written',
  pauseAutovacuum: true,
};

/**
 * The raw rows' by-product indexes (schema/001), dropped while an empty PIM receives its snapshot
 * (1.8 M rows at 100,000 products) and built before the documents are read through them. While
 * seeding nothing reads by product — changes only land in raw rows (`applyDeferred`); the one
 * query that would use them, the products of a renamed category, scans the link table instead.
 * Applying 182,139 snapshot rows (10,000 products), side by side: PostgreSQL 17.8 → 16.9 and
 * 17.3 → 16.1 µs per row; building them back afterwards took ~0.1 s.
 */
const RAW_INDEXES: DeferredIndexSet = {
  markTable: 'pim_raw_entity',
  tables: ['pim_raw_entity', 'pim_raw_value', 'pim_raw_tier_price', 'pim_raw_category_product', 'pim_raw_stock_item'],
  kept: [],
  droppedMessage: 'raw row indexes dropped while the snapshot is received',
  pauseAutovacuum: false,
};

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
  private deferringDocuments = false;

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
      // Catching up after a seeding: the documents are rebuilt once, by finishSeeding.
      if (!this.catchingUp) await this.rebuildDirty();
      return result;
    });
  }

  /** Between `flushSeeded({ keepIndexesDeferred: true })` and `finishSeeding`: changes land in raw rows only. */
  get catchingUp(): boolean {
    return this.deferringDocuments;
  }

  /**
   * Folds changes into the raw rows and marks their products dirty, without building documents:
   * while a store seeds from a snapshot, every table's rows touch every product again and again,
   * so documents are built once, in bulk, by `flushDirty` when the snapshot has completed.
   */
  applyDeferred(changes: readonly ReceivedChange[]): Promise<{ applied: number; skipped: number }> {
    return this.exclusive(async () => {
      const rows: ReceivedChange[] = [];
      const live: ReceivedChange[] = [];
      for (const change of changes) (isUnclaimedSnapshotRow(change) ? rows : live).push(change);
      if (rows.length < SPLIT_SNAPSHOT_ROWS) return this.applyRaw(changes, { snapshotRowsUnclaimed: true });
      // Many snapshot rows: the live changes among them first, committed, so that the rows see
      // their claims (a delete of a row is then in cdc_applied); then the rows in two halves, two
      // transactions at once, so that PostgreSQL writes one half while Node prepares the other
      // (one transaction alternates between the two, each idle half the time). Safe to split:
      // snapshot rows mark nothing and claim nothing, each row's own position decides (an equal or
      // older one is a no-op), so if a part fails after another committed, the consumer kit's
      // retry of the messages one by one rewrites nothing.
      const first = live.length > 0 ? await this.applyRaw(live) : { applied: 0, skipped: 0 };
      const half = Math.ceil(rows.length / 2);
      const halves = await Promise.all([
        this.applyRaw(rows.slice(0, half), { snapshotRowsUnclaimed: true }),
        this.applyRaw(rows.slice(half), { snapshotRowsUnclaimed: true }),
      ]);
      return [first, ...halves].reduce((sum, part) => ({ applied: sum.applied + part.applied, skipped: sum.skipped + part.skipped }));
    });
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

  /**
   * Builds the documents of a freshly seeded catalog (every product dirty, no document yet). With
   * the PostgreSQL store and an empty pim_document, the documents' secondary indexes (GIN over
   * fields and search text, a dozen btrees) are dropped first and built again once at the end:
   * maintaining them row by row cost ~1 ms per document, most of the seeding time. Their
   * definitions are kept in pim_document's comment (same transaction as the drop) until they
   * exist again, so a crash in between is repaired by `restoreDeferredIndexes` at the next start.
   */
  flushSeeded(options: { keepIndexesDeferred?: boolean } = {}): Promise<number> {
    return this.exclusive(async () => {
      // The documents are read from the raw rows by product: those indexes first.
      await this.restoreIndexes(RAW_INDEXES);
      await this.vacuumRawRows();
      const deferred = this.deps.store instanceof PostgresProductStore && (await this.deferIndexes(DOCUMENT_INDEXES));
      await this.markSeededDirty();
      const built = await this.rebuildDirty(SEED_WORKERS);
      if (options.keepIndexesDeferred) this.deferringDocuments = true;
      else if (deferred) await this.restoreIndexes(DOCUMENT_INDEXES);
      return built;
    });
  }

  /**
   * The snapshot's rows mark no product dirty as they land (applyDeferred): ~900,000 upserts of
   * pim_product_state for 100,000 products, each product once per table and batch. Every product
   * is marked here at once instead, versioned as a snapshot is (legacy-snapshot.ts): at the
   * newest position applied to an entity row or a product so far — never older than a change
   * folded into it, so the store's version rule holds for every later write.
   */
  /**
   * VACUUM (ANALYZE) of the freshly received raw rows before the documents read them, on two
   * connections. Otherwise the documents' reads are the first to look at 1.8 M new tuples: each
   * read checks their transaction in the commit log and sets their hint bits, which dirties every
   * page — and with data checksums (PostgreSQL 18's initdb default) the first hint on a page after
   * a checkpoint writes the whole page to the WAL — then autovacuum comes by and reads them all
   * again while the PIM is catching up. One pass here sets the hints and the visibility map
   * sequentially and gives the planner statistics. bench:seed 100k, 05:14 vs 05:19 UTC (load 7.5
   * vs 4.5): documents 71.8 -> 36.7 s, PostgreSQL 677 -> 350 us per document, the vacuum 1.35 s,
   * no autovacuum of a raw table before ready.
   */
  private async vacuumRawRows(): Promise<void> {
    const started = performance.now();
    const queue = [...RAW_INDEXES.tables];
    const vacuum = async () => {
      for (let table = queue.shift(); table; table = queue.shift()) await this.deps.pool.query(`VACUUM (ANALYZE) ${quoteIdent(table)}`);
    };
    await Promise.all(Array.from({ length: INDEX_BUILDERS }, vacuum));
    this.log.info({ ms: Math.round(performance.now() - started) }, 'raw rows vacuumed');
  }

  private async markSeededDirty(): Promise<void> {
    await this.deps.pool.query(
      `INSERT INTO pim_product_state (entity_id, lsn, dirty)
       SELECT e.entity_id, v.lsn, true FROM pim_raw_entity e,
              (SELECT greatest((SELECT max(cdc_lsn) FROM pim_raw_entity), (SELECT max(lsn) FROM pim_product_state), '0/0'::pg_lsn) AS lsn) v
       ON CONFLICT (entity_id) DO UPDATE SET lsn = greatest(pim_product_state.lsn, EXCLUDED.lsn), dirty = true`,
    );
  }

  /** While catching up: rebuilds what is dirty, indexes still dropped (CatalogSync repeats it until little is left). */
  rebuildCaughtUp(): Promise<number> {
    return this.exclusive(() => this.rebuildDirty(SEED_WORKERS));
  }

  /**
   * Ends the catching up that follows `flushSeeded({ keepIndexesDeferred: true })`: the live
   * changes queued while the snapshot was applied and its documents built were folded into the
   * raw rows only (`apply` while `catchingUp`); their products are rebuilt here, still without the document
   * indexes (a rewrite with them cost ~2–3 ms per document, without ~0.5–1 ms), and then the
   * indexes are built once.
   */
  finishSeeding(): Promise<number> {
    return this.exclusive(async () => {
      const rebuilt = await this.rebuildDirty(SEED_WORKERS);
      await this.restoreIndexes(DOCUMENT_INDEXES);
      this.deferringDocuments = false;
      return rebuilt;
    });
  }

  /** Creates again the indexes a seeding left dropped (a crash while receiving the snapshot or building its documents). */
  restoreDeferredIndexes(): Promise<void> {
    return this.exclusive(async () => {
      await this.restoreIndexes(RAW_INDEXES);
      await this.restoreIndexes(DOCUMENT_INDEXES);
    });
  }

  /**
   * Drops the raw rows' by-product indexes while an empty PIM is seeded (`flushSeeded` builds
   * them again before it reads the documents' rows). Does nothing when raw rows exist already (a
   * restart mid-seeding, which built them at start) or the indexes are already dropped.
   */
  deferRawIndexes(): Promise<boolean> {
    return this.exclusive(() => this.deferIndexes(RAW_INDEXES));
  }

  private async deferIndexes(set: DeferredIndexSet): Promise<boolean> {
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN');
      const held = (await deferredIndexes(client, set.markTable)) !== null;
      const { rows: filled } = await client.query(set.tables.map((table) => `(SELECT 1 FROM ${quoteIdent(table)} LIMIT 1)`).join(' UNION ALL '));
      if (held || filled.length > 0) {
        await client.query('ROLLBACK');
        return held;
      }
      // Indexes that back a constraint (primary keys: ON CONFLICT needs them) stay.
      const { rows } = await client.query<{ name: string; definition: string }>(
        `SELECT i.indexname AS name, i.indexdef AS definition
           FROM pg_indexes i
          WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[]) AND i.indexname <> ALL($2::text[])
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)`,
        [set.tables, set.kept],
      );
      await client.query(`COMMENT ON TABLE ${quoteIdent(set.markTable)} IS ${client.escapeLiteral(DEFERRED_INDEXES_MARK + JSON.stringify(rows))}`);
      for (const row of rows) await client.query(`DROP INDEX ${quoteIdent(row.name)}`);
      if (set.pauseAutovacuum) for (const table of set.tables) await client.query(`ALTER TABLE ${quoteIdent(table)} SET (autovacuum_enabled = false)`);
      await client.query('COMMIT');
      this.log.info({ indexes: rows.length, tables: set.tables }, set.droppedMessage);
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async restoreIndexes(set: DeferredIndexSet): Promise<void> {
    const indexes = await deferredIndexes(this.deps.pool, set.markTable);
    if (!indexes) return;
    const started = performance.now();
    // The largest first (GIN over the search text and the fields), so that no builder is left
    // with a long one at the end while the other idles.
    const queue = [...indexes].sort((a, b) => Number(/USING gin/i.test(b.definition)) - Number(/USING gin/i.test(a.definition)));
    const build = async () => {
      const client = await this.deps.pool.connect();
      try {
        await client.query(`SET maintenance_work_mem = '256MB'`);
        for (let index = queue.shift(); index; index = queue.shift()) {
          await client.query(index.definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
        }
        await client.query('RESET maintenance_work_mem');
      } finally {
        client.release();
      }
    };
    // The mark is cleared only once every index exists: a failed build leaves it, and the next start builds the rest.
    await Promise.all(Array.from({ length: INDEX_BUILDERS }, build));
    const resumed = set.pauseAutovacuum ? set.tables.map((table) => `ALTER TABLE ${quoteIdent(table)} RESET (autovacuum_enabled);`).join(' ') : '';
    await this.deps.pool.query(`${resumed} COMMENT ON TABLE ${quoteIdent(set.markTable)} IS NULL`);
    this.log.info({ indexes: indexes.length, tables: set.tables, ms: Math.round(performance.now() - started) }, 'deferred indexes built');
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * `snapshotRowsUnclaimed` (while seeding): snapshot rows (`op: "r"`, whole rows) are not claimed
   * one by one in cdc_applied — their position is kept in the raw row (raw-catalog.ts,
   * `applySnapshotRows`), after the other changes of the batch are claimed and applied.
   */
  private async applyRaw(changes: readonly ReceivedChange[], options: { snapshotRowsUnclaimed?: boolean } = {}): Promise<{ applied: number; skipped: number }> {
    let applied: number;
    let dictionaryChanged = false;
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN');
      const dirty = new Map<number, Lsn>();
      let allAt: string | null = null;
      const categories: Array<{ id: number; lsn: string }> = [];
      const unclaimed: ReceivedChange[] = [];
      const claimed: ReceivedChange[] = [];
      for (const change of changes) (options.snapshotRowsUnclaimed && isUnclaimedSnapshotRow(change) ? unclaimed : claimed).push(change);
      // One round trip claims the whole batch; one statement per raw table writes the fresh rows.
      const fresh = claimed.length > 0 ? await this.positions.claimMany(client, claimed) : [];
      const freshChanges = claimed.filter((_, i) => fresh[i]);
      const written = await applyRawChanges(client, freshChanges);
      // After the claimed changes: a delete among them is then in cdc_applied, where the snapshot rows look.
      const snapshot = unclaimed.length > 0 ? await applySnapshotRows(client, unclaimed, this.positions.tableName) : { affected: [], written: 0 };
      applied = freshChanges.length + snapshot.written;
      for (const change of [...freshChanges, ...unclaimed]) {
        if (changesDictionary(change.table)) dictionaryChanged = true;
        const mark = { position: change.position, commitTimeMs: change.event.source.ts_ms };
        if (!this.newest || comparePositions(mark.position, this.newest.position) > 0) this.newest = mark;
      }
      // Snapshot rows mark nothing: flushSeeded marks every product once (markSeededDirty).
      void snapshot.affected;
      for (const { change, affected } of written.affected) {
        const lsn = change.position.commitLsn;
        if ('products' in affected) {
          for (const id of affected.products) {
            if (!Number.isInteger(id)) continue;
            const held = dirty.get(id);
            // A product keeps the newest LSN of its changes in the batch (greatest() below does the same across batches).
            if (held === undefined || held.compare(lsn) < 0) dirty.set(id, lsn);
          }
        }
        if ('allProducts' in affected && (allAt === null || Lsn.parse(allAt).compare(lsn) < 0)) allAt = lsn.toString();
        if ('category' in affected) categories.push({ id: affected.category, lsn: lsn.toString() });
      }
      if (dirty.size > 0) {
        // Changes come in LSN order within a batch mostly, but not always (retries): greatest() keeps the newest.
        await client.query(
          `INSERT INTO pim_product_state (entity_id, lsn, dirty)
           SELECT id, lsn::pg_lsn, true FROM unnest($1::int[], $2::text[]) AS t(id, lsn)
           ON CONFLICT (entity_id) DO UPDATE SET lsn = greatest(pim_product_state.lsn, EXCLUDED.lsn), dirty = true`,
          [[...dirty.keys()], [...dirty.values()].map((lsn) => lsn.toString())],
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

  /**
   * Rebuilds the dirty products, REBUILD_BATCH at a time; `workers` > 1 splits them by
   * entity_id modulo `workers`, each share rebuilt by its own loop at the same time (disjoint
   * products: no two rebuilds of one product race). The seeded build uses SEED_WORKERS: while one
   * loop builds documents in Node, the others' reads and writes run in PostgreSQL.
   */
  private async rebuildDirty(workers = 1): Promise<number> {
    if (workers > 1) {
      const counts = await Promise.all(Array.from({ length: workers }, (_, share) => this.rebuildShare(workers, share)));
      return counts.reduce((sum, count) => sum + count, 0);
    }
    return this.rebuildShare(1, 0);
  }

  private async rebuildShare(workers: number, share: number): Promise<number> {
    let rebuilt = 0;
    // Onwards from the last product rebuilt: nothing marks products dirty meanwhile (the projector's
    // lock), and the partial index still holds the entries just cleared until a vacuum, which a
    // scan from the start would step over again and again (quadratic over 100,000 products).
    let after = -2_147_483_648;
    for (;;) {
      const { rows } = await this.deps.pool.query<{ entity_id: number }>(
        'SELECT entity_id FROM pim_product_state WHERE dirty AND entity_id > $4::int AND entity_id % $2 = $3 ORDER BY entity_id LIMIT $1',
        [REBUILD_BATCH, workers, share, after],
      );
      if (rows.length === 0) return rebuilt;
      const ids = rows.map((row) => row.entity_id);
      after = ids[ids.length - 1]!;
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

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function deferredIndexes(db: pg.Pool | pg.ClientBase, markTable: string): Promise<Array<{ name: string; definition: string }> | null> {
  const { rows } = await db.query<{ comment: string | null }>(`SELECT obj_description($1::regclass, 'pg_class') AS comment`, [markTable]);
  const comment = rows[0]?.comment;
  if (!comment?.startsWith(DEFERRED_INDEXES_MARK)) return null;
  return JSON.parse(comment.slice(DEFERRED_INDEXES_MARK.length)) as Array<{ name: string; definition: string }>;
}

/** While seeding, a snapshot row (a whole row, `op: "r"`) is written without a claim (`applySnapshotRows`). */
function isUnclaimedSnapshotRow(change: ReceivedChange): boolean {
  return change.event.op === 'r' && isWholeRowWrite(change);
}
