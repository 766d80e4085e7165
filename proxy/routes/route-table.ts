import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { RoutesInvalidError, type RoutesProblem } from '../errors.ts';
import { createCanarySplit } from './canary.ts';
import { compileShadowRules } from '../shadow/shadow-rules.ts';
import { routeSchema, type RouteDefinition } from './route.ts';
import { compileMatch, covers, DEFAULT_ROUTE_ID, type CompiledRoute } from './route-matcher.ts';
import { expandVariables, parseUpstreamUrl, upstreamSchema, type Upstream } from './upstream.ts';

/**
 * The RouteTable: every route compiled, every upstream resolved, plus where it came from.
 * Immutable once built; live reload swaps the whole table (route-table-store.ts), so a request
 * holding a table keeps a consistent view even while a new one is loaded.
 */
export interface RouteTable {
  /** Content hash of routes.yaml (sha256, 16 hex digits). */
  readonly version: string;
  readonly loadedAt: Date;
  readonly file: string;
  readonly routes: readonly CompiledRoute[];
  /** Where a request no route matches goes. */
  readonly defaultRoute: CompiledRoute;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly settings: RouteTableSettings;
  /** Valid but suspicious: an unreachable route, say. */
  readonly warnings: readonly RoutesProblem[];
}

export interface RouteTableSettings {
  /** Add X-Strangler-Route and X-Strangler-Target to every proxied response. */
  readonly routeHeaders: boolean;
}

const upstreamNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'an upstream name must be letters, digits, ".", "_" or "-"');

const routesFileSchema = z.strictObject({
  upstreams: z.record(upstreamNameSchema, upstreamSchema),
  routes: z.array(routeSchema).default([]),
  settings: z.strictObject({ routeHeaders: z.boolean().default(true) }).default({ routeHeaders: true }),
});

export const LEGACY_UPSTREAM = 'legacy';

export interface ParseOptions {
  /** Shown in error messages; the path of the file. */
  readonly file: string;
  /** Used to expand `${VAR:-default}` in upstream URLs. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now?: Date;
}

/** Parses and validates routes.yaml text; throws RoutesInvalidError with line and column. */
export function parseRouteTable(text: string, options: ParseOptions): RouteTable {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problemAt = (offset: number, message: string, field: string): RoutesProblem => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col, message, field };
  };

  if (document.errors.length > 0) {
    throw new RoutesInvalidError(
      options.file,
      document.errors.map((error) => problemAt(error.pos[0], error.message.split('\n')[0] ?? error.message, '')),
    );
  }

  const parsed = routesFileSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    throw new RoutesInvalidError(
      options.file,
      parsed.error.issues.map((issue) => {
        const path = issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment));
        const offset = issue.code === 'unrecognized_keys' ? keyOffset(document, path, issue.keys[0] ?? '') : nodeOffset(document, path);
        const message = issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')}` : issue.message;
        return problemAt(offset, `${path.length > 0 ? `${path.join('.')}: ` : ''}${message}`, path.join('.'));
      }),
    );
  }

  const file = parsed.data;
  const problems: RoutesProblem[] = [];
  const warnings: RoutesProblem[] = [];
  const report = (list: RoutesProblem[], path: (string | number)[], message: string) =>
    list.push(problemAt(nodeOffset(document, path), `${path.join('.')}: ${message}`, path.join('.')));

  const upstreams = new Map<string, Upstream>();
  for (const [name, definition] of Object.entries(file.upstreams)) {
    const { value, missing } = expandVariables(definition.url, options.env);
    if (missing.length > 0) {
      report(problems, ['upstreams', name, 'url'], `environment variable ${missing.join(', ')} is not set and has no default (write \${${missing[0]}:-value})`);
      continue;
    }
    const url = parseUpstreamUrl(value);
    if (typeof url === 'string') {
      report(problems, ['upstreams', name, 'url'], url);
      continue;
    }
    upstreams.set(name, Object.freeze({ name, url, origin: url.origin, timeoutMs: definition.timeoutMs, maxFreeSockets: definition.maxFreeSockets, circuit: Object.freeze({ ...definition.circuit }) }));
  }
  if (file.upstreams[LEGACY_UPSTREAM] === undefined) {
    report(problems, ['upstreams'], 'an upstream named "legacy" is required: it serves every route in legacy mode and every request no route matches');
  }

  const seen = new Map<string, number>();
  const routes: CompiledRoute[] = [];
  file.routes.forEach((definition, index) => {
    const at = ['routes', index];
    const earlier = seen.get(definition.id);
    if (earlier !== undefined) report(problems, [...at, 'id'], `duplicate route id "${definition.id}" (first used by routes.${earlier})`);
    else seen.set(definition.id, index);

    checkAction(definition, at, file.upstreams, (path, message) => report(problems, path, message));
    routes.push(compileRoute(definition, index));
  });

  if (problems.length > 0) throw new RoutesInvalidError(options.file, problems);

  // A route no request can reach is almost always an ordering mistake ("/*" above the rest).
  routes.forEach((route, index) => {
    const shadowing = routes.slice(0, index).find((earlier) => covers(earlier, route));
    if (shadowing) report(warnings, ['routes', index], `route "${route.id}" is unreachable: every request it matches is taken first by "${shadowing.id}" (routes.${shadowing.index})`);
  });

  return Object.freeze({
    version: createHash('sha256').update(text).digest('hex').slice(0, 16),
    loadedAt: options.now ?? new Date(),
    file: options.file,
    routes: Object.freeze(routes),
    defaultRoute: defaultRoute(routes.length),
    upstreams,
    settings: Object.freeze({ ...file.settings }),
    warnings: Object.freeze(warnings),
  });
}

function checkAction(definition: RouteDefinition, at: (string | number)[], upstreams: Record<string, unknown>, report: (path: (string | number)[], message: string) => void): void {
  const { mode, target, canary, fallback } = definition;
  if (mode !== 'legacy' && target === undefined) report(at, `mode ${mode} needs a target (the upstream that serves it)`);
  if (target !== undefined && upstreams[target] === undefined) {
    report([...at, 'target'], `unknown upstream "${target}" (declared: ${Object.keys(upstreams).join(', ') || 'none'})`);
  }
  if (mode === 'canary' && canary === undefined) report(at, 'mode canary needs canary: { percent: N }');
  if (mode !== 'canary' && canary !== undefined) report([...at, 'canary'], `canary settings only apply to mode canary, not ${mode}`);
  if (fallback !== undefined && mode !== 'extracted' && mode !== 'canary') report([...at, 'fallback'], `fallback only applies to modes extracted and canary, not ${mode}`);
  if (mode === 'legacy' && target !== undefined && target !== LEGACY_UPSTREAM) report([...at, 'target'], 'mode legacy always goes to the legacy upstream; remove target or change the mode');
  if (mode === 'shadow' && target === LEGACY_UPSTREAM) report([...at, 'target'], 'mode shadow compares the legacy with another upstream; target must be the extracted service, not legacy');
}

function compileRoute(definition: RouteDefinition, index: number): CompiledRoute {
  return Object.freeze({
    id: definition.id,
    index,
    ...compileMatch(definition.match),
    mode: definition.mode,
    target: definition.mode === 'legacy' ? undefined : definition.target,
    fallback: definition.fallback === 'legacy',
    canary: definition.canary ? createCanarySplit(definition.id, definition.canary.percent, definition.canary.stickyBy) : null,
    shadow: definition.mode === 'shadow' ? compileShadowRules(definition.shadow ?? {}) : null,
    definition,
  });
}

function defaultRoute(index: number): CompiledRoute {
  const definition: RouteDefinition = { id: DEFAULT_ROUTE_ID, match: { path: '/*' }, mode: 'legacy' };
  return compileRoute(definition, index);
}

/** The start offset of the deepest node that exists along `path`. */
function nodeOffset(document: Document, path: readonly (string | number)[]): number {
  let node: unknown = document.contents;
  let offset = rangeStart(node) ?? 0;
  for (const segment of path) {
    const next = child(node, segment);
    if (next === undefined) break;
    node = next.value ?? next.key;
    offset = rangeStart(node) ?? rangeStart(next.key) ?? offset;
  }
  return offset;
}

function keyOffset(document: Document, path: readonly (string | number)[], key: string): number {
  let node: unknown = document.contents;
  for (const segment of path) {
    const next = child(node, segment);
    if (next === undefined) return nodeOffset(document, path);
    node = next.value;
  }
  const pair = child(node, key);
  return rangeStart(pair?.key) ?? nodeOffset(document, path);
}

function child(node: unknown, segment: string | number): { key: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((item) => (isScalar(item.key) ? String(item.key.value) : String(item.key)) === String(segment));
    return pair ? { key: pair.key, value: pair.value } : undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment];
    return item === undefined ? undefined : { key: undefined, value: item };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as YamlNode | null | undefined)?.range;
  return range ? range[0] : undefined;
}
