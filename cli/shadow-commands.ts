import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { StranglerError } from '../platform/errors.ts';
import { ProxyErrors } from '../proxy/errors.ts';
import { cutoverRoute, DEFAULT_CUTOVER_POLICY, missingEvidence, percent, rollbackRoute, type CutoverPolicy, type RouteEdit } from '../proxy/shadow/route-cutover.ts';
import type { ShadowRouteView } from '../proxy/shadow/shadow-admin.ts';
import type { MismatchRecord } from '../proxy/shadow/shadow-report.ts';

/** What the shadow commands need from the outside world; injectable for tests. */
export interface ShadowCommandDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly fetch: typeof fetch;
  readonly now: () => Date;
}

/**
 * `strangler shadow report`, `strangler cutover` and `strangler rollback`: the shadow report from
 * the proxy admin API, and the routes.yaml edits that act on it.
 */
export function registerShadowCommands(program: Command, deps: ShadowCommandDeps = processDeps()): void {
  program
    .command('shadow')
    .description('Shadow traffic: compare an extracted service with the legacy on live requests.')
    .command('report')
    .description('Per shadowed route: verdict counts, match rate, latency of both sides, top differing paths and the worst recent diffs.')
    .argument('[routeId]', 'one route, with its last mismatches in full')
    .option('--json', 'print the raw JSON from the admin API')
    .action(async (routeId: string | undefined, options: { json?: boolean }) => {
      process.exitCode = await shadowReport(deps, routeId, options.json ?? false);
    });

  program
    .command('cutover')
    .description('Switch a route from shadow to extracted (fallback: legacy) in routes.yaml, only when the shadow report shows the evidence.')
    .argument('<routeId>', 'the route to cut over')
    .option('--file <routes.yaml>', 'the routes file (default: $ROUTES_FILE or ./routes.yaml)')
    .option('--min-samples <n>', 'compared requests needed', String(DEFAULT_CUTOVER_POLICY.minSamples))
    .option('--min-match-rate <percent>', 'match rate needed, in percent', String(DEFAULT_CUTOVER_POLICY.minMatchRate * 100))
    .option('--quiet-minutes <minutes>', 'minutes without a mismatch needed', String(DEFAULT_CUTOVER_POLICY.quietMinutes))
    .option('--force', 'cut over without the evidence (logged)')
    .action(async (routeId: string, options: { file?: string; minSamples: string; minMatchRate: string; quietMinutes: string; force?: boolean }) => {
      const policy = parsePolicy(options, deps);
      process.exitCode = policy === undefined ? 1 : await cutover(deps, routeId, { file: options.file, policy, force: options.force ?? false });
    });

  program
    .command('rollback')
    .description('Put a route back to shadow (legacy answers, the service is still compared) or, with --to legacy, to legacy.')
    .argument('<routeId>', 'the route to roll back')
    .option('--to <mode>', 'shadow or legacy', 'shadow')
    .option('--file <routes.yaml>', 'the routes file (default: $ROUTES_FILE or ./routes.yaml)')
    .action(async (routeId: string, options: { to: string; file?: string }) => {
      if (options.to !== 'shadow' && options.to !== 'legacy') {
        deps.err(`--to must be shadow or legacy, not "${options.to}"`);
        process.exitCode = 1;
        return;
      }
      process.exitCode = await rollback(deps, routeId, { file: options.file, to: options.to });
    });
}

/** `strangler shadow report`: returns the exit status. */
export async function shadowReport(deps: ShadowCommandDeps, routeId: string | undefined, json: boolean): Promise<number> {
  const answer = await adminGet(deps, routeId === undefined ? '/shadow' : `/shadow/${encodeURIComponent(routeId)}`);
  if (!answer.ok) return 1;
  if (json) {
    deps.out(JSON.stringify(answer.body, null, 2));
    return 0;
  }
  const views = routeId === undefined ? (answer.body as { routes: ShadowRouteView[] }).routes : [answer.body as ShadowRouteView];
  if (views.length === 0) {
    deps.out('no route is in shadow mode (give a route `mode: shadow`, a `target:` and a `shadow:` block in routes.yaml)');
    return 0;
  }
  const rows = views.map((view) => [
    view.routeId,
    view.route ? `${view.route.mode}${view.route.target ? ` → ${view.route.target}` : ''}${view.route.primary === 'target' ? ' (reverse)' : ''}` : '(not in the table)',
    String(view.compared),
    view.matchRate === null ? '-' : percent(view.matchRate),
    String(view.counts.match),
    String(view.counts.converged),
    String(view.counts.mismatch),
    String(view.counts.error),
    String(view.counts.skipped),
    latency(view.latencyMs.primary),
    latency(view.latencyMs.shadow),
    view.lastMismatchAt ?? '-',
  ]);
  for (const line of table([['ROUTE', 'MODE', 'COMPARED', 'MATCH RATE', 'MATCH', 'CONVERGED', 'MISMATCH', 'ERROR', 'SKIPPED', 'PRIMARY p50/p99', 'SHADOW p50/p99', 'LAST MISMATCH'], ...rows])) deps.out(line);
  for (const view of views) {
    const extras: string[] = [];
    if (view.topPaths.length > 0) extras.push(`  top differing paths: ${view.topPaths.map(({ path, count }) => `${path} (${count})`).join(', ')}`);
    if (view.noise.length > 0) extras.push(`  learned noise (ignored): ${view.noise.map(({ path }) => path).join(', ')}`);
    const reasons = Object.entries(view.reasons);
    if (reasons.length > 0) extras.push(`  errors/skips: ${reasons.map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
    if (extras.length > 0) {
      deps.out('');
      deps.out(`${view.routeId}:`);
      for (const line of extras) deps.out(line);
    }
  }
  const mismatches = (answer.body as { mismatches?: MismatchRecord[] }).mismatches ?? [];
  if (routeId !== undefined && mismatches.length > 0) {
    deps.out('');
    deps.out(`worst recent diffs (${Math.min(mismatches.length, 5)} of the last ${mismatches.length} mismatches, most differences first):`);
    for (const record of [...mismatches].sort((a, b) => b.diffs.length - a.diffs.length).slice(0, 5)) {
      deps.out(`  ${record.at}  ${record.request.method} ${record.request.url}  primary ${record.primary.status} / shadow ${record.shadow.status}${record.shadow.lsn ? ` (LSN ${record.shadow.lsn})` : ''}${record.note ? `  — ${record.note}` : ''}`);
      for (const diff of record.diffs.slice(0, 8)) deps.out(`      ${diff.path}  ${diff.kind}: ${show(diff.primary)} → ${show(diff.shadow)}`);
      if (record.diffs.length > 8) deps.out(`      … ${record.diffs.length - 8} more`);
    }
  }
  return 0;
}

/** `strangler cutover`: returns the exit status. */
export async function cutover(deps: ShadowCommandDeps, routeId: string, options: { file?: string | undefined; policy: CutoverPolicy; force: boolean }): Promise<number> {
  const file = options.file ?? deps.env.ROUTES_FILE ?? './routes.yaml';
  const text = await readRoutes(deps, file);
  if (text === undefined) return 1;
  let edit: RouteEdit;
  try {
    edit = cutoverRoute(text, file, routeId, deps.env);
  } catch (error) {
    return fail(deps, error);
  }
  const answer = await adminGet(deps, `/shadow/${encodeURIComponent(routeId)}`, !options.force);
  let reasons: string[];
  let evidence: Record<string, unknown> = {};
  if (answer.ok) {
    const view = answer.body as ShadowRouteView;
    reasons = missingEvidence(view, options.policy, deps.now());
    evidence = { compared: view.compared, matchRate: view.matchRate, mismatches: view.counts.mismatch, lastMismatchAt: view.lastMismatchAt };
  } else reasons = ['no shadow report could be read from the proxy'];
  if (reasons.length > 0 && !options.force) {
    deps.err(refusal(routeId, reasons));
    await audit(deps, { action: 'cutover', routeId, file, result: 'refused', reasons, evidence, policy: options.policy });
    return 1;
  }
  await writeAtomically(file, edit.text);
  if (reasons.length > 0) deps.err(`WARNING: cutover of "${routeId}" FORCED without the evidence: ${reasons.join('; ')}`);
  deps.out(`${file}: route "${routeId}" is now extracted with fallback: legacy (was shadow)${answer.ok ? `; evidence: ${String(evidence.compared)} compared, match rate ${evidence.matchRate === null ? '-' : percent(evidence.matchRate as number)}` : ''}. The proxy picks it up within a second; undo with \`npx strangler rollback ${routeId}\`.`);
  await audit(deps, { action: 'cutover', routeId, file, result: reasons.length > 0 ? 'forced' : 'done', reasons, evidence, policy: options.policy });
  return 0;
}

/** `strangler rollback`: returns the exit status. */
export async function rollback(deps: ShadowCommandDeps, routeId: string, options: { file?: string | undefined; to: 'shadow' | 'legacy' }): Promise<number> {
  const file = options.file ?? deps.env.ROUTES_FILE ?? './routes.yaml';
  const text = await readRoutes(deps, file);
  if (text === undefined) return 1;
  let edit: RouteEdit;
  try {
    edit = rollbackRoute(text, file, routeId, options.to, deps.env);
  } catch (error) {
    return fail(deps, error);
  }
  await writeAtomically(file, edit.text);
  deps.out(`${file}: route "${routeId}" is now ${edit.to} (was ${edit.from}).${edit.to === 'shadow' ? ' Legacy answers again; the service is still compared.' : ''}`);
  await audit(deps, { action: 'rollback', routeId, file, result: 'done', from: edit.from, to: edit.to });
  return 0;
}

function refusal(routeId: string, reasons: string[]): string {
  return [`refusing to cut over "${routeId}":`, ...reasons.map((reason) => `  - ${reason}`), '  → Keep the route in shadow until `npx strangler shadow report` shows the evidence, fix the service or justify an ignore rule; --force overrides (and is logged).'].join('\n');
}

async function adminGet(deps: ShadowCommandDeps, path: string, quiet = false): Promise<{ ok: true; body: unknown } | { ok: false }> {
  const url = `http://127.0.0.1:${deps.env.ADMIN_PORT || '8090'}${path}`;
  const token = deps.env.STRANGLER_ADMIN_TOKEN?.trim() || (await readTokenFile(deps.env.DATA_DIR || '.data'));
  if (!token) {
    deps.err(ProxyErrors.adminTokenMissing().explain());
    return { ok: false };
  }
  let response: Response;
  try {
    response = await deps.fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (cause) {
    deps.err(ProxyErrors.adminUnreachable(url, cause).explain());
    return { ok: false };
  }
  if (response.status === 401) {
    deps.err(ProxyErrors.adminUnauthorized(url).explain());
    return { ok: false };
  }
  const body = (await response.json().catch(() => null)) as { message?: string } | null;
  if (!response.ok) {
    if (!quiet || response.status !== 404) deps.err(`${url}: ${response.status} ${body?.message ?? ''}`.trim());
    return { ok: false };
  }
  return { ok: true, body };
}

async function readRoutes(deps: ShadowCommandDeps, file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    deps.err(ProxyErrors.routesUnreadable(file, cause).explain());
    return undefined;
  }
}

/** Write then rename: the proxy's watcher never sees a half-written file. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${Date.now()}.routes.yaml.tmp`);
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/** Every cutover decision (refused, done, forced) and rollback, one JSON line under DATA_DIR. */
async function audit(deps: ShadowCommandDeps, entry: Record<string, unknown>): Promise<void> {
  const file = join(deps.env.DATA_DIR || '.data', 'shadow', 'cutover-log.jsonl');
  try {
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, `${JSON.stringify({ at: deps.now().toISOString(), ...entry })}\n`);
  } catch (error) {
    deps.err(`could not write the cutover log ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function fail(deps: ShadowCommandDeps, error: unknown): number {
  if (error instanceof StranglerError) {
    deps.err(error.explain());
    return 1;
  }
  throw error;
}

function parsePolicy(options: { minSamples: string; minMatchRate: string; quietMinutes: string }, deps: ShadowCommandDeps): CutoverPolicy | undefined {
  const minSamples = Number(options.minSamples);
  const minMatchRate = Number(options.minMatchRate) / 100;
  const quietMinutes = Number(options.quietMinutes);
  if (!Number.isInteger(minSamples) || minSamples < 0) deps.err(`--min-samples must be a whole number, not "${options.minSamples}"`);
  else if (!(minMatchRate >= 0 && minMatchRate <= 1)) deps.err(`--min-match-rate is a percentage between 0 and 100, not "${options.minMatchRate}"`);
  else if (!(quietMinutes >= 0)) deps.err(`--quiet-minutes must be a number of minutes, not "${options.quietMinutes}"`);
  else return { minSamples, minMatchRate, quietMinutes };
  return undefined;
}

async function readTokenFile(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

function latency(side: { p50: number | null; p99: number | null }): string {
  return side.p50 === null ? '-' : `${side.p50}/${side.p99 ?? '-'} ms`;
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_cell, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

function processDeps(): ShadowCommandDeps {
  return {
    env: process.env,
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    fetch: globalThis.fetch,
    now: () => new Date(),
  };
}
