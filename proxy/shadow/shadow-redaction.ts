import type { IncomingHttpHeaders } from 'node:http';
import type { CapturedResponse } from './captured-response.ts';
import type { Diff } from './diff.ts';
import { parseConcretePath, type PathPattern, type PathSegment } from './json-path.ts';
import type { SideRecord } from './shadow-report.ts';
import type { ShadowRules } from './shadow-rules.ts';

/**
 * What a stored mismatch may show: credentials never (authorization, cookies), fields named in
 * the route's `redact` list replaced by "[redacted]", bodies cut to a few KB.
 */
export const REDACTED = '[redacted]';
const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);
const MAX_STORED_BODY = 8 * 1024;

export function redactHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.has(name) ? REDACTED : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function redactDiffs(diffs: readonly Diff[], patterns: readonly PathPattern[]): readonly Diff[] {
  if (patterns.length === 0) return diffs;
  return diffs.map((diff) => {
    if (!diff.path.startsWith('$')) return diff;
    const segments = parseConcretePath(diff.path);
    const hidden = patterns.some((pattern) => covers(pattern, segments));
    const hide = (value: unknown): unknown => {
      if (hidden) return REDACTED;
      // A value shortened to text cannot be redacted field by field: hide it whole.
      if (typeof value === 'string' && value.endsWith('…') && /^[[{]/.test(value)) return REDACTED;
      return redactValue(value, segments, patterns);
    };
    return { ...diff, ...('primary' in diff ? { primary: hide(diff.primary) } : {}), ...('shadow' in diff ? { shadow: hide(diff.shadow) } : {}) };
  });
}

/** The side as the report keeps it: chosen headers, the body redacted and cut. */
export function sideRecord(response: CapturedResponse, rules: ShadowRules): SideRecord {
  const headers: Record<string, string> = {};
  for (const name of rules.headers) {
    const value = response.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const lsn = response.headers['x-data-lsn'];
  return {
    status: response.status,
    headers,
    body: storedBody(response, rules.redact),
    bodyBytes: response.bodyBytes,
    ...(typeof lsn === 'string' ? { lsn } : {}),
  };
}

function storedBody(response: CapturedResponse, patterns: readonly PathPattern[]): string {
  if (response.body === null) return `(${response.bodyBytes} bytes, over maxBodyBytes; sha256 ${response.hash ?? ''})`;
  let text = response.body.toString('utf8');
  if (patterns.length > 0) {
    try {
      text = JSON.stringify(redactValue(JSON.parse(text) as unknown, [], patterns));
    } catch {
      // Not JSON: field redaction does not apply; the body is stored cut, as is.
    }
  }
  return text.length > MAX_STORED_BODY ? `${text.slice(0, MAX_STORED_BODY)}… (${response.bodyBytes} bytes)` : text;
}

function redactValue(value: unknown, path: PathSegment[], patterns: readonly PathPattern[]): unknown {
  if (path.length > 0 && patterns.some((pattern) => pattern.matches(path))) return REDACTED;
  if (Array.isArray(value)) return value.map((element, index) => redactValue(element, [...path, index], patterns));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, redactValue(element, [...path, key], patterns)]));
  }
  return value;
}

/** A diff at `$.customer` shows a redacted field inside it, so the prefix counts too. */
function covers(pattern: PathPattern, segments: readonly PathSegment[]): boolean {
  for (let length = segments.length; length >= 1; length--) if (pattern.matches(segments.slice(0, length))) return true;
  return false;
}
