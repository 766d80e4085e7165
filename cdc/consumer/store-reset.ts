import pg from 'pg';
import { StranglerError, messageOf, redactUrl } from '../../platform/errors.ts';

export const StoreResetErrors = {
  unconfirmed: (service: string) =>
    new StranglerError('STORE_RESET_UNCONFIRMED', `refusing to empty the ${service} store without confirmation (no terminal to ask on)`, {
      remedy: `Run it in a terminal to be asked, or pass --yes: strangler store reset ${service} --yes`,
    }),
  inUse: (service: string, sessions: number) =>
    new StranglerError('STORE_IN_USE', `the ${service} store has ${sessions} other open connection(s): the ${service} service (or another client) is running on it`, {
      remedy: `Stop the ${service} service first (Ctrl-C on npm start, or stop its container), then reset; it re-seeds itself on its next start.`,
    }),
  unavailable: (url: string, cause: unknown) =>
    new StranglerError('STORE_UNAVAILABLE', `cannot reach the store at ${redactUrl(url)}: ${messageOf(cause)}`, {
      remedy: 'Check that PostgreSQL runs (npm start starts the embedded one) and that the URL (or --database-url) is right.',
      cause,
    }),
} as const;

export interface StoreResetResult {
  /** The tables emptied (schema public, all but the migrations' bookkeeping). */
  tables: string[];
  /** Rows they held. */
  rows: number;
}

/**
 * Empties a service's own store — every table of its database's public schema but
 * `schema_migrations`: the read model, the raw rows, the applied positions (`cdc_applied`) and the
 * seed marker (`cdc_seed`) — in one transaction, so that the service finds it empty on its next
 * start and seeds itself again from a snapshot (store-seeding.ts). The schema stays as migrated.
 * Refuses while another session is connected: a running service would go on writing into it and
 * still believe itself seeded.
 */
export async function resetServiceStore(options: { databaseUrl: string; service: string }): Promise<StoreResetResult> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  try {
    await client.connect();
  } catch (error) {
    throw StoreResetErrors.unavailable(options.databaseUrl, error);
  }
  try {
    const { rows: others } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    if ((others[0]?.n ?? 0) > 0) throw StoreResetErrors.inUse(options.service, others[0]!.n);
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY tablename`,
    );
    if (tables.length === 0) return { tables: [], rows: 0 };
    const list = tables.map((table) => `public.${pg.escapeIdentifier(table.name)}`).join(', ');
    const { rows: counted } = await client.query<{ n: string }>(
      `SELECT (${tables.map((table) => `(SELECT count(*) FROM public.${pg.escapeIdentifier(table.name)})`).join(' + ')})::text AS n`,
    );
    await client.query(`TRUNCATE ${list}`);
    return { tables: tables.map((table) => table.name), rows: Number(counted[0]?.n ?? 0) };
  } catch (error) {
    if (error instanceof StranglerError) throw error;
    throw StoreResetErrors.unavailable(options.databaseUrl, error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
