/**
 * JSON paths as the shadow reports and rules write them: `$`, `.name`, `["odd key"]`, `[3]`.
 * Patterns (for `ignore`, `tolerance`, `unordered`, `redact` and learned noise) add `*` / `[*]`
 * (any one key or index) and `..` (any depth, like JSONPath's descendant operator).
 */

/** One step of a concrete path: an object key or an array index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatSegment(segment: PathSegment): string {
  if (typeof segment === 'number') return `[${segment}]`;
  return IDENTIFIER.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
}

export function childPath(parent: string, segment: PathSegment): string {
  return parent + formatSegment(segment);
}

/**
 * A path with every array index replaced by `[*]`: what the report aggregates by, so that
 * `$.items[3].price` and `$.items[7].price` count as one differing field.
 */
export function generalisePath(path: string): string {
  return path.replace(/\[\d+\]/g, '[*]');
}

type PatternToken = { kind: 'key'; name: string } | { kind: 'index'; index: number } | { kind: 'any' } | { kind: 'deep' };

export interface PathPattern {
  readonly source: string;
  matches(path: readonly PathSegment[]): boolean;
}

/** Parses a pattern such as `$.items[*].updated_at` or `$..etag`; throws RangeError with the reason. */
export function parsePathPattern(source: string): PathPattern {
  const tokens = tokenise(source);
  return Object.freeze({ source, matches: (path: readonly PathSegment[]) => matchFrom(tokens, 0, path, 0) });
}

function tokenise(source: string): PatternToken[] {
  if (!source.startsWith('$')) throw new RangeError(`a JSON path starts with "$" (got ${JSON.stringify(source)})`);
  const tokens: PatternToken[] = [];
  let at = 1;
  while (at < source.length) {
    const rest = source.slice(at);
    if (rest.startsWith('..')) {
      tokens.push({ kind: 'deep' });
      at += 2;
      // `$..name` and `$..[0]`: the step after `..` follows without its own dot.
      const name = /^(\*|[A-Za-z_$][A-Za-z0-9_$-]*)/.exec(source.slice(at));
      if (name) {
        tokens.push(name[1] === '*' ? { kind: 'any' } : { kind: 'key', name: name[1] as string });
        at += (name[1] as string).length;
      }
      continue;
    }
    const dotted = /^\.(\*|[A-Za-z_$][A-Za-z0-9_$-]*)/.exec(rest);
    if (dotted) {
      tokens.push(dotted[1] === '*' ? { kind: 'any' } : { kind: 'key', name: dotted[1] as string });
      at += dotted[0].length;
      continue;
    }
    const bracket = /^\[(\*|\d+|"(?:[^"\\]|\\.)*"|'[^']*')\]/.exec(rest);
    if (bracket) {
      const inner = bracket[1] as string;
      if (inner === '*') tokens.push({ kind: 'any' });
      else if (/^\d+$/.test(inner)) tokens.push({ kind: 'index', index: Number(inner) });
      else if (inner.startsWith('"')) tokens.push({ kind: 'key', name: JSON.parse(inner) as string });
      else tokens.push({ kind: 'key', name: inner.slice(1, -1) });
      at += bracket[0].length;
      continue;
    }
    throw new RangeError(`cannot read JSON path ${JSON.stringify(source)} at character ${at + 1} (write $.a.b, $["a b"], $.list[*].field or $..field)`);
  }
  return tokens;
}

function matchFrom(tokens: readonly PatternToken[], t: number, path: readonly PathSegment[], p: number): boolean {
  if (t === tokens.length) return p === path.length;
  const token = tokens[t] as PatternToken;
  if (token.kind === 'deep') {
    for (let skip = p; skip <= path.length; skip++) if (matchFrom(tokens, t + 1, path, skip)) return true;
    return false;
  }
  if (p === path.length) return false;
  const segment = path[p] as PathSegment;
  const ok = token.kind === 'any' || (token.kind === 'key' ? segment === token.name : segment === token.index);
  return ok && matchFrom(tokens, t + 1, path, p + 1);
}

/** `$.items[3].price` → ['items', 3, 'price']: for matching a reported path against patterns. */
export function parseConcretePath(path: string): PathSegment[] {
  if (path === '$') return [];
  const segments: PathSegment[] = [];
  let at = 1;
  while (at < path.length) {
    const rest = path.slice(at);
    const dotted = /^\.([A-Za-z_$][A-Za-z0-9_$-]*)/.exec(rest);
    if (dotted) {
      segments.push(dotted[1] as string);
      at += dotted[0].length;
      continue;
    }
    const bracket = /^\[(\d+|"(?:[^"\\]|\\.)*"|\*)\]/.exec(rest);
    if (bracket) {
      const inner = bracket[1] as string;
      segments.push(/^\d+$/.test(inner) ? Number(inner) : inner === '*' ? '*' : (JSON.parse(inner) as string));
      at += bracket[0].length;
      continue;
    }
    throw new RangeError(`not a concrete JSON path: ${JSON.stringify(path)}`);
  }
  return segments;
}
