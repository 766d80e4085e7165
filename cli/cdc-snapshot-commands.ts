import { InvalidArgumentError, type Command } from 'commander';
import pg from 'pg';
import { StranglerError, messageOf } from '../platform/errors.ts';
import {
  buildSnapshotRequest,
  buildStopSnapshot,
  readSnapshot,
  waitForSnapshot,
  writeSignal,
  SnapshotRequestErrors,
  type SnapshotRecord,
} from '../cdc/snapshot/snapshot-request.ts';
import { targetQueue } from '../cdc/snapshot/snapshot-protocol.ts';
import type { CdcCommandIo } from './cdc-commands.ts';

export interface SnapshotCommandOptions {
  tables: string[];
  target: string;
  where?: string;
  keys?: Array<Record<string, string | number>>;
  chunkSize?: number;
  id?: string;
  wait?: boolean;
  timeout?: number;
  databaseUrl?: string;
}

/** `strangler cdc snapshot …` and `strangler cdc snapshot cancel <id>`. */
export function registerSnapshotCommands(cdc: Command, io: CdcCommandIo, legacyUrl: (explicit?: string) => string): void {
  const snapshot = cdc
    .command('snapshot')
    .description("request an incremental snapshot of legacy tables into one service's queue (seeding, repair)")
    // Checked in the action, not as commander's required options: those would also be demanded
    // of `snapshot cancel <id>`.
    .option('--tables <list>', 'required: comma-separated tables (`name` or `schema.name`), snapshotted in this order', parseList)
    .option('--target <name>', 'required: service (pim → queue pim.cdc) or queue name (with a dot) that receives the rows')
    .option('--where <sql>', "SQL condition on the tables' columns, e.g. \"entity_id < 1000\"")
    .option('--keys <json>', 'only these primary keys, a JSON array of objects, e.g. \'[{"value_id":42}]\'; a key not found is sent as a delete', parseKeys)
    .option('--chunk-size <n>', "rows per chunk (default: the bridge's CDC_SNAPSHOT_CHUNK_SIZE, 4096)", parsePositive)
    .option('--id <id>', 'request id (default: a new UUID); the same id requested twice runs once')
    .option('--wait', 'follow the progress until the snapshot ends; exit 0 only when it completed')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this many seconds (the snapshot goes on)', parsePositive)
    .option('--database-url <url>', 'the legacy database (default: LEGACY_DATABASE_URL, else the embedded one on PG_PORT)')
    .addHelpText(
      'after',
      `
The request is a row in the legacy database's signal table (strangler_cdc_signal), so it is
ordered in the WAL with every change; the running CDC bridge picks it up, reads each table in
primary-key chunks between a low and a high watermark while streaming goes on, and publishes
the rows (op "r", source.snapshot "incremental") in batches to the target's queue only, followed
by progress messages and one of completed / cancelled / failed. The target queue must exist
(start the service first). The snapshot survives a bridge restart and resumes after its last
completed chunk.

Exit status with --wait: 0 completed, 1 failed (or the wait timed out), 2 cancelled.

Examples:
  $ strangler cdc snapshot --tables catalog_product_entity,catalog_product_entity_varchar --target pim --wait
  $ strangler cdc snapshot --tables catalog_product_entity_decimal --target pricing --where "attribute_id = 3"
  $ strangler cdc snapshot --tables catalog_product_entity_decimal --target pricing --keys '[{"value_id":42}]'
  $ strangler cdc snapshot cancel 0b6c5b1e-…
  $ strangler cdc status            snapshots with their progress
`,
    )
    .action(async (options: Partial<SnapshotCommandOptions>) => {
      if (!options.tables) snapshot.error("error: required option '--tables <list>' not specified");
      if (!options.target) snapshot.error("error: required option '--target <name>' not specified");
      const complete = options as SnapshotCommandOptions;
      process.exit(await runSnapshotCommand(complete, io, legacyUrl(complete.databaseUrl)));
    });
  snapshot
    .command('cancel <id>')
    .description('cancel a pending or running snapshot (it stops after the chunk in hand)')
    .option('--database-url <url>', 'the legacy database (default: LEGACY_DATABASE_URL, else the embedded one on PG_PORT)')
    .action(async (id: string, _options: unknown, command: Command) => {
      // --database-url after `cancel` is parsed by `snapshot`, which has the same option.
      const { databaseUrl } = command.optsWithGlobals<{ databaseUrl?: string }>();
      process.exit(await runSnapshotCancel(id, io, legacyUrl(databaseUrl)));
    });
}

export async function runSnapshotCommand(options: SnapshotCommandOptions, io: CdcCommandIo, databaseUrl: string): Promise<number> {
  let request;
  try {
    request = buildSnapshotRequest({
      ...(options.id ? { id: options.id } : {}),
      target: options.target,
      tables: options.tables,
      ...(options.where ? { where: options.where } : {}),
      ...(options.keys ? { keys: options.keys } : {}),
      ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
    });
  } catch (error) {
    io.err(error instanceof StranglerError ? error.explain() : messageOf(error));
    return 1;
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const fresh = await writeSignal(client, request);
    io.out(request.id);
    io.err(`snapshot ${request.id} of ${request.tables.join(', ')} → queue ${targetQueue(request.target)}${fresh ? '' : ' (already requested)'}`);
    if (!options.wait) return 0;
    let last = '';
    const record = await waitForSnapshot(client, request.id, {
      ...(options.timeout ? { timeoutMs: options.timeout * 1000 } : {}),
      onProgress: (current) => {
        const line = current ? formatProgress(current) : 'waiting for the bridge to pick the request up (is it running?)';
        if (line !== last) io.err(line);
        last = line;
      },
    });
    io.err(formatProgress(record));
    if (record.state === 'completed') return 0;
    if (record.error) io.err(`error: ${record.error}`);
    return record.state === 'cancelled' ? 2 : 1;
  } catch (error) {
    io.err(explainDatabaseError(error, databaseUrl));
    return 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function runSnapshotCancel(id: string, io: CdcCommandIo, databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const record = await readSnapshot(client, id);
    if (record && record.state !== 'pending' && record.state !== 'running') {
      io.err(`snapshot ${id} already ended: ${record.state}`);
      return 1;
    }
    await writeSignal(client, buildStopSnapshot(id));
    io.out(`asked the bridge to cancel snapshot ${id}; it stops after the chunk in hand (see strangler cdc status)`);
    return 0;
  } catch (error) {
    io.err(explainDatabaseError(error, databaseUrl));
    return 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function explainDatabaseError(error: unknown, databaseUrl: string): string {
  if (error instanceof StranglerError) return error.explain();
  return SnapshotRequestErrors.databaseUnavailable(databaseUrl, error).explain();
}

/** One line: state, rows (of the estimate), rate and ETA, the table in progress. */
export function formatProgress(record: SnapshotRecord): string {
  const estimated = record.tables.reduce((sum, table) => sum + table.rowsEstimated, 0);
  const percent = estimated > 0 ? ` (${Math.min(100, Math.floor((record.rowsEmitted / estimated) * 100))}%)` : '';
  const done = record.tables.filter((table) => table.done).length;
  const parts = [
    `${record.snapshotId}  ${record.state.padEnd(9)}`,
    `${record.rowsEmitted}${estimated > 0 ? `/~${estimated}` : ''} rows${percent}`,
    `${done}/${record.tables.length} tables`,
  ];
  if (record.state === 'running') {
    parts.push(`${record.rowsPerSecond.toFixed(0)} rows/s`);
    if (record.etaSeconds !== null) parts.push(`ETA ${Math.ceil(record.etaSeconds)} s`);
    if (record.currentTable) parts.push(`at ${record.currentTable}`);
  }
  if (record.error) parts.push(`error: ${record.error}`);
  return parts.join(', ');
}

function parseList(value: string): string[] {
  const list = value.split(',').map((part) => part.trim()).filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('give at least one table');
  return list;
}

function parsePositive(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return number;
}

function parseKeys(value: string): Array<Record<string, string | number>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be JSON, e.g. \'[{"value_id":42}]\'');
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))) {
    throw new InvalidArgumentError('must be a non-empty JSON array of objects, one per row, e.g. \'[{"value_id":42}]\'');
  }
  return parsed as Array<Record<string, string | number>>;
}
