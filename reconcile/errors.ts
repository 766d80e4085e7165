import { StranglerError, messageOf, redactUrl } from '../platform/errors.ts';

/** Reconciliation's error codes (platform/errors.ts: each with a remedy). */
export const ReconcileErrors = {
  usage: (detail: string) =>
    new StranglerError('RECONCILE_USAGE', detail, {
      remedy: 'Run `strangler reconcile --help` for the services and options.',
    }),
  databaseUnreachable: (which: string, url: string, cause: unknown) =>
    new StranglerError('RECONCILE_DATABASE_UNREACHABLE', `cannot read the ${which} database at ${redactUrl(url)}: ${messageOf(cause)}`, {
      remedy: 'Check that PostgreSQL runs (npm start starts the embedded one) and that the URL is right; pass --legacy-url / --store-url or set LEGACY_DATABASE_URL and PRICING_DATABASE_URL / PIM_DATABASE_URL.',
      cause,
    }),
  storeUnsupported: (service: string, detail: string) =>
    new StranglerError('RECONCILE_STORE_UNSUPPORTED', `cannot reconcile the ${service} store: ${detail}`, {
      remedy: 'Reconciliation compares the PIM\'s PostgreSQL documents; run it against a PIM without ELASTICSEARCH_URL (or unset it for this command if the PIM also keeps PostgreSQL documents).',
    }),
  tooMuchDrift: (service: string, count: number, max: number) =>
    new StranglerError('RECONCILE_TOO_MUCH_DRIFT', `${count} drifted ${service} products are more than --repair takes on (${max})`, {
      remedy: `Re-seed the store instead: \`strangler store reset ${service}\`, and the service seeds itself again from a snapshot.`,
    }),
  repairFailed: (detail: string, cause?: unknown) =>
    new StranglerError('RECONCILE_REPAIR_FAILED', `the repair snapshot did not complete: ${detail}`, {
      remedy: 'Look at `strangler cdc status` (is the bridge running?) and run `strangler reconcile <service> --repair` again.',
      cause,
    }),
} as const;
