import { Command } from 'commander';

// The `strangler` command: thin, each subcommand calls into its component.
const program = new Command();
program
  .name('strangler')
  .description('Migrate off a legacy monolith one endpoint at a time.')
  .showHelpAfterError();

await program.parseAsync(process.argv);
