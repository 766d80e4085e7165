import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
import { withDatabase } from '../../platform/database.ts';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * A new, empty database on the run's PostgreSQL server, for one test file.
 * Call `drop()` in afterAll; it also disconnects every session still using it.
 */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const serverUrl = inject('postgresServerUrl');
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(serverUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        // Replication slots pin a database; a test that made one may have left it.
        await client.query(
          'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active',
          [name],
        );
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
