import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { resolveAdminToken } from './admin-token.ts';
import { ensureDatabase, withDatabase } from './database.ts';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.ts';
import { StranglerError, messageOf, redactUrl } from './errors.ts';
import { forgetBrokerHistory, historyQueues } from './broker-history.ts';
import { prepareLegacyDatabase } from './legacy-database.ts';
import { createLogPrettifier, lineWriter } from './log-prettifier.ts';
import { createRootLogger, type Logger } from './logger.ts';
import { assertPortsFree, assertReachable } from './port-probe.ts';
import { ProcessSupervisor, processDied, type ProcessExit } from './process-supervisor.ts';
import type { PortVariable, StackConfig } from './stack-config.ts';

/** A process of the stack: started when its `main.ts` exists (components land issue by issue). */
export interface StackProcess {
  name: string;
  /** Relative to the repository root. */
  entry: string;
  /** The ports it listens on, by the variable that sets them (checked free before anything starts). */
  ports: readonly PortVariable[];
  /** Where it answers once ready. */
  health: (ports: StackConfig['ports']) => string;
  /** It talks to RabbitMQ (AMQP_URL). */
  usesBroker?: boolean;
  /** Its health URL is on the admin API, behind the bearer token (sent to no one else). */
  healthNeedsToken?: boolean;
}

export const STACK_PROCESSES: readonly StackProcess[] = [
  { name: 'legacy', entry: 'legacy-stub/main.ts', ports: ['LEGACY_PORT'], health: (p) => `http://127.0.0.1:${p.LEGACY_PORT}/healthz` },
  { name: 'cdc', entry: 'cdc/main.ts', ports: ['CDC_PORT'], health: (p) => `http://127.0.0.1:${p.CDC_PORT}/healthz`, usesBroker: true },
  { name: 'pricing', entry: 'extracted/pricing/main.ts', ports: ['PRICING_PORT'], health: (p) => `http://127.0.0.1:${p.PRICING_PORT}/healthz`, usesBroker: true },
  { name: 'pim', entry: 'extracted/pim/main.ts', ports: ['PIM_PORT'], health: (p) => `http://127.0.0.1:${p.PIM_PORT}/healthz`, usesBroker: true },
  // The admin API (127.0.0.1 only) is where the proxy says it is healthy; the bearer token is sent.
  { name: 'proxy', entry: 'proxy/main.ts', ports: ['PROXY_PORT', 'ADMIN_PORT'], health: (p) => `http://127.0.0.1:${p.ADMIN_PORT}/healthz`, healthNeedsToken: true },
];

export interface StackLauncherDeps {
  /** The repository root: entries, schema and routes are found from here. */
  root: string;
  /** The launcher's own environment; children inherit it (PATH, HOME, …) under the stack's variables. */
  baseEnv: Record<string, string | undefined>;
  /** Where the terminal output goes. */
  print: (text: string) => void;
  colors: boolean;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface StackUrls {
  storefront: string;
  legacy: string;
  restApi: string;
  admin: string | undefined;
  cdcMetrics: string | undefined;
}

type Outcome = { reason: 'stopped' } | { reason: 'crashed'; exit: ProcessExit };

/**
 * `strangler up`: PostgreSQL (embedded unless URLs are given), the databases legacy/pricing/pim,
 * the legacy schema, the CDC publication and slot, the seed, the admin token, then every process
 * of the stack that exists, with prefixed logs, a readiness wait and the URLs at the end.
 *
 * A process that dies on its own stops the whole stack (exit status 1) rather than being
 * restarted: on a laptop a crash loop hides the cause, while a stopped stack shows the crashed
 * process's last lines right above the report.
 */
export class StackLauncher {
  readonly #config: StackConfig;
  readonly #deps: StackLauncherDeps;
  readonly #logger: Logger;
  readonly #prettify: (name: string, line: string) => string;
  readonly #supervisor: ProcessSupervisor;
  #postgres: Promise<RunningPostgres> | undefined;
  #stopping: Promise<void> | undefined;
  #stoppedOnRequest = false;
  #settle: (outcome: Outcome) => void = () => {};
  readonly #outcome: Promise<Outcome>;

  constructor(config: StackConfig, deps: StackLauncherDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#prettify = createLogPrettifier({
      names: ['stack', ...STACK_PROCESSES.map((process) => process.name)],
      colors: deps.colors,
    });
    const print = (name: string, line: string) => deps.print(this.#prettify(name, line));
    this.#logger = createRootLogger({ name: 'stack', level: config.logLevel, destination: lineWriter((line) => print('stack', line)) });
    this.#supervisor = new ProcessSupervisor({
      cwd: deps.root,
      logger: this.#logger.child({ component: 'supervisor' }),
      onLine: print,
      onUnexpectedExit: (exit) => this.#settle({ reason: 'crashed', exit }),
      stopTimeoutMs: deps.stopTimeoutMs ?? 10_000,
    });
    this.#outcome = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /** The processes whose `main.ts` exists in this checkout. */
  presentProcesses(): StackProcess[] {
    return STACK_PROCESSES.filter((process) => existsSync(path.join(this.#deps.root, process.entry)));
  }

  /**
   * Starts everything, waits until the stack stops (`stop()`, a signal) or a process dies, stops
   * whatever runs, and answers the exit status: 0 after a requested stop, 1 after a failure.
   */
  async run(): Promise<number> {
    try {
      await this.#start();
    } catch (error) {
      if (!this.#stopping) this.#report(error);
      await this.stop();
      return this.#stoppedOnRequest ? 0 : 1;
    }
    const outcome = await this.#outcome;
    if (outcome.reason === 'crashed') {
      this.#report(processDied(outcome.exit), 'stopping the stack');
      await this.stop();
      return 1;
    }
    await this.#stopping;
    return 0;
  }

  /** Stops the processes (SIGTERM, grace period, SIGKILL), then PostgreSQL. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopEverything();
    return this.#stopping;
  }

  /** A person asked (Ctrl-C, SIGTERM): stop, and report success. */
  requestStop(signal: string): Promise<void> {
    if (!this.#stopping) {
      this.#stoppedOnRequest = true;
      this.#logger.info({ signal }, 'stopping the stack');
    }
    const stopping = this.stop();
    this.#settle({ reason: 'stopped' });
    return stopping;
  }

  /** A second Ctrl-C: no more waiting. */
  kill(): void {
    this.#supervisor.killAll();
  }

  async #start(): Promise<void> {
    const config = this.#config;
    const log = this.#logger;
    const processes = this.presentProcesses();
    await assertPortsFree(processes.flatMap((process) => process.ports.map((variable) => ({ variable, port: config.ports[variable] }))));
    const brokerUsers = processes.filter((process) => process.usesBroker).map((process) => process.name);
    if (brokerUsers.length) {
      await assertReachable({
        url: config.amqpUrl,
        variable: 'AMQP_URL',
        what: `RabbitMQ (needed by ${brokerUsers.join(', ')})`,
        remedy:
          'Start RabbitMQ (`rabbitmq-server -detached`, or `docker run -d -p 5672:5672 rabbitmq:3-management`), or set AMQP_URL to where it runs.',
      });
    }

    const urls = await this.#databases();
    this.#checkpoint();
    const legacy = await prepareLegacyDatabase({ databaseUrl: urls.legacy, products: config.seedProducts, logger: log, capture: config.capture });
    this.#checkpoint();
    if (legacy.created && brokerUsers.length) {
      // RabbitMQ outlives a deleted .data/: what it holds of an older database must not reach the new stores.
      await forgetBrokerHistory({ amqpUrl: config.amqpUrl, queues: historyQueues(this.#deps.baseEnv), logger: log });
      this.#checkpoint();
    }

    const token = await resolveAdminToken({ token: config.adminToken, dataDir: config.dataDir });
    const env = childEnvironment(this.#deps.baseEnv, config, urls, token.token);
    for (const process of processes) {
      this.#checkpoint();
      this.#supervisor.start({
        name: process.name,
        entry: path.join(this.#deps.root, process.entry),
        env,
        healthUrl: process.health(config.ports),
        ...(process.healthNeedsToken ? { healthHeaders: { authorization: `Bearer ${token.token}` } } : {}),
      });
    }
    // Generous: on two busy cores five processes compiling TypeScript at once can take a while;
    // a process that is stuck is still reported, by name, with what its health URL said.
    await this.#supervisor.waitUntilReady({ timeoutMs: this.#deps.readyTimeoutMs ?? 120_000 });
    this.#checkpoint();
    this.#printReady(processes, token);
  }

  async #databases(): Promise<{ legacy: string; pricing: string; pim: string }> {
    const config = this.#config;
    let urls: { legacy: string; pricing: string; pim: string };
    if (config.legacyDatabaseUrl) {
      const legacy = config.legacyDatabaseUrl;
      urls = {
        legacy,
        pricing: config.pricingDatabaseUrl ?? withDatabase(legacy, 'pricing'),
        pim: config.pimDatabaseUrl ?? withDatabase(legacy, 'pim'),
      };
      this.#logger.info({ legacy: redactUrl(legacy) }, 'using the PostgreSQL given by LEGACY_DATABASE_URL');
    } else {
      // Kept as a promise so that a stop requested while it starts still waits for it and stops it.
      this.#postgres = startEmbeddedPostgres({ dataDir: config.dataDir, port: config.pgPort, logger: this.#logger, durability: 'durable' });
      const postgres = await this.#postgres;
      urls = {
        legacy: postgres.url('legacy'),
        pricing: config.pricingDatabaseUrl ?? postgres.url('pricing'),
        pim: config.pimDatabaseUrl ?? postgres.url('pim'),
      };
    }
    // Each service owns its database ("a separate database for each service").
    for (const url of [urls.legacy, urls.pricing, urls.pim]) {
      const name = new URL(url).pathname.replace(/^\//, '');
      await ensureDatabase(url, decodeURIComponent(name));
    }
    return urls;
  }

  #checkpoint(): void {
    if (this.#stopping) throw new StranglerError('PLATFORM_STACK_STOPPED', 'the stack was stopped while starting', { remedy: 'Nothing to do.' });
  }

  async #stopEverything(): Promise<void> {
    // The proxy first: it finishes the requests in flight while their upstreams still answer.
    const exits = await this.#supervisor.stopAll({ first: ['proxy'] });
    for (const exit of exits) this.#logger.debug({ process: exit.name, code: exit.code, signal: exit.signal }, 'stopped');
    const postgres = await this.#postgres?.catch(() => undefined);
    if (postgres) {
      const pgdata = path.join(this.#config.dataDir, 'postgres');
      await stopPostgres(postgres, pgdata).catch((error: unknown) =>
        this.#logger.error({ err: error }, 'the embedded PostgreSQL did not stop cleanly'),
      );
    }
    this.#logger.info('stack stopped; nothing left running');
  }

  #report(error: unknown, after?: string): void {
    const text = error instanceof StranglerError ? error.explain() : `${messageOf(error)}\n${(error as Error)?.stack ?? ''}`;
    this.#deps.print(this.#prettify('stack', `✖ ${text}${after ? `\n  (${after})` : ''}`));
  }

  #printReady(processes: StackProcess[], token: { token: string; source: string; file: string }): void {
    const config = this.#config;
    const names = new Set(processes.map((process) => process.name));
    const legacy = `http://127.0.0.1:${config.ports.LEGACY_PORT}`;
    const proxy = `http://127.0.0.1:${config.ports.PROXY_PORT}`;
    const lines = [
      '',
      `Strangler is up (${processes.map((process) => process.name).join(', ')}).`,
      names.has('proxy') ? `  storefront (through the proxy)  ${proxy}/` : `  storefront                      ${legacy}/`,
      `  REST API                        ${names.has('proxy') ? proxy : legacy}/rest/V1/products?searchCriteria[pageSize]=5`,
      `  legacy, direct                  ${legacy}/`,
    ];
    if (names.has('proxy')) lines.push(`  proxy admin API                 http://127.0.0.1:${config.ports.ADMIN_PORT}/routes`);
    if (names.has('cdc')) lines.push(`  CDC bridge metrics              http://127.0.0.1:${config.ports.CDC_PORT}/metrics`);
    if (names.has('pricing')) lines.push(`  pricing service                 http://127.0.0.1:${config.ports.PRICING_PORT}/healthz`);
    if (names.has('pim')) lines.push(`  PIM service                     http://127.0.0.1:${config.ports.PIM_PORT}/healthz`);
    if (token.source === 'env') lines.push('  admin token                     from STRANGLER_ADMIN_TOKEN');
    else lines.push(`  admin token                     ${token.token}  (kept in ${token.file})`);
    lines.push('Press Ctrl-C to stop.', '');
    this.#deps.print(lines.map((line) => this.#prettify('stack', line)).join('\n'));
  }
}

/**
 * The environment of every child: the launcher's own (PATH, HOME, …) with the stack's variables
 * on top, as the contract in the brief lists them. Each child's main.ts reads what it needs.
 */
export function childEnvironment(
  baseEnv: Record<string, string | undefined>,
  config: StackConfig,
  urls: { legacy: string; pricing: string; pim: string },
  adminToken: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(baseEnv)) if (value !== undefined) env[name] = value;
  Object.assign(env, {
    LEGACY_DATABASE_URL: urls.legacy,
    PRICING_DATABASE_URL: urls.pricing,
    PIM_DATABASE_URL: urls.pim,
    AMQP_URL: config.amqpUrl,
    DATA_DIR: config.dataDir,
    ROUTES_FILE: config.routesFile,
    STRANGLER_ADMIN_TOKEN: adminToken,
    LOG_LEVEL: config.logLevel,
    ...Object.fromEntries(Object.entries(config.ports).map(([name, port]) => [name, String(port)])),
    // The bridge this launcher starts; CDC_URL is its base URL for the proxy and the services alike.
    // Set explicitly so that a CDC_URL left in the shell cannot point them at another bridge.
    CDC_URL: `http://127.0.0.1:${config.ports.CDC_PORT}`,
  });
  if (config.elasticsearchUrl) env.ELASTICSEARCH_URL = config.elasticsearchUrl;
  return env;
}

/**
 * embedded-postgres's stop() waits for an exit event that never comes when PostgreSQL already
 * exited, and does nothing for a server it found running (left behind by a launcher that was
 * killed with SIGKILL) and reused. The postmaster removes its pid file as the last step of a
 * shutdown: wait for that, and ask a reused server to stop with SIGINT (a fast shutdown).
 */
async function stopPostgres(postgres: RunningPostgres, pgdata: string, timeoutMs = 30_000): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  let poller: NodeJS.Timeout | undefined;
  const gone = new Promise<void>((resolve) => {
    poller = setInterval(() => {
      if (!existsSync(pidFile)) resolve();
    }, 100);
  });
  const deadline = new Promise<never>((_, reject) => {
    setTimeout(() => reject(new Error(`PostgreSQL did not stop within ${timeoutMs / 1000} s (${pidFile} is still there)`)), timeoutMs).unref();
  });
  try {
    await Promise.race([postgres.stop(), gone, deadline]);
    if (!existsSync(pidFile)) return;
    // Still there: a server this start found running and reused.
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // gone meanwhile
      }
    }
    await Promise.race([gone, deadline]);
  } finally {
    clearInterval(poller);
  }
}

/**
 * embedded-postgres registers async-exit-hook, which on SIGINT/SIGTERM/SIGHUP stops PostgreSQL and
 * calls process.exit() at once, while the processes that use it are still running. The launcher
 * owns the shutdown order (processes first, then PostgreSQL), so it takes those signals back; the
 * hook's `exit` handler stays as a last safety net.
 */
export function takeOverShutdownSignals(): void {
  const require = createRequire(import.meta.resolve('embedded-postgres'));
  const hook = require('async-exit-hook') as { unhookEvent?: (event: string) => void; hookedEvents?: () => string[] };
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit']) {
    if (hook.hookedEvents?.().includes(event)) hook.unhookEvent?.(event);
  }
}
