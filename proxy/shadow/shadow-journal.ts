import { appendFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../platform/logger.ts';
import type { MismatchRecord, RestoredReport, RouteState } from './shadow-report.ts';

/**
 * The shadow report's memory across restarts: a JSONL file under DATA_DIR with a snapshot line
 * every few seconds (counts, histograms, paths, last mismatches) and one line per mismatch in
 * between, so a crash loses at most the counts since the last snapshot, not the mismatches. The
 * file is rewritten as one snapshot line whenever it grows past `maxBytes`, so it stays bounded.
 */
export interface ShadowJournalOptions {
  readonly file: string;
  readonly logger: Logger;
  /** Compaction threshold (default 4 MB). */
  readonly maxBytes?: number;
  /** Snapshot period (default 5 s). */
  readonly snapshotMs?: number;
}

type JournalLine = { type: 'snapshot'; at: number; routes: Record<string, RouteState> } | { type: 'mismatch'; record: MismatchRecord };

/** Mismatch lines waiting to be written; past this the next snapshot covers them instead. */
const MAX_PENDING = 1000;

export class ShadowJournal {
  readonly #options: ShadowJournalOptions;
  #pending: string[] = [];
  #overflowed = false;
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #state: (() => Record<string, RouteState>) | undefined;
  #dirty = false;

  private constructor(options: ShadowJournalOptions) {
    this.#options = options;
  }

  /** Reads what an earlier run left (ignoring a torn last line) and opens the file for appending. */
  static async open(options: ShadowJournalOptions): Promise<{ journal: ShadowJournal; restored: RestoredReport }> {
    await mkdir(dirname(options.file), { recursive: true });
    let text = '';
    try {
      text = await readFile(options.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    let routes = new Map<string, RouteState>();
    let replay: MismatchRecord[] = [];
    let unreadable = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let entry: JournalLine;
      try {
        entry = JSON.parse(line) as JournalLine;
      } catch {
        unreadable++;
        continue;
      }
      if (entry.type === 'snapshot') {
        routes = new Map(Object.entries(entry.routes));
        replay = [];
      } else if (entry.type === 'mismatch') replay.push(entry.record);
    }
    if (unreadable > 0) options.logger.warn({ file: options.file, unreadable }, 'shadow journal: skipped unreadable lines (a crash mid-write)');
    return { journal: new ShadowJournal(options), restored: { routes, replay } };
  }

  /** Starts writing: mismatch lines every 500 ms, a snapshot of `state` every `snapshotMs`. */
  start(state: () => Record<string, RouteState>): void {
    this.#state = state;
    const snapshotEvery = Math.max(1, Math.round((this.#options.snapshotMs ?? 5000) / 500));
    let ticks = 0;
    this.#timer = setInterval(() => void (++ticks % snapshotEvery === 0 ? this.snapshot() : this.flush()), 500);
    this.#timer.unref();
  }

  appendMismatch(record: MismatchRecord): void {
    this.#dirty = true;
    if (this.#pending.length >= MAX_PENDING) {
      this.#overflowed = true;
      this.#pending = [];
      return;
    }
    if (!this.#overflowed) this.#pending.push(`${JSON.stringify({ type: 'mismatch', record } satisfies JournalLine)}\n`);
  }

  /** Something changed that only a snapshot records (counts of matches). */
  touch(): void {
    this.#dirty = true;
  }

  /** Writes pending mismatch lines. */
  flush(): Promise<void> {
    return this.#enqueue(false);
  }

  /** Writes pending mismatch lines, then a snapshot if anything changed (compacting a big file). */
  snapshot(): Promise<void> {
    return this.#enqueue(true);
  }

  #enqueue(withSnapshot: boolean): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write(withSnapshot)).catch((error: unknown) => {
      this.#options.logger.warn({ file: this.#options.file, err: error instanceof Error ? error.message : String(error) }, 'shadow journal: write failed; the report is still kept in memory');
    });
    return this.#writing;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.snapshot();
  }

  async #write(withSnapshot: boolean): Promise<void> {
    const { file } = this.#options;
    const lines = this.#pending;
    this.#pending = [];
    const overflowed = this.#overflowed;
    this.#overflowed = false;
    if (lines.length > 0 && !overflowed) await appendFile(file, lines.join(''));
    // Lines were lost to overflow: only a snapshot now keeps the counts right.
    if (!(withSnapshot || overflowed) || !this.#dirty || !this.#state) return;
    this.#dirty = false;
    const snapshot = `${JSON.stringify({ type: 'snapshot', at: Date.now(), routes: this.#state() } satisfies JournalLine)}\n`;
    const size = await stat(file).then((stats) => stats.size, () => 0);
    if (size + snapshot.length > (this.#options.maxBytes ?? 4 * 1024 * 1024)) {
      // Compaction: the snapshot holds everything the older lines said.
      await writeFile(`${file}.tmp`, snapshot);
      await rename(`${file}.tmp`, file);
    } else await appendFile(file, snapshot);
  }
}
