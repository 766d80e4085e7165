import { randomUUID } from 'node:crypto';
import type { Lsn } from '../offsets/lsn.ts';

/** Prefix of the logical decoding messages `StreamWatermarks` writes to find the stream's "now". */
export const STREAM_WATERMARK_PREFIX = 'strangler_cdc_watermark';

/**
 * "Everything committed before this moment": the commit LSN of the last captured transaction the
 * bridge read before a marker it wrote to the WAL just now. A CDC-fed service whose X-Data-Lsn has
 * reached it has seen every change the legacy had committed before the question was asked.
 *
 * Why not the reader's received position: a change committed a millisecond ago may not have
 * reached the bridge yet, so the received position can sit below it and a lagging service would
 * look caught up (the shadow comparison then reports lag as a mismatch). The marker
 * (`pg_logical_emit_message`, not transactional: it is in the WAL at once) comes through the
 * stream after every transaction that committed before it — the same device as the snapshot
 * watermarks (DBLog), used here for a point in time instead of a chunk.
 */
export class StreamWatermarks {
  private lastCommit: Lsn | null = null;
  private readonly waiting = new Map<string, (lsn: Lsn | null) => void>();

  constructor(private readonly emit: (prefix: string, token: string) => Promise<void>) {}

  /** A transaction with published changes committed (its commit LSN, what consumers record). */
  committed(commitLsn: Lsn): void {
    if (!this.lastCommit || commitLsn.isAfter(this.lastCommit)) this.lastCommit = commitLsn;
  }

  /** Takes the stream's logical messages; true when it was one of ours (nothing to publish). */
  onMessage(prefix: string, content: Buffer): boolean {
    if (prefix !== STREAM_WATERMARK_PREFIX) return false;
    const resolve = this.waiting.get(content.toString('utf8'));
    if (resolve) {
      this.waiting.delete(content.toString('utf8'));
      resolve(this.lastCommit);
    }
    return true;
  }

  /**
   * Writes a marker and resolves, once the stream delivered it, with the last captured commit
   * before it (null: nothing captured yet, or no answer within `timeoutMs`).
   */
  async take(timeoutMs: number): Promise<Lsn | null> {
    const token = randomUUID();
    const answer = new Promise<Lsn | null>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(token);
        resolve(null);
      }, timeoutMs);
      timer.unref();
      this.waiting.set(token, (lsn) => {
        clearTimeout(timer);
        resolve(lsn);
      });
    });
    try {
      await this.emit(STREAM_WATERMARK_PREFIX, token);
    } catch {
      this.waiting.get(token)?.(null);
      this.waiting.delete(token);
    }
    return answer;
  }

  /** Ends every open question (the session ended). */
  close(): void {
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
  }
}
