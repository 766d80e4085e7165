import { InvalidArgumentError, type Command } from 'commander';
import { StranglerError } from '../platform/errors.ts';
import { replayHistory, type ReplayProgress, type ReplayResult } from '../cdc/replay/history-replay.ts';
import { ReplayErrors } from '../cdc/replay/replay-errors.ts';

export interface ReplayCommandIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal: a progress bar redrawn in place; otherwise plain lines. */
  isTty?: boolean;
  /** Writes without a newline (the progress bar's carriage returns). */
  errRaw?: (text: string) => void;
}

export interface ReplayCommandOptions {
  from: string;
  target: string;
  tables?: string[];
  amqpUrl?: string;
  stream?: string;
  json?: boolean;
}

const defaultIo = (): ReplayCommandIo => ({
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  errRaw: (text) => process.stderr.write(text),
  isTty: process.stderr.isTTY === true,
});

/** `strangler cdc replay --from first|<ISO time> --target <queue|service> [--tables t1,t2]`. */
export function registerReplayCommand(cdc: Command, io: ReplayCommandIo = defaultIo()): void {
  cdc
    .command('replay')
    .description("re-publish the history stream's events into one service's queue (rebuild a store from history, try a new projection)")
    .requiredOption('--from <first|time>', 'the stream\'s first event, or the first committed at or after an ISO 8601 time (e.g. 2026-11-22T03:00:00Z)')
    .requiredOption('--target <queue|service>', 'a service (pricing → queue pricing.cdc) or a queue name; the queue must exist')
    .option('--tables <t1,t2>', 'only these tables (name or schema.name, comma-separated)', parseTables)
    .option('--amqp-url <url>', 'RabbitMQ (default: AMQP_URL, else amqp://guest:guest@127.0.0.1:5672)')
    .option('--stream <name>', 'the history stream (default: CDC_STREAM, else legacy.cdc.log)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Each event goes to the target queue only (default exchange), as it was published: same body,
message id, type, timestamp and headers (plus x-strangler-replay and x-original-routing-key),
confirmed by the broker. The service's consumer applies what it does not have yet; events it
already applied are skipped by its position guard.

The replay ends exactly where the stream ended when it started: it first appends a marker to
the stream (header x-strangler-control: replay.marker) and stops when it reads it back. Readers
of the stream skip such markers.

Exit status: 0 replayed to the marker; 1 broker error or a message refused; 2 usage error
(bad --from, missing stream or target queue).

Examples:
  $ strangler cdc replay --from first --target pricing
  $ strangler cdc replay --from 2026-11-22T03:00:00Z --target pim.cdc --tables catalog_product_entity_varchar
`,
    )
    .exitOverride((error) => {
      process.exit(error.exitCode === 0 ? 0 : 2);
    })
    .action(async (options: ReplayCommandOptions) => {
      process.exitCode = await runReplay(options, io);
    });
}

export function parseFrom(value: string, now: Date = new Date()): 'first' | Date {
  if (value === 'first') return 'first';
  const time = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime()) || time.getTime() > now.getTime()) throw ReplayErrors.invalidFrom(value);
  return time;
}

export async function runReplay(options: ReplayCommandOptions, io: ReplayCommandIo): Promise<number> {
  let from: 'first' | Date;
  try {
    from = parseFrom(options.from);
  } catch (error) {
    io.err((error as StranglerError).explain());
    return 2;
  }
  const progress = progressPrinter(io);
  let result: ReplayResult;
  try {
    result = await replayHistory({
      amqpUrl: options.amqpUrl ?? (io.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672'),
      stream: options.stream ?? (io.env.CDC_STREAM || 'legacy.cdc.log'),
      target: options.target,
      from,
      ...(options.tables ? { tables: options.tables } : {}),
      onProgress: progress,
    });
  } catch (error) {
    progress.end();
    if (!(error instanceof StranglerError)) throw error;
    io.err(error.explain());
    return error.code === 'CDC_REPLAY_STREAM_MISSING' || error.code === 'CDC_REPLAY_TARGET_MISSING' ? 2 : 1;
  }
  progress.end();
  io.out(
    options.json
      ? JSON.stringify(result, null, 2)
      : `replayed ${result.published} event${result.published === 1 ? '' : 's'} into ${result.queue} (${result.read} read, ${result.skipped} skipped) in ${(result.elapsedMs / 1000).toFixed(1)} s; reached the end marker`,
  );
  return 0;
}

const BAR_WIDTH = 30;

/** On a terminal: one bar redrawn in place; elsewhere (logs, CI): a plain line every 5 seconds. */
function progressPrinter(io: ReplayCommandIo): ((progress: ReplayProgress) => void) & { end(): void } {
  let lastLine = 0;
  let drawn = false;
  const print = (progress: ReplayProgress) => {
    const seconds = progress.elapsedMs / 1000;
    const rate = seconds > 0 ? Math.round(progress.published / seconds) : 0;
    const counts = `${progress.read}${progress.estimatedTotal ? `/${progress.estimatedTotal}` : ''} read, ${progress.published} published, ${rate}/s`;
    if (io.isTty && io.errRaw) {
      const share = progress.estimatedTotal ? Math.min(1, progress.read / progress.estimatedTotal) : 0;
      const filled = Math.round(share * BAR_WIDTH);
      const bar = progress.estimatedTotal ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${Math.round(share * 100)}% ` : '';
      io.errRaw(`\r\x1b[2Kreplay ${bar}${counts}`);
      drawn = true;
    } else if (progress.done || Date.now() - lastLine >= 5000) {
      lastLine = Date.now();
      io.err(`replay: ${counts}${progress.done ? ' (done)' : ''}`);
    }
  };
  return Object.assign(print, {
    end: () => {
      if (drawn && io.errRaw) io.errRaw('\n');
      drawn = false;
    },
  });
}

export function parseTables(value: string): string[] {
  const tables = value.split(',').map((table) => table.trim()).filter(Boolean);
  if (tables.length === 0) throw new InvalidArgumentError('give at least one table');
  return tables;
}
