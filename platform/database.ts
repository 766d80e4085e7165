import pg from 'pg';
import { PlatformErrors, messageOf } from './errors.ts';

// numeric (1700) and int8 (20) stay strings by default in node-postgres, which is what we want:
// prices are never rounded through a float on their way through the system.

/** The same server with another database name. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Creates the database when it does not exist yet; safe to call on every start. */
export async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  try {
    await client.connect();
  } catch (error) {
    throw PlatformErrors.databaseUnreachable(serverUrl, error);
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`).catch((error: unknown) => {
        // Two processes may race to create it; the loser finds it there.
        if (!messageOf(error).includes('already exists')) throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/** Fails with a remedy when the server cannot do logical replication. */
export async function assertLogicalWal(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    throw PlatformErrors.databaseUnreachable(url, error);
  }
  try {
    const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
    const level = rows[0]?.wal_level ?? 'unknown';
    if (level !== 'logical') throw PlatformErrors.walLevelNotLogical(url, level);
  } finally {
    await client.end();
  }
}
