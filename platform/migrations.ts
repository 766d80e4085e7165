import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from './logger.ts';

/**
 * Applies the plain SQL files of a folder (`001-name.sql`, `002-...`) in name order, each in its
 * own transaction, and records them in `schema_migrations`; a file already recorded is skipped,
 * so running it again is a no-op. An advisory lock keeps two processes from migrating at once.
 */
export async function migrate(url: string, folder: string, logger: Logger): Promise<string[]> {
  const log = logger.child({ component: 'migrations' });
  const files = (await readdir(folder)).filter((name) => name.endsWith('.sql')).sort();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [folder]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations');
    const done = new Set(rows.map((row) => row.name));
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(path.join(folder, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file);
      log.info({ migration: file }, 'applied migration');
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [folder]).catch(() => undefined);
    await client.end();
  }
  return applied;
}
