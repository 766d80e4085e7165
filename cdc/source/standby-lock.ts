import type pg from 'pg';

/**
 * One active bridge per slot. The active bridge holds a session-level advisory lock on its own
 * connection; a second bridge polls for it and waits as a hot standby. When the active process
 * dies, PostgreSQL ends its session, the lock is released, and the standby takes over within one
 * poll interval (then retries briefly while the dead walsender lets go of the slot).
 */
export class StandbyLock {
  constructor(
    private readonly client: pg.Client,
    /** Any text; hashed with hashtext() into the lock key. Tests vary it with the slot. */
    private readonly name: string,
  ) {}

  async tryAcquire(): Promise<boolean> {
    const { rows } = await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [this.name]);
    return rows[0]?.locked === true;
  }

  /** Polls until the lock is ours or `signal` aborts (then resolves false). */
  async acquire(pollMs: number, signal: AbortSignal, onWaiting: () => void): Promise<boolean> {
    let announced = false;
    while (!signal.aborted) {
      if (await this.tryAcquire()) return true;
      if (!announced) {
        onWaiting();
        announced = true;
      }
      await new Promise<void>((resolve) => {
        const onAbort = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, pollMs);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    return false;
  }

  async release(): Promise<void> {
    await this.client.query('SELECT pg_advisory_unlock(hashtext($1))', [this.name]).catch(() => undefined);
  }
}
