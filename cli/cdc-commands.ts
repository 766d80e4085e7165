import { InvalidArgumentError, type Command } from 'commander';
import pg from 'pg';
import { StranglerError, messageOf, redactUrl } from '../platform/errors.ts';
import { DEFAULT_PUBLICATION, DEFAULT_SLOT } from '../cdc/capture-table.ts';
import { listSnapshots, type SnapshotRecord } from '../cdc/snapshot/snapshot-request.ts';
import { formatProgress, registerSnapshotCommands } from './cdc-snapshot-commands.ts';
import { registerReplayCommand } from './replay-command.ts';

export interface CdcCommandIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (text: string) => void;
  err: (text: string) => void;
  fetch: typeof fetch;
}

const defaultIo = (): CdcCommandIo => ({
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  fetch: globalThis.fetch,
});

export interface CdcStatusOptions {
  databaseUrl?: string;
  slot?: string;
  publication?: string;
  bridgeUrl?: string;
  json?: boolean;
}

export interface SlotReport {
  slot: string;
  plugin: string;
  active: boolean;
  activePid: number | null;
  restartLsn: string | null;
  confirmedFlushLsn: string | null;
  currentWalLsn: string;
  lagBytes: number | null;
  retainedWalBytes: number | null;
  walStatus: string | null;
  sentLsn: string | null;
  flushLag: string | null;
}

export interface CdcStatusReport {
  database: string;
  slot: SlotReport | null;
  publication: { name: string; tables: string[] } | null;
  bridge: { url: string; reachable: boolean; status?: Record<string, unknown>; error?: string };
  /** Incremental snapshots from the bridge's bookkeeping table, running ones first, then the newest. */
  snapshots: SnapshotRecord[];
}

/** `strangler cdc status`: the slot, the publication and the bridge, from PostgreSQL and the bridge's /healthz. */
export function registerCdcCommands(program: Command, io: CdcCommandIo = defaultIo()): void {
  const cdc = program.command('cdc').description('the CDC bridge: legacy PostgreSQL changes to RabbitMQ');
  cdc
    .command('status')
    .description('print the replication slot, publication, LSNs, lag, event rates and snapshots with their progress')
    .option('--database-url <url>', 'the legacy database (default: LEGACY_DATABASE_URL, else the embedded one, postgres://postgres:postgres@127.0.0.1:PG_PORT/legacy, port 5433)')
    .option('--slot <name>', `replication slot (default: CDC_SLOT or ${DEFAULT_SLOT})`)
    .option('--publication <name>', `publication (default: CDC_PUBLICATION or ${DEFAULT_PUBLICATION})`)
    .option('--bridge-url <url>', 'the bridge health endpoint base (default: http://127.0.0.1:CDC_PORT, port 8084)', parseUrl)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Lag is measured by PostgreSQL (current WAL position − the slot's confirmed flush position);
retained WAL is what the server keeps for the slot. Rates and in-flight events come from the
running bridge. Snapshots (\`strangler cdc snapshot\`) are listed with their state, rows of
the estimate, rows/s and ETA, running ones first. Exit status 1 when the database cannot be
reached or the slot does not exist.

Without --database-url or LEGACY_DATABASE_URL it reads the embedded PostgreSQL that
\`npm start\` runs: postgres://postgres:postgres@127.0.0.1:\${PG_PORT:-5433}/legacy.

Example:
  $ strangler cdc status
  $ LEGACY_DATABASE_URL=postgres://user:secret@db.internal:5432/shop strangler cdc status
`,
    )
    .action(async (options: CdcStatusOptions) => {
      process.exit(await runCdcStatus(options, io));
    });
  registerSnapshotCommands(cdc, io, (explicit) => explicit ?? (io.env.LEGACY_DATABASE_URL || embeddedLegacyUrl(io.env)));
  registerReplayCommand(cdc);
}

export async function runCdcStatus(options: CdcStatusOptions, io: CdcCommandIo): Promise<number> {
  const databaseUrl = options.databaseUrl ?? (io.env.LEGACY_DATABASE_URL || embeddedLegacyUrl(io.env));
  const slot = options.slot ?? (io.env.CDC_SLOT || DEFAULT_SLOT);
  const publication = options.publication ?? (io.env.CDC_PUBLICATION || DEFAULT_PUBLICATION);
  const bridgeUrl = options.bridgeUrl ?? `http://127.0.0.1:${io.env.CDC_PORT || '8084'}`;
  let report: CdcStatusReport;
  try {
    report = await collectCdcStatus({ databaseUrl, slot, publication, bridgeUrl, fetch: io.fetch });
  } catch (error) {
    io.err(
      new StranglerError('CDC_STATUS_UNAVAILABLE', `cannot read the replication state from ${redactUrl(databaseUrl)}: ${messageOf(error)}`, {
        remedy: 'Check that PostgreSQL runs (npm start starts the embedded one) and that the URL is right; for another database pass --database-url or set LEGACY_DATABASE_URL.',
        cause: error,
      }).explain(),
    );
    return 1;
  }
  io.out(options.json ? JSON.stringify(report, null, 2) : formatCdcStatus(report));
  if (!report.slot) {
    io.err(
      new StranglerError('CDC_SLOT_MISSING', `replication slot ${slot} does not exist`, {
        remedy: 'Start the bridge (npm start) or run `strangler db setup`; both create the slot and the publication.',
      }).explain(),
    );
    return 1;
  }
  return 0;
}

/** The legacy database of the embedded PostgreSQL that `npm start` runs (platform/embedded-postgres defaults). */
export function embeddedLegacyUrl(env: Readonly<Record<string, string | undefined>>): string {
  return `postgres://postgres:postgres@127.0.0.1:${env.PG_PORT || '5433'}/legacy`;
}

export async function collectCdcStatus(options: {
  databaseUrl: string;
  slot: string;
  publication: string;
  bridgeUrl: string;
  fetch: typeof fetch;
}): Promise<CdcStatusReport> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  let slot: SlotReport | null;
  let publication: CdcStatusReport['publication'];
  let database: string;
  let snapshots: SnapshotRecord[];
  try {
    database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    const { rows } = await client.query<{
      plugin: string; active: boolean; active_pid: number | null; restart_lsn: string | null; confirmed_flush_lsn: string | null;
      current: string; lag: string | null; retained: string | null; wal_status: string | null; sent_lsn: string | null; flush_lag: string | null;
    }>(
      `SELECT s.plugin, s.active, s.active_pid, s.restart_lsn::text, s.confirmed_flush_lsn::text,
              pg_current_wal_lsn()::text AS current,
              (pg_current_wal_lsn() - s.confirmed_flush_lsn)::text AS lag,
              (pg_current_wal_lsn() - s.restart_lsn)::text AS retained,
              s.wal_status, r.sent_lsn::text AS sent_lsn, r.flush_lag::text AS flush_lag
         FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
        WHERE s.slot_name = $1`,
      [options.slot],
    );
    const row = rows[0];
    slot = row
      ? {
          slot: options.slot,
          plugin: row.plugin,
          active: row.active,
          activePid: row.active_pid,
          restartLsn: row.restart_lsn,
          confirmedFlushLsn: row.confirmed_flush_lsn,
          currentWalLsn: row.current,
          lagBytes: row.lag === null ? null : Number(row.lag),
          retainedWalBytes: row.retained === null ? null : Number(row.retained),
          walStatus: row.wal_status,
          sentLsn: row.sent_lsn,
          flushLag: row.flush_lag,
        }
      : null;
    const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [options.publication]);
    const tables = await client.query<{ name: string }>(
      `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`,
      [options.publication],
    );
    publication = exists.rowCount ? { name: options.publication, tables: tables.rows.map((table) => table.name) } : null;
    snapshots = await listSnapshots(client, 10);
  } finally {
    await client.end().catch(() => undefined);
  }
  const bridge: CdcStatusReport['bridge'] = { url: options.bridgeUrl, reachable: false };
  try {
    const response = await options.fetch(`${options.bridgeUrl.replace(/\/$/, '')}/healthz`, { signal: AbortSignal.timeout(2000) });
    bridge.reachable = true;
    bridge.status = (await response.json()) as Record<string, unknown>;
  } catch (error) {
    bridge.error = messageOf(error);
  }
  return { database, slot, publication, bridge, snapshots };
}

function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (value < 1024) return `${value} B`;
  if (value < 1024 ** 2) return `${(value / 1024).toFixed(1)} KiB`;
  if (value < 1024 ** 3) return `${(value / 1024 ** 2).toFixed(1)} MiB`;
  return `${(value / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatCdcStatus(report: CdcStatusReport): string {
  const lines: string[] = [];
  const slot = report.slot;
  lines.push(`database      ${report.database}`);
  if (slot) {
    lines.push(`slot          ${slot.slot} (${slot.plugin}, ${slot.active ? `active, pid ${slot.activePid}` : 'inactive'}${slot.walStatus ? `, wal ${slot.walStatus}` : ''})`);
    lines.push(`  current WAL       ${slot.currentWalLsn}`);
    lines.push(`  confirmed flush   ${slot.confirmedFlushLsn ?? '-'}`);
    lines.push(`  restart           ${slot.restartLsn ?? '-'}`);
    if (slot.sentLsn) lines.push(`  sent              ${slot.sentLsn}`);
    lines.push(`  lag               ${bytes(slot.lagBytes)}`);
    lines.push(`  retained WAL      ${bytes(slot.retainedWalBytes)}`);
  } else {
    lines.push('slot          (missing)');
  }
  lines.push(
    report.publication
      ? `publication   ${report.publication.name} (${report.publication.tables.length} tables: ${report.publication.tables.map((name) => name.replace(/^public\./, '')).join(', ')})`
      : 'publication   (missing)',
  );
  const bridge = report.bridge;
  if (bridge.reachable && bridge.status) {
    const status = bridge.status;
    lines.push(`bridge        ${String(status.state)} at ${bridge.url}`);
    lines.push(`  exchange          ${String(status.exchange ?? '-')} (stream ${String(status.streamQueue ?? '-')})`);
    lines.push(`  received LSN      ${String(status.receivedLsn ?? '-')}`);
    lines.push(`  flushed LSN       ${String(status.flushedLsn ?? '-')}`);
    lines.push(`  events            ${String(status.eventsConfirmed ?? 0)} confirmed, ${Number(status.eventsPerSecond ?? 0).toFixed(1)}/s, ${String(status.inFlight ?? 0)} in flight`);
    lines.push(`  lag               ${Number(status.slotLagSeconds ?? 0).toFixed(1)} s behind the oldest unconfirmed commit`);
    const lastError = status.lastError as { code?: string; message?: string } | null | undefined;
    if (lastError) lines.push(`  last error        ${lastError.code}: ${lastError.message}`);
  } else {
    lines.push(`bridge        not reachable at ${bridge.url}${bridge.error ? ` (${bridge.error})` : ''}`);
  }
  if (report.snapshots.length > 0) {
    lines.push('snapshots');
    for (const snapshot of report.snapshots) lines.push(`  ${formatProgress(snapshot)} → ${snapshot.target}`);
  }
  return lines.join('\n');
}

function parseUrl(value: string): string {
  try {
    return new URL(value).toString().replace(/\/$/, '');
  } catch {
    throw new InvalidArgumentError('must be a URL such as http://127.0.0.1:8084');
  }
}
