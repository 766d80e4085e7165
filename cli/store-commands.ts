import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { StranglerError, redactUrl } from '../platform/errors.ts';
import { StoreResetErrors, resetServiceStore } from '../cdc/consumer/store-reset.ts';

export interface StoreCommandIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether a person can answer a question (stdin and stdout are a terminal). */
  interactive: boolean;
  /** Asks a question and resolves with the answer (only called when interactive). */
  ask: (question: string) => Promise<string>;
}

const defaultIo = (): StoreCommandIo => ({
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  ask: async (question) => {
    const terminal = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return await terminal.question(question);
    } finally {
      terminal.close();
    }
  },
});

const SERVICES = { pricing: 'PRICING_DATABASE_URL', pim: 'PIM_DATABASE_URL' } as const;
type Service = keyof typeof SERVICES;

/** `strangler store reset <pricing|pim>`: empty a service's store so that it seeds itself again. */
export function registerStoreCommands(program: Command, io: StoreCommandIo = defaultIo()): void {
  const store = program.command('store').description("an extracted service's own store");
  store
    .command('reset')
    .description('empty a service\'s store (its tables, applied positions, seed marker): it re-seeds from a snapshot on its next start')
    .argument('<service>', 'pricing or pim', parseService)
    .option('--yes', 'do not ask for confirmation (needed without a terminal)')
    .option('--database-url <url>', 'the store (default: PRICING_DATABASE_URL / PIM_DATABASE_URL, else the embedded one, postgres://postgres:postgres@127.0.0.1:PG_PORT/<service>)')
    .addHelpText(
      'after',
      `
Stop the service first (the reset refuses while something is connected to its database). On its
next start it finds its store empty, requests an incremental snapshot of the tables it follows
from the CDC bridge, and reports "seeding" in /readyz until that has been applied.
With ELASTICSEARCH_URL, the PIM's documents live in Elasticsearch, which this does not empty.

Examples:
  $ strangler store reset pricing
  $ PIM_DATABASE_URL=postgres://postgres:postgres@db:5432/pim strangler store reset pim --yes
`,
    )
    .action(async (service: Service, options: { yes?: boolean; databaseUrl?: string }) => {
      process.exitCode = await runStoreReset({ service, ...options }, io);
    });
}

function parseService(value: string): Service {
  if (value === 'pricing' || value === 'pim') return value;
  throw new InvalidArgumentError('the service is pricing or pim');
}

/** The store's URL: the option, the service's variable, else the embedded PostgreSQL of `npm start`. */
export function storeUrlOf(service: Service, env: StoreCommandIo['env'], explicit?: string): string {
  return explicit ?? (env[SERVICES[service]] || `postgres://postgres:postgres@127.0.0.1:${env.PG_PORT || '5433'}/${service}`);
}

export async function runStoreReset(options: { service: Service; yes?: boolean; databaseUrl?: string }, io: StoreCommandIo): Promise<number> {
  const { service } = options;
  const databaseUrl = storeUrlOf(service, io.env, options.databaseUrl);
  try {
    if (!options.yes) {
      if (!io.interactive) throw StoreResetErrors.unconfirmed(service);
      const answer = await io.ask(`Empty the ${service} store at ${redactUrl(databaseUrl)}? It will re-seed from a snapshot on its next start. [y/N] `);
      if (!/^y(es)?$/i.test(answer.trim())) {
        io.out('Nothing changed.');
        return 1;
      }
    }
    const result = await resetServiceStore({ databaseUrl, service });
    io.out(`Emptied the ${service} store at ${redactUrl(databaseUrl)}: ${result.rows} rows in ${result.tables.length} tables (${result.tables.join(', ')}).`);
    io.out(`The ${service} service will re-seed itself from a snapshot on its next start (its /readyz says "seeding" meanwhile).`);
    return 0;
  } catch (error) {
    if (error instanceof StranglerError) {
      io.err(error.explain());
      return 1;
    }
    throw error;
  }
}
