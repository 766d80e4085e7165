import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import pg from 'pg';
import { StranglerError, messageOf, PlatformErrors } from '../platform/errors.ts';
import { createTerminalLogger } from '../platform/log-prettifier.ts';
import { migrate } from '../platform/migrations.ts';
import { seedLegacy, DEFAULT_RANDOM_SEED, type SeedResult } from '../legacy-stub/seed/seed.ts';

const legacySchema = fileURLToPath(new URL('../legacy-stub/schema', import.meta.url));

export interface LegacySeedOptions {
  databaseUrl: string | undefined;
  products: number | undefined;
  randomSeed: number | undefined;
}

export interface LegacyCommandIo {
  /** The environment; the CLI is where `strangler` reads it. */
  env: Readonly<Record<string, string | undefined>>;
  out: (text: string) => void;
  err: (text: string) => void;
  colors: boolean;
}

const defaultIo = (): LegacyCommandIo => ({
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  colors: Boolean(process.stdout.isTTY),
});

/** `strangler legacy ...`: operator commands for the legacy monolith's database. */
export function registerLegacyCommands(program: Command, io: LegacyCommandIo = defaultIo()): void {
  const legacy = program.command('legacy').description('the legacy Magento-like monolith: seed its catalog');
  legacy
    .command('seed')
    .description('migrate the legacy schema and seed a deterministic catalog, when the catalog is empty')
    .option('--products <count>', 'products to write (default: SEED_PRODUCTS or 2000)', parseWholeNumber)
    .option('--random-seed <number>', `seed of the random generator; the same seed gives the same catalog (default: ${DEFAULT_RANDOM_SEED})`, parseWholeNumber)
    .option('--database-url <url>', 'the legacy database (default: LEGACY_DATABASE_URL)')
    .addHelpText(
      'after',
      `
Writes reference data (websites, customer groups, attributes), the category tree, demo
customers (general@, wholesale@, retailer@example.com / password123) and the products with
prices, special prices, tier prices and stock, in one transaction. Does nothing when the
catalog has products already. 100,000 products take about a minute.

This command does not prepare change data capture: to have every seeded row reach the CDC
stream, use \`strangler db setup\` (or \`npm start\`), which creates the replication slot first.

Examples:
  $ strangler legacy seed --database-url postgres://postgres:postgres@127.0.0.1:5433/legacy
  $ LEGACY_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5433/legacy strangler legacy seed --products 100000
`,
    )
    .action(async (options: { products?: number; randomSeed?: number; databaseUrl?: string }) => {
      const code = await runLegacySeed({ databaseUrl: options.databaseUrl, products: options.products, randomSeed: options.randomSeed }, io);
      // Exit explicitly, as db setup does: a pg pool or a library's exit hook must not decide the status.
      process.exit(code);
    });
}

/** The command's work, apart from commander and process.exit so that it can be tested. Answers the exit status. */
export async function runLegacySeed(options: LegacySeedOptions, io: LegacyCommandIo): Promise<number> {
  const databaseUrl = options.databaseUrl ?? (io.env.LEGACY_DATABASE_URL || undefined);
  if (!databaseUrl) {
    io.err(
      new StranglerError('LEGACY_NO_DATABASE', 'no legacy database given', {
        remedy: 'Pass --database-url postgres://user:password@host:port/legacy, or set LEGACY_DATABASE_URL.',
      }).explain(),
    );
    return 1;
  }
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    io.err(PlatformErrors.configInvalid(`the legacy database URL must be a postgres:// URL, got "${databaseUrl.slice(0, 40)}"`).explain());
    return 1;
  }
  let products = options.products;
  if (products === undefined) {
    const fromEnv = io.env.SEED_PRODUCTS;
    if (fromEnv !== undefined && fromEnv !== '' && !/^\d+$/.test(fromEnv)) {
      io.err(PlatformErrors.configInvalid(`SEED_PRODUCTS must be a whole number, got "${fromEnv}"`).explain());
      return 1;
    }
    products = fromEnv ? Number(fromEnv) : 2000;
  }
  const logger = createTerminalLogger({ name: 'legacy-seed', level: io.env.LOG_LEVEL || 'info', colors: io.colors, print: io.out });
  let result: SeedResult;
  try {
    await assertReachable(databaseUrl);
    await migrate(databaseUrl, legacySchema, logger);
    result = await seedLegacy(databaseUrl, { products, randomSeed: options.randomSeed, logger });
  } catch (error) {
    io.err(error instanceof StranglerError ? error.explain() : `legacy seed failed: ${messageOf(error)}`);
    return 1;
  }
  io.out(
    result.seeded
      ? `seeded ${result.products} products in ${(result.ms / 1000).toFixed(1)} s`
      : 'the legacy catalog has products already; nothing was written',
  );
  return 0;
}

function parseWholeNumber(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) throw new InvalidArgumentError('expected a whole number, e.g. 2000');
  return number;
}

/** A wrong URL or a stopped server is the operator's most likely mistake: say so, with the remedy. */
async function assertReachable(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw PlatformErrors.databaseUnreachable(databaseUrl, error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
