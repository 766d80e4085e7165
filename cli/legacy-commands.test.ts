import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { registerLegacyCommands, runLegacySeed, type LegacyCommandIo } from './legacy-commands.ts';

function captureIo(env: Record<string, string | undefined> = {}): LegacyCommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { env: { LOG_LEVEL: 'warn', ...env }, out: (text) => stdout.push(text), err: (text) => stderr.push(text), colors: false, stdout, stderr };
}

describe('strangler legacy seed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('legacy_cli');
  });
  afterAll(async () => db.drop());

  it('--help explains the options, the environment fallback and gives examples', () => {
    const program = new Command().name('strangler').exitOverride();
    let help = '';
    program.configureOutput({ writeOut: (text) => (help += text), writeErr: (text) => (help += text) });
    registerLegacyCommands(program, captureIo());
    expect(() => program.parse(['legacy', 'seed', '--help'], { from: 'user' })).toThrow();
    expect(help).toContain('Usage: strangler legacy seed [options]');
    for (const text of ['--products <count>', '--random-seed <number>', '--database-url <url>', 'LEGACY_DATABASE_URL', 'SEED_PRODUCTS', 'Examples:', 'strangler db setup']) {
      expect(help).toContain(text);
    }
  });

  it('refuses --products that is not a whole number', () => {
    const program = new Command().name('strangler').exitOverride();
    let errors = '';
    program.configureOutput({ writeErr: (text) => (errors += text), writeOut: () => undefined });
    registerLegacyCommands(program, captureIo());
    expect(() => program.parse(['legacy', 'seed', '--products', 'lots'], { from: 'user' })).toThrow();
    expect(errors).toContain('expected a whole number');
  });

  it('without a database URL, exits 1 and says where to give one', async () => {
    const io = captureIo();
    expect(await runLegacySeed({ databaseUrl: undefined, products: 10, randomSeed: undefined }, io)).toBe(1);
    expect(io.stderr.join('\n')).toContain('LEGACY_NO_DATABASE');
    expect(io.stderr.join('\n')).toContain('--database-url');
  });

  it('when the server cannot be reached, exits 1 naming the URL without its password', async () => {
    const io = captureIo();
    expect(await runLegacySeed({ databaseUrl: 'postgres://u:secret@127.0.0.1:1/legacy', products: 10, randomSeed: undefined }, io)).toBe(1);
    const text = io.stderr.join('\n');
    expect(text).toContain('PLATFORM_DATABASE_UNREACHABLE');
    expect(text).not.toContain('secret');
  });

  it('migrates and seeds the database from LEGACY_DATABASE_URL, then does nothing the second time', async () => {
    const io = captureIo({ LEGACY_DATABASE_URL: db.url, SEED_PRODUCTS: '25' });
    expect(await runLegacySeed({ databaseUrl: undefined, products: undefined, randomSeed: 5 }, io)).toBe(0);
    expect(io.stdout.at(-1)).toMatch(/^seeded 25 products in \d+\.\d s$/);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM catalog_product_entity');
    await client.end();
    expect(rows[0]!.n).toBe(25);
    const again = captureIo();
    expect(await runLegacySeed({ databaseUrl: db.url, products: 40, randomSeed: undefined }, again)).toBe(0);
    expect(again.stdout.at(-1)).toBe('the legacy catalog has products already; nothing was written');
  });
});
