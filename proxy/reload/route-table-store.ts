import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../platform/logger.ts';
import { messageOf, type StranglerError } from '../../platform/errors.ts';
import { ProxyErrors, RoutesInvalidError } from '../errors.ts';
import type { UpstreamPool, UpstreamRuntime } from '../forwarding/upstream-pool.ts';
import { parseRouteTable, type RouteTable } from '../routes/route-table.ts';

/** The live table together with the upstream runtimes it routes to. Swapped as one value. */
export interface ActiveTable {
  readonly table: RouteTable;
  readonly upstreams: ReadonlyMap<string, UpstreamRuntime>;
  readonly legacy: UpstreamRuntime;
}

export type ReloadResult =
  | { readonly result: 'applied' | 'unchanged'; readonly version: string }
  | { readonly result: 'invalid'; readonly version: string; readonly error: StranglerError };

export interface LastError {
  readonly at: Date;
  readonly code: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
  readonly problems?: readonly { line: number; column: number; message: string }[];
}

export interface RouteTableStoreDeps {
  readonly file: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly pool: UpstreamPool;
  readonly logger: Logger;
  readonly onApplied?: (table: RouteTable) => void;
  readonly onResult?: (result: ReloadResult['result']) => void;
}

/**
 * Holds the live RouteTable. A request reads `current` once and keeps that value to the end, so a
 * reload never changes a request half-way; a reload either swaps in a whole valid table or
 * changes nothing and records why (with line and column) for the admin API.
 */
export class RouteTableStore {
  #current: ActiveTable;
  #lastError: LastError | null = null;
  #reloading: Promise<ReloadResult> | null = null;
  #again = false;
  readonly #deps: RouteTableStoreDeps;

  private constructor(deps: RouteTableStoreDeps, initial: ActiveTable) {
    this.#deps = deps;
    this.#current = initial;
  }

  /** Loads the first table; an invalid or unreadable file is fatal here (there is no last good table). */
  static async open(deps: RouteTableStoreDeps): Promise<RouteTableStore> {
    const text = await read(deps.file);
    const table = parseRouteTable(text, { file: deps.file, env: deps.env });
    const store = new RouteTableStore(deps, activate(table, deps.pool));
    deps.onApplied?.(table);
    for (const warning of table.warnings) deps.logger.warn({ line: warning.line, column: warning.column }, `routes.yaml: ${warning.message}`);
    return store;
  }

  get current(): ActiveTable {
    return this.#current;
  }

  get lastError(): LastError | null {
    return this.#lastError;
  }

  /**
   * Re-reads the file. Calls that arrive during a reload are folded into one more reload after
   * it, so a burst of watcher events costs at most two parses and the last edit always wins.
   */
  reload(): Promise<ReloadResult> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      let outcome: ReloadResult;
      do {
        this.#again = false;
        outcome = await this.#reloadOnce();
      } while (this.#again);
      this.#reloading = null;
      return outcome;
    })();
    return this.#reloading;
  }

  async #reloadOnce(): Promise<ReloadResult> {
    const { file, env, pool, logger } = this.#deps;
    const current = this.#current.table;
    let outcome: ReloadResult;
    try {
      const text = await read(file);
      if (createHash('sha256').update(text).digest('hex').slice(0, 16) === current.version) {
        this.#lastError = null;
        outcome = { result: 'unchanged', version: current.version };
      } else {
        const table = parseRouteTable(text, { file, env });
        this.#current = activate(table, pool);
        this.#lastError = null;
        this.#deps.onApplied?.(table);
        logger.info({ version: table.version, previous: current.version, routes: table.routes.length }, 'route table reloaded');
        for (const warning of table.warnings) logger.warn({ line: warning.line, column: warning.column }, `routes.yaml: ${warning.message}`);
        outcome = { result: 'applied', version: table.version };
      }
    } catch (cause) {
      const error = cause instanceof RoutesInvalidError ? cause : ProxyErrors.routesUnreadable(file, cause);
      this.#lastError = describe(error);
      logger.error({ code: error.code, line: this.#lastError.line, column: this.#lastError.column, err: messageOf(error) }, `routes.yaml refused, the last good table (${current.version}) keeps serving: ${error.message}`);
      outcome = { result: 'invalid', version: current.version, error };
    }
    this.#deps.onResult?.(outcome.result);
    return outcome;
  }
}

function activate(table: RouteTable, pool: UpstreamPool): ActiveTable {
  const upstreams = pool.resolve(table.upstreams);
  const legacy = upstreams.get('legacy');
  // parseRouteTable guarantees a legacy upstream; this guards the invariant, not user input.
  if (!legacy) throw new Error('route table without a legacy upstream');
  return Object.freeze({ table, upstreams, legacy });
}

async function read(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw ProxyErrors.routesUnreadable(file, cause);
  }
}

function describe(error: StranglerError): LastError {
  if (error instanceof RoutesInvalidError) {
    return { at: new Date(), code: error.code, message: error.message, line: error.line, column: error.column, problems: error.problems.map(({ line, column, message }) => ({ line, column, message })) };
  }
  return { at: new Date(), code: error.code, message: error.message };
}
