import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ProxyErrors, RoutesInvalidError } from '../proxy/errors.ts';
import { parseRouteTable } from '../proxy/routes/route-table.ts';

/** What the routes commands need from the outside world; injectable for tests. */
export interface RoutesCommandDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly fetch: typeof fetch;
}

export function registerRoutesCommands(program: Command, deps: RoutesCommandDeps = processDeps()): void {
  const routes = program.command('routes').description('Check routes.yaml and inspect the live route table.');

  routes
    .command('check')
    .description('Validate a routes.yaml (default: $ROUTES_FILE or ./routes.yaml); exit 1 with line and column on error.')
    .argument('[file]', 'the routes file')
    .action(async (file: string | undefined) => {
      process.exitCode = await checkRoutes(file ?? deps.env.ROUTES_FILE ?? './routes.yaml', deps);
    });

  routes
    .command('show')
    .description('Show the live route table from the proxy admin API (127.0.0.1:$ADMIN_PORT).')
    .option('--json', 'print the raw JSON')
    .action(async (options: { json?: boolean }) => {
      process.exitCode = await showRoutes(deps, options.json ?? false);
    });
}

/** `strangler routes check`: returns the exit status. */
export async function checkRoutes(file: string, deps: RoutesCommandDeps): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const error = ProxyErrors.routesUnreadable(file, cause);
    deps.err(error.explain());
    return 1;
  }
  try {
    const table = parseRouteTable(text, { file, env: deps.env });
    for (const warning of table.warnings) deps.out(`${file}:${warning.line}:${warning.column}: warning: ${warning.message}`);
    const modes = table.routes.reduce<Record<string, number>>((count, route) => ({ ...count, [route.mode]: (count[route.mode] ?? 0) + 1 }), {});
    deps.out(
      `${file}: valid — ${table.routes.length} routes (${Object.entries(modes).map(([mode, count]) => `${count} ${mode}`).join(', ') || 'none'}), upstreams ${[...table.upstreams.values()].map((upstream) => `${upstream.name}=${upstream.url.origin}`).join(', ')}, version ${table.version}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof RoutesInvalidError) {
      for (const problem of error.problems) deps.err(`${file}:${problem.line}:${problem.column}: error: ${problem.message}`);
      deps.err(`  → ${error.remedy}`);
      return 1;
    }
    throw error;
  }
}

interface AdminRoutes {
  version: string;
  loadedAt: string;
  file: string;
  upstreams: { name: string; url: string; timeoutMs: number; circuit: { state: string } }[];
  routes: { id: string; match: { method?: string | string[]; path: string; query?: object; headers?: object }; mode: string; target?: string; fallback?: string; canary?: { percent: number; stickyBy?: string } }[];
  warnings: { line: number; column: number; message: string }[];
  lastError: { at: string; message: string; line?: number; column?: number } | null;
}

/** `strangler routes show`: returns the exit status. */
export async function showRoutes(deps: RoutesCommandDeps, json: boolean): Promise<number> {
  const url = `http://127.0.0.1:${deps.env.ADMIN_PORT || '8090'}/routes`;
  const token = deps.env.STRANGLER_ADMIN_TOKEN?.trim() || (await readTokenFile(deps.env.DATA_DIR || '.data'));
  if (!token) {
    deps.err(ProxyErrors.adminTokenMissing().explain());
    return 1;
  }
  let response: Response;
  try {
    response = await deps.fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (cause) {
    deps.err(ProxyErrors.adminUnreachable(url, cause).explain());
    return 1;
  }
  if (response.status === 401) {
    deps.err(ProxyErrors.adminUnauthorized(url).explain());
    return 1;
  }
  const body = (await response.json()) as AdminRoutes;
  if (json) {
    deps.out(JSON.stringify(body, null, 2));
    return 0;
  }
  deps.out(`route table ${body.version} from ${body.file}, loaded ${body.loadedAt}`);
  deps.out('');
  const rows = body.routes.map((route) => [
    route.id,
    route.match.method === undefined ? '*' : [route.match.method].flat().join(','),
    route.match.path + (route.match.query ? ` ?${JSON.stringify(route.match.query)}` : '') + (route.match.headers ? ` headers ${JSON.stringify(route.match.headers)}` : ''),
    route.mode,
    route.target ?? 'legacy',
    [route.fallback ? `fallback ${route.fallback}` : '', route.canary ? `${route.canary.percent}%${route.canary.stickyBy ? ` by ${route.canary.stickyBy}` : ''}` : ''].filter(Boolean).join(', '),
  ]);
  rows.push(['(no match)', '*', '', 'legacy', 'legacy', '']);
  for (const line of table([['ROUTE', 'METHOD', 'PATH', 'MODE', 'TARGET', ''], ...rows])) deps.out(line);
  deps.out('');
  for (const line of table([['UPSTREAM', 'URL', 'TIMEOUT', 'CIRCUIT'], ...body.upstreams.map((upstream) => [upstream.name, upstream.url, `${upstream.timeoutMs} ms`, upstream.circuit.state])])) deps.out(line);
  for (const warning of body.warnings) deps.out(`warning (line ${warning.line}:${warning.column}): ${warning.message}`);
  if (body.lastError) deps.out(`last reload refused at ${body.lastError.at}: ${body.lastError.message}`);
  return 0;
}

async function readTokenFile(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_cell, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

function processDeps(): RoutesCommandDeps {
  return {
    env: process.env,
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    fetch: globalThis.fetch,
  };
}
