import type { IncomingHttpHeaders } from 'node:http';
import type { ShadowRules } from '../shadow/shadow-rules.ts';
import type { CanarySplit } from './canary.ts';
import type { Match, Mode, RouteDefinition } from './route.ts';

/** A route compiled for the hot path: a method set, one anchored RegExp, flat predicate lists. */
export interface CompiledRoute {
  readonly id: string;
  /** Position in the file, 0-based. */
  readonly index: number;
  readonly methods: ReadonlySet<string> | null;
  /** The template up to its first `:param` or `*`: a cheap startsWith() before the RegExp. */
  readonly literalPrefix: string;
  readonly pathPattern: RegExp;
  readonly query: readonly (readonly [string, string])[] | null;
  readonly headers: readonly (readonly [string, string])[] | null;
  readonly mode: Mode;
  /** The upstream name for extracted/canary/shadow; undefined for legacy. */
  readonly target: string | undefined;
  readonly fallback: boolean;
  readonly canary: CanarySplit | null;
  /** Mirroring and comparison rules; set in mode shadow (defaults when the block is absent). */
  readonly shadow: ShadowRules | null;
  /** As written (after defaults), for the admin API and `routes show`. */
  readonly definition: RouteDefinition;
}

/** The route a request without any match gets: legacy, as the issue requires. */
export const DEFAULT_ROUTE_ID = 'default-legacy';

/** Turns `/rest/V1/products/:sku` or `/static/*` into an anchored RegExp. */
export function compilePathTemplate(template: string): RegExp {
  const wildcard = template.endsWith('/*');
  const body = wildcard ? template.slice(0, -2) : template;
  const source = body
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : escapeRegExp(segment)))
    .join('/');
  // "/static/*" matches "/static" and anything below it, never "/staticfoo"; "/*" matches all.
  return new RegExp(`^${source}${wildcard ? '(?:/.*)?' : ''}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compileMatch(match: Match): Pick<CompiledRoute, 'methods' | 'literalPrefix' | 'pathPattern' | 'query' | 'headers'> {
  const methods = match.method === undefined ? null : new Set(Array.isArray(match.method) ? match.method : [match.method]);
  const query = match.query ? Object.entries(match.query) : null;
  const headers = match.headers ? Object.entries(match.headers).map(([name, value]) => [name.toLowerCase(), value] as const) : null;
  const dynamic = match.path.search(/\/[:*]/);
  return { methods, literalPrefix: dynamic === -1 ? match.path : match.path.slice(0, dynamic), pathPattern: compilePathTemplate(match.path), query, headers };
}

/**
 * First route in file order that matches wins. `path` must already be normalised
 * (path-normaliser.ts) and `rawQuery` is the text after "?" (or ""). The request's `headers` are
 * read only for a route with header predicates (Node builds them lazily).
 */
export function findRoute(routes: readonly CompiledRoute[], method: string, path: string, rawQuery: string, request: { readonly headers: IncomingHttpHeaders }): CompiledRoute | undefined {
  let query: URLSearchParams | undefined;
  for (let index = 0; index < routes.length; index += 1) {
    const route = routes[index] as CompiledRoute;
    if (route.methods !== null && !route.methods.has(method)) continue;
    if (!path.startsWith(route.literalPrefix) || !route.pathPattern.test(path)) continue;
    if (route.query !== null) {
      query ??= new URLSearchParams(rawQuery);
      if (!predicatesHold(route.query, (name) => query?.get(name) ?? undefined)) continue;
    }
    if (route.headers !== null && !predicatesHold(route.headers, (name) => headerValue(request.headers, name))) continue;
    return route;
  }
  return undefined;
}

function predicatesHold(predicates: readonly (readonly [string, string])[], lookup: (name: string) => string | undefined): boolean {
  for (const [name, expected] of predicates) {
    const actual = lookup(name);
    if (actual === undefined) return false;
    if (expected !== '*' && actual !== expected) return false;
  }
  return true;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * True when every request `later` matches is already taken by `earlier`: then `later` can never
 * win. Conservative: only routes without query/header predicates shadow others.
 */
export function covers(earlier: CompiledRoute, later: CompiledRoute): boolean {
  if (earlier.query !== null || earlier.headers !== null) return false;
  if (earlier.methods !== null) {
    if (later.methods === null) return false;
    for (const method of later.methods) if (!earlier.methods.has(method)) return false;
  }
  return templateCovers(earlier.definition.match.path, later.definition.match.path);
}

function templateCovers(broad: string, narrow: string): boolean {
  const broadSegments = broad.split('/');
  const narrowSegments = narrow.split('/');
  for (let index = 0; index < broadSegments.length; index += 1) {
    const segment = broadSegments[index] as string;
    const other = narrowSegments[index];
    if (segment === '*' && index === broadSegments.length - 1) return true;
    if (other === undefined) return false;
    if (other === '*') return false;
    if (segment.startsWith(':')) continue;
    if (other.startsWith(':') || other !== segment) return false;
  }
  return broadSegments.length === narrowSegments.length;
}
