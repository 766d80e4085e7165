import type pg from 'pg';
import type { Logger } from '../../platform/logger.ts';

export const HEARTBEAT_PREFIX = 'strangler_cdc_heartbeat';

export interface SlotPosition {
  /** Bytes of WAL the server keeps for the slot (current WAL position − restart_lsn). */
  retainedWalBytes: number;
  /** Bytes between the current WAL position and what the bridge confirmed. */
  lagBytes: number;
  confirmedFlushLsn: string | null;
  currentWalLsn: string;
}

export interface HeartbeatOptions {
  client: pg.Client;
  slot: string;
  intervalMs: number;
  /** Warn when the slot retains more WAL than this. */
  retainedWalWarningBytes: number;
  logger: Logger;
  onPosition: (position: SlotPosition) => void;
}

/**
 * Keeps an idle slot moving. When the captured tables are quiet but the server writes WAL for
 * other tables or databases, pgoutput sends nothing (empty transactions are skipped), the slot's
 * confirmed position never moves and WAL piles up behind it — Debezium's best-known failure.
 * A transactional logical message (pg_logical_emit_message) in this database arrives as a
 * transaction of its own, whose commit the flush coordinator confirms like any other. Each beat
 * also measures the slot's retained WAL and warns past the threshold.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    const beat = () => {
      this.running = this.beat().catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'heartbeat failed');
      });
    };
    beat();
    this.timer = setInterval(beat, this.options.intervalMs);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    await this.options.client.query('SELECT pg_logical_emit_message(true, $1, now()::text)', [HEARTBEAT_PREFIX]);
    const position = await readSlotPosition(this.options.client, this.options.slot);
    if (!position) return;
    this.options.onPosition(position);
    if (position.retainedWalBytes > this.options.retainedWalWarningBytes) {
      if (!this.warned) {
        this.options.logger.warn(
          { slot: this.options.slot, retainedWalBytes: position.retainedWalBytes, thresholdBytes: this.options.retainedWalWarningBytes },
          'the replication slot retains more WAL than the warning threshold; is the bridge keeping up?',
        );
      }
      this.warned = true;
    } else {
      this.warned = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}

export async function readSlotPosition(client: pg.Client | pg.Pool, slot: string): Promise<SlotPosition | undefined> {
  const { rows } = await client.query<{ retained: string | null; lag: string | null; confirmed: string | null; current: string }>(
    `SELECT (pg_current_wal_lsn() - restart_lsn)::text AS retained,
            (pg_current_wal_lsn() - confirmed_flush_lsn)::text AS lag,
            confirmed_flush_lsn::text AS confirmed,
            pg_current_wal_lsn()::text AS current
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    retainedWalBytes: Number(row.retained ?? 0),
    lagBytes: Number(row.lag ?? 0),
    confirmedFlushLsn: row.confirmed,
    currentWalLsn: row.current,
  };
}
