import { InvalidArgumentError, type Command } from 'commander';
import pg from 'pg';
import { StranglerError, messageOf } from '../platform/errors.ts';
import { withDatabase } from '../platform/database.ts';
import { formatDriftReport, driftCount, type DriftReport } from '../reconcile/drift-report.ts';
import { ReconcileErrors } from '../reconcile/errors.ts';
import { RECONCILE_DEFAULTS } from '../reconcile/reconciliation.ts';
import type { RunReconciliationOptions } from '../reconcile/service-reconciliation.ts';
import { reconcilePricing } from '../extracted/pricing/reconcile/pricing-reconciliation.ts';
import { PIM_BUCKET_SIZE, reconcilePim } from '../extracted/pim/reconcile/pim-reconciliation.ts';
import { embeddedLegacyUrl } from './cdc-commands.ts';

export interface ReconcileCommandIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface ReconcileCommandOptions {
  repair?: boolean;
  json?: boolean;
  legacyUrl?: string;
  storeUrl?: string;
  target?: string;
  bucketSize?: number;
  segmentSize?: number;
  settleMs?: number;
  graceMs?: number;
  idleMs?: number;
  maxWaitMs?: number;
  examples?: number;
  repairTimeout?: number;
}

/** Exit statuses: documented in --help and the README. */
export const RECONCILE_EXIT = Object.freeze({ clean: 0, drift: 1, usage: 2 });

const SERVICES = {
  pricing: { run: reconcilePricing, databaseVariable: 'PRICING_DATABASE_URL', queueVariable: 'PRICING_QUEUE', queue: 'pricing.cdc' },
  pim: { run: reconcilePim, databaseVariable: 'PIM_DATABASE_URL', queueVariable: 'PIM_QUEUE', queue: 'pim.cdc' },
} as const;
type Service = keyof typeof SERVICES;

const defaultIo = (): ReconcileCommandIo => ({
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});

/** `strangler reconcile <pricing|pim> [--repair] [--json]`. */
export function registerReconcileCommand(program: Command, io: ReconcileCommandIo = defaultIo()): void {
  program
    .command('reconcile')
    .description("compare a service's store with the legacy database, product by product, without stopping either (--repair: fix the drift)")
    .argument('<service>', 'pricing or pim')
    .option('--repair', 'request a targeted snapshot of the drifted products, wait until it is applied, and check them again')
    .option('--json', 'print the report as JSON')
    .option('--legacy-url <url>', 'the legacy database (default: LEGACY_DATABASE_URL, else the embedded one, port PG_PORT)')
    .option('--store-url <url>', "the service's database (default: PRICING_DATABASE_URL / PIM_DATABASE_URL, else that database on the legacy server)")
    .option('--target <queue>', "where --repair's snapshot goes (default: PRICING_QUEUE / PIM_QUEUE, else pricing.cdc / pim.cdc)")
    .option('--bucket-size <n>', `entity ids per checksum bucket (default: pricing ${RECONCILE_DEFAULTS.bucketSize}, pim ${PIM_BUCKET_SIZE})`, positiveInteger)
    .option('--segment-size <n>', `entity ids per checksum query (default ${RECONCILE_DEFAULTS.segmentSize})`, positiveInteger)
    .option('--settle-ms <ms>', `pause between re-checks of differing products (default ${RECONCILE_DEFAULTS.settleMs})`, positiveInteger)
    .option('--grace-ms <ms>', `how long a difference must stand still to count as drift (default ${RECONCILE_DEFAULTS.graceMs})`, positiveInteger)
    .option('--idle-ms <ms>', `a store that applied nothing for this long has caught up (default ${RECONCILE_DEFAULTS.idleMs})`, positiveInteger)
    .option('--max-wait-ms <ms>', `how long re-checks may go on (default ${RECONCILE_DEFAULTS.maxWaitMs})`, positiveInteger)
    .option('--examples <n>', `examples shown per kind of drift (default ${RECONCILE_DEFAULTS.examples})`, positiveInteger)
    .option('--repair-timeout <seconds>', 'how long --repair waits for its snapshot (default 300)', positiveInteger)
    .addHelpText(
      'after',
      `
Both sides compute a canonical form of every product inside their own database (pricing: sku,
price, special price and its window per store view, tier prices; pim: the document's entity
columns, attribute values by scope, category links, tier prices, stock) and sum its md5 per
bucket of entity ids; only buckets that differ are compared product by product. A product that
differs is re-checked every --settle-ms: if the store catches up, it was replication lag, not
drift. Reported: missing (in the legacy, not in the store), extra (in the store only), different.

--repair writes a snapshot request per table to the legacy's signal table (the bridge must run),
keyed by the drifted products' rows on both sides (rows only the store has are sent as deletes),
waits for the bridge to publish it, then re-checks those products.

Exit status: 0 no drift (keys still changing when the re-checks ran out of time are listed as
unsettled, not as drift); 1 drift (after --repair: drift that remains); 2 usage or configuration
error (unknown service, bad option, database unreachable or not migrated, PIM on Elasticsearch).

Examples:
  $ strangler reconcile pricing
  $ strangler reconcile pim --json
  $ strangler reconcile pricing --repair
`,
    )
    .exitOverride((error) => {
      // Commander's own usage errors (unknown option, missing argument) exit 2, as documented.
      process.exit(error.exitCode === 0 ? 0 : RECONCILE_EXIT.usage);
    })
    .action(async (service: string, options: ReconcileCommandOptions) => {
      process.exitCode = await runReconcile(service, options, io);
    });
}

export async function runReconcile(service: string, options: ReconcileCommandOptions, io: ReconcileCommandIo): Promise<number> {
  if (!(service in SERVICES)) {
    io.err(ReconcileErrors.usage(`unknown service ${JSON.stringify(service)}: reconcile knows pricing and pim`).explain());
    return RECONCILE_EXIT.usage;
  }
  const spec = SERVICES[service as Service];
  if (service === 'pim' && io.env.ELASTICSEARCH_URL && !options.storeUrl) {
    io.err(ReconcileErrors.storeUnsupported('pim', 'ELASTICSEARCH_URL is set, so the PIM keeps its documents in Elasticsearch').explain());
    return RECONCILE_EXIT.usage;
  }
  const legacyUrl = options.legacyUrl ?? (io.env.LEGACY_DATABASE_URL || embeddedLegacyUrl(io.env));
  const storeUrl = options.storeUrl ?? (io.env[spec.databaseVariable] || withDatabase(legacyUrl, service));
  const target = options.target ?? (io.env[spec.queueVariable] || spec.queue);
  const legacy = new pg.Pool({ connectionString: legacyUrl, max: 4 });
  const store = new pg.Pool({ connectionString: storeUrl, max: 4 });
  legacy.on('error', () => undefined);
  store.on('error', () => undefined);
  try {
    for (const [which, pool, url] of [['legacy', legacy, legacyUrl], [service, store, storeUrl]] as const) {
      try {
        await pool.query('SELECT 1');
      } catch (error) {
        io.err(ReconcileErrors.databaseUnreachable(which, url, error).explain());
        return RECONCILE_EXIT.usage;
      }
    }
    const run: RunReconciliationOptions = {
      legacy,
      store,
      ...(options.bucketSize ? { bucketSize: options.bucketSize } : {}),
      ...(options.segmentSize ? { segmentSize: options.segmentSize } : {}),
      ...(options.settleMs ? { settleMs: options.settleMs } : {}),
      ...(options.graceMs ? { graceMs: options.graceMs } : {}),
      ...(options.idleMs ? { idleMs: options.idleMs } : {}),
      ...(options.maxWaitMs ? { maxWaitMs: options.maxWaitMs } : {}),
      ...(options.examples ? { examples: options.examples } : {}),
      ...(options.repair ? { repair: { target, timeoutMs: (options.repairTimeout ?? 300) * 1000 } } : {}),
      onProgress: (text) => io.err(text),
    };
    let report: DriftReport;
    try {
      report = await spec.run(run);
    } catch (error) {
      if (error instanceof StranglerError) {
        io.err(error.explain());
        return error.code === 'RECONCILE_TOO_MUCH_DRIFT' ? RECONCILE_EXIT.drift : RECONCILE_EXIT.usage;
      }
      const code = (error as { code?: string }).code;
      // 42P01 undefined table: a database that was never migrated (the service has not run yet).
      if (code === '42P01' || code === '42703') {
        io.err(
          new StranglerError('RECONCILE_SCHEMA_MISSING', `the ${service} or legacy database lacks a table or column reconcile reads: ${messageOf(error)}`, {
            remedy: `Start the ${service} service once (npm start) so that it migrates its database, or point --store-url at its database.`,
            cause: error,
          }).explain(),
        );
        return RECONCILE_EXIT.usage;
      }
      throw error;
    }
    io.out(options.json ? JSON.stringify(report, null, 2) : formatDriftReport(report));
    const remaining = report.repair ? report.repair.remaining : driftCount(report);
    return remaining === 0 ? RECONCILE_EXIT.clean : RECONCILE_EXIT.drift;
  } finally {
    await Promise.all([legacy.end().catch(() => undefined), store.end().catch(() => undefined)]);
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return number;
}
