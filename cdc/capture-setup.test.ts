import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { StranglerError } from '../platform/errors.ts';
import { silentLogger } from '../platform/logger.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { prepareCapture } from './capture-setup.ts';

const slot = `test_setup_${randomBytes(4).toString('hex')}`;
const logger = silentLogger();
let first: TestDatabase;
let second: TestDatabase;

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  first = await createTestDatabase('cdc_setup_a');
  second = await createTestDatabase('cdc_setup_b');
  for (const database of [first, second]) await query(database.url, 'CREATE TABLE item (id int PRIMARY KEY, name text)');
});

afterAll(async () => {
  // An abandoned slot pins WAL for every database in the cluster.
  if (first) await query(first.url, 'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]).catch(() => undefined);
  await first?.drop();
  await second?.drop();
});

describe('prepareCapture and the replication slot', () => {
  it('creates the slot in its database, and reuses it there on the next start', async () => {
    await prepareCapture({ databaseUrl: first.url, logger, tables: ['item'], slot, publication: 'test_setup_pub' });
    await prepareCapture({ databaseUrl: first.url, logger, tables: ['item'], slot, publication: 'test_setup_pub' });
    const rows = await query<{ database: string; plugin: string }>(first.url, 'SELECT database, plugin FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    expect(rows).toEqual([{ database: first.name, plugin: 'pgoutput' }]);
  });

  it('when a slot of that name belongs to another database, then it refuses with CDC_SLOT_OTHER_DATABASE and changes nothing', async () => {
    const error = await prepareCapture({ databaseUrl: second.url, logger, tables: ['item'], slot, publication: 'test_setup_pub' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StranglerError);
    const refusal = error as StranglerError;
    expect(refusal.code).toBe('CDC_SLOT_OTHER_DATABASE');
    expect(refusal.message).toContain(`replication slot ${slot} already exists for database ${first.name}, not ${second.name}`);
    expect(refusal.remedy).toContain('CDC_SLOT');
    expect(refusal.remedy).toContain(`SELECT pg_drop_replication_slot('${slot}')`);
    // The slot still belongs to the first database; the second got neither a publication nor a new identity.
    const slots = await query<{ database: string }>(second.url, 'SELECT database FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    expect(slots).toEqual([{ database: first.name }]);
    expect(await query(second.url, `SELECT 1 FROM pg_publication WHERE pubname = 'test_setup_pub'`)).toEqual([]);
    expect(await query(second.url, `SELECT relreplident FROM pg_class WHERE relname = 'item'`)).toEqual([{ relreplident: 'd' }]);
  });
});
