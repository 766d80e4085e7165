import { childPath, type PathPattern, type PathSegment } from './json-path.ts';

/**
 * One difference between the primary's and the shadow's answer, located by JSON path
 * (`$.items[3].price`), or `@status` / `@header.<name>` for the envelope, `$` for a whole
 * non-JSON or oversize body.
 */
export interface Diff {
  readonly path: string;
  readonly kind: 'changed' | 'type' | 'removed' | 'added' | 'status' | 'header' | 'text' | 'hash';
  /** The primary's value (absent for `added`); long values are shortened. */
  readonly primary?: unknown;
  /** The shadow's value (absent for `removed`). */
  readonly shadow?: unknown;
}

export interface JsonDiffRules {
  readonly ignore: readonly PathPattern[];
  readonly tolerance: { readonly all: number; readonly byPath: readonly { pattern: PathPattern; tolerance: number }[] };
  readonly unordered: readonly { pattern: PathPattern; key: string | undefined }[];
}

/** Enough to see what differs; a report never holds megabytes because one field was a blob. */
const MAX_VALUE_CHARS = 200;
export const MAX_DIFFS = 100;

export interface JsonDiffResult {
  readonly diffs: Diff[];
  /** Differences found under an ignored path (rules or learned noise); listed nowhere, counted. */
  readonly ignored: number;
  /** More than MAX_DIFFS differences: the list was cut. */
  readonly truncated: boolean;
}

/**
 * A small purpose-built structural walker rather than jsondiffpatch: we need JSON paths, path
 * patterns checked while walking (so an ignored subtree is not even visited), per-path numeric
 * tolerance and arrays paired by a key. jsondiffpatch produces its own delta format (LCS over
 * arrays, moves) that would have to be walked again to get any of that.
 */
export function diffJson(primary: unknown, shadow: unknown, rules: JsonDiffRules, noise: readonly PathPattern[] = []): JsonDiffResult {
  const state = { diffs: [] as Diff[], ignored: 0, truncated: false };
  walk(primary, shadow, [], '$', rules, noise, state);
  return state;
}

type WalkState = { diffs: Diff[]; ignored: number; truncated: boolean };

function walk(a: unknown, b: unknown, segments: PathSegment[], path: string, rules: JsonDiffRules, noise: readonly PathPattern[], state: WalkState): void {
  if (segments.length > 0 && (matchesAny(rules.ignore, segments) || matchesAny(noise, segments))) {
    if (!deepEqual(a, b)) state.ignored++;
    return;
  }
  const typeA = jsonType(a);
  const typeB = jsonType(b);
  if (typeA !== typeB) {
    push(state, { path, kind: 'type', primary: shorten(a), shadow: shorten(b) });
    return;
  }
  if (typeA === 'number') {
    if (a !== b && Math.abs((a as number) - (b as number)) > toleranceFor(rules, segments)) push(state, { path, kind: 'changed', primary: a, shadow: b });
    return;
  }
  if (typeA === 'array') {
    const rule = rules.unordered.find((candidate) => candidate.pattern.matches(segments));
    if (rule) walkUnordered(a as unknown[], b as unknown[], rule.key, segments, path, rules, noise, state);
    else walkOrdered(a as unknown[], b as unknown[], segments, path, rules, noise, state);
    return;
  }
  if (typeA === 'object') {
    const objectA = a as Record<string, unknown>;
    const objectB = b as Record<string, unknown>;
    for (const key of Object.keys(objectA)) {
      const next = [...segments, key];
      const nextPath = childPath(path, key);
      if (!Object.hasOwn(objectB, key)) {
        if (matchesAny(rules.ignore, next) || matchesAny(noise, next)) state.ignored++;
        else push(state, { path: nextPath, kind: 'removed', primary: shorten(objectA[key]) });
      } else walk(objectA[key], objectB[key], next, nextPath, rules, noise, state);
    }
    for (const key of Object.keys(objectB)) {
      if (Object.hasOwn(objectA, key)) continue;
      const next = [...segments, key];
      if (matchesAny(rules.ignore, next) || matchesAny(noise, next)) state.ignored++;
      else push(state, { path: childPath(path, key), kind: 'added', shadow: shorten(objectB[key]) });
    }
    return;
  }
  if (a !== b) push(state, { path, kind: 'changed', primary: shorten(a), shadow: shorten(b) });
}

function walkOrdered(a: unknown[], b: unknown[], segments: PathSegment[], path: string, rules: JsonDiffRules, noise: readonly PathPattern[], state: WalkState): void {
  const common = Math.min(a.length, b.length);
  for (let index = 0; index < common; index++) walk(a[index], b[index], [...segments, index], childPath(path, index), rules, noise, state);
  for (let index = common; index < a.length; index++) push(state, { path: childPath(path, index), kind: 'removed', primary: shorten(a[index]) });
  for (let index = common; index < b.length; index++) push(state, { path: childPath(path, index), kind: 'added', shadow: shorten(b[index]) });
}

/**
 * Elements paired by the value of `key` (or, without a key, by their canonical JSON), then
 * compared; paths use the primary's index (the shadow's for an element only it has).
 */
function walkUnordered(a: unknown[], b: unknown[], key: string | undefined, segments: PathSegment[], path: string, rules: JsonDiffRules, noise: readonly PathPattern[], state: WalkState): void {
  const identity = (element: unknown): string => (key !== undefined && jsonType(element) === 'object' ? `k:${canonical((element as Record<string, unknown>)[key])}` : `v:${canonical(element)}`);
  const waiting = new Map<string, number[]>();
  b.forEach((element, index) => {
    const id = identity(element);
    const list = waiting.get(id);
    if (list) list.push(index);
    else waiting.set(id, [index]);
  });
  a.forEach((element, index) => {
    const partner = waiting.get(identity(element))?.shift();
    if (partner === undefined) push(state, { path: childPath(path, index), kind: 'removed', primary: shorten(element) });
    else walk(element, b[partner], [...segments, index], childPath(path, index), rules, noise, state);
  });
  for (const indexes of waiting.values()) for (const index of indexes) push(state, { path: childPath(path, index), kind: 'added', shadow: shorten(b[index]) });
}

function toleranceFor(rules: JsonDiffRules, segments: PathSegment[]): number {
  for (const { pattern, tolerance } of rules.tolerance.byPath) if (pattern.matches(segments)) return tolerance;
  // A float that went through a different serialiser (1.1 vs 1.1000000000000001) is not a diff.
  return Math.max(rules.tolerance.all, 1e-9);
}

function matchesAny(patterns: readonly PathPattern[], segments: PathSegment[]): boolean {
  for (const pattern of patterns) if (pattern.matches(segments)) return true;
  return false;
}

function push(state: WalkState, diff: Diff): void {
  if (state.diffs.length >= MAX_DIFFS) {
    state.truncated = true;
    return;
  }
  state.diffs.push(diff);
}

type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean' | 'undefined';

function jsonType(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as JsonType;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((element, index) => deepEqual(element, other[index]));
  }
  const keysA = Object.keys(a);
  const objectB = b as Record<string, unknown>;
  return keysA.length === Object.keys(objectB).length && keysA.every((key) => Object.hasOwn(objectB, key) && deepEqual((a as Record<string, unknown>)[key], objectB[key]));
}

/** JSON with object keys sorted: two equal values give the same text. */
export function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const object = value as Record<string, unknown>;
  return `{${Object.keys(object)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(object[key])}`)
    .join(',')}}`;
}

export function shorten(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}…` : value;
  if (value !== null && typeof value === 'object') {
    const text = JSON.stringify(value);
    return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : value;
  }
  return value;
}
