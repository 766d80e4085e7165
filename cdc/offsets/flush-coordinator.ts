import type { Lsn } from './lsn.ts';

export interface FlushCoordinatorOptions {
  /** The slot's confirmed position when the stream (re)started. */
  startLsn: Lsn;
  /** Sends the position to PostgreSQL. The ONLY way the slot advances. */
  report: (lsn: Lsn) => void;
  /** Called when a transaction became safe: every one of its events is confirmed. */
  onTransactionSafe?: (commitTimeMs: number, lsn: Lsn, events: number) => void;
}

interface PendingCommit {
  /** Events numbered below this belong to the transaction (or earlier ones). */
  eventsBefore: number;
  lsn: Lsn;
  commitTimeMs: number;
  events: number;
}

/**
 * Decides the position PostgreSQL may forget up to. Like Debezium's offset commit, "tell the
 * server the point up to which we've processed data, so it can be free to recycle WAL segments"
 * — and only once the broker has confirmed every event up to that point. Events are numbered
 * in publish order; a transaction's commit end LSN becomes the flush position once every event
 * numbered before its commit marker is confirmed. Confirms may arrive out of order (a nack, or
 * a multi-confirm), so the contiguous confirmed prefix is tracked explicitly.
 */
export class FlushCoordinator {
  private nextEvent = 0;
  /** Every event numbered below this is confirmed. */
  private confirmedPrefix = 0;
  private readonly confirmedAhead = new Set<number>();
  private readonly pending: PendingCommit[] = [];
  private safe: Lsn;
  private reported: Lsn;
  private lastReportAt = 0;
  private readonly waiters: Array<{ limit: number; resolve: () => void }> = [];

  constructor(private readonly options: FlushCoordinatorOptions) {
    this.safe = options.startLsn;
    this.reported = options.startLsn;
  }

  /** Numbers the next event to be published. */
  register(): number {
    const id = this.nextEvent;
    this.nextEvent += 1;
    return id;
  }

  confirm(id: number): void {
    if (id < this.confirmedPrefix) return;
    if (id === this.confirmedPrefix) {
      // The usual case (the broker confirms in publish order): no set churn per event.
      this.confirmedPrefix += 1;
      if (this.confirmedAhead.size > 0) while (this.confirmedAhead.delete(this.confirmedPrefix)) this.confirmedPrefix += 1;
    } else {
      this.confirmedAhead.add(id);
    }
    if (this.pending.length > 0 && this.pending[0]!.eventsBefore <= this.confirmedPrefix) this.advance();
    if (this.waiters.length > 0) this.wakeWaiters();
  }

  /** The transaction whose events were registered so far committed at `lsn` (its end LSN). */
  commit(lsn: Lsn, commitTimeMs: number, events: number): void {
    this.pending.push({ eventsBefore: this.nextEvent, lsn, commitTimeMs, events });
    this.advance();
  }

  private advance(): void {
    while (this.pending.length > 0 && this.pending[0]!.eventsBefore <= this.confirmedPrefix) {
      const done = this.pending.shift()!;
      if (done.lsn.isAfter(this.safe)) this.safe = done.lsn;
      this.options.onTransactionSafe?.(done.commitTimeMs, done.lsn, done.events);
    }
  }

  get outstanding(): number {
    return this.nextEvent - this.confirmedPrefix;
  }

  get safeLsn(): Lsn {
    return this.safe;
  }

  get reportedLsn(): Lsn {
    return this.reported;
  }

  /** Commit time of the oldest transaction not yet safe, for the slot lag in seconds. */
  get oldestPendingCommitMs(): number | undefined {
    return this.pending[0]?.commitTimeMs;
  }

  /**
   * Reports the safe position when it moved (or, with `force`, in any case: the answer to a
   * keepalive that asks for one, and a periodic status so wal_sender_timeout never fires).
   */
  flush(force = false): void {
    if (!force && !this.safe.isAfter(this.reported)) return;
    this.options.report(this.safe);
    this.reported = this.safe;
    this.lastReportAt = Date.now();
  }

  get msSinceLastReport(): number {
    return Date.now() - this.lastReportAt;
  }

  /** Resolves once at most `limit` events await their confirm: the publisher's backpressure. */
  waitForOutstandingAtMost(limit: number): Promise<void> {
    if (this.outstanding <= limit) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ limit, resolve }));
  }

  private wakeWaiters(): void {
    for (let index = this.waiters.length - 1; index >= 0; index -= 1) {
      const waiter = this.waiters[index]!;
      if (this.outstanding <= waiter.limit) {
        this.waiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }
}
