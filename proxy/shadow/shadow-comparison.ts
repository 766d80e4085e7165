import { createHash } from 'node:crypto';
import type { CapturedResponse } from './captured-response.ts';
import { diffJson, MAX_DIFFS, type Diff } from './diff.ts';
import type { PathPattern } from './json-path.ts';
import type { ShadowRules } from './shadow-rules.ts';

/**
 * The comparison of one primary answer with one shadow answer: status, the chosen headers, and
 * the body (structurally for JSON, after whitespace normalisation otherwise, by hash past
 * maxBodyBytes). Pure: no I/O, no clock.
 */
export interface ShadowComparison {
  readonly equal: boolean;
  readonly diffs: readonly Diff[];
  /** Differences excluded by `ignore` rules or learned noise. */
  readonly ignored: number;
  readonly truncated: boolean;
  /** A body was past maxBodyBytes, so it was compared by hash (or not at all). */
  readonly oversize: boolean;
  readonly bodyKind: 'json' | 'text' | 'hash' | 'empty';
}

export function compareResponses(primary: CapturedResponse, shadow: CapturedResponse, rules: ShadowRules, noise: readonly PathPattern[] = []): ShadowComparison {
  const diffs: Diff[] = [];
  if (primary.status !== shadow.status) diffs.push({ path: '@status', kind: 'status', primary: primary.status, shadow: shadow.status });
  for (const name of rules.headers) {
    const a = headerValue(primary.headers[name]);
    const b = headerValue(shadow.headers[name]);
    if (a !== b) diffs.push({ path: `@header.${name}`, kind: 'header', ...(a === undefined ? {} : { primary: a }), ...(b === undefined ? {} : { shadow: b }) });
  }

  const oversize = primary.body === null || shadow.body === null;
  if (oversize) {
    const same = primary.bodyBytes === shadow.bodyBytes && hashOf(primary) === hashOf(shadow);
    if (!same) diffs.push({ path: '$', kind: 'hash', primary: `${primary.bodyBytes} bytes sha256:${hashOf(primary).slice(0, 16)}`, shadow: `${shadow.bodyBytes} bytes sha256:${hashOf(shadow).slice(0, 16)}` });
    return done(diffs, 0, false, true, 'hash');
  }

  const bodyA = primary.body as Buffer;
  const bodyB = shadow.body as Buffer;
  if (bodyA.length === 0 && bodyB.length === 0) return done(diffs, 0, false, false, 'empty');
  if (bodyA.equals(bodyB)) return done(diffs, 0, false, false, looksJson(primary, bodyA) ? 'json' : 'text');

  if (looksJson(primary, bodyA) || looksJson(shadow, bodyB)) {
    const a = parseJson(bodyA);
    const b = parseJson(bodyB);
    if (a.ok && b.ok) {
      const result = diffJson(a.value, b.value, rules, noise);
      return done([...diffs, ...result.diffs].slice(0, MAX_DIFFS), result.ignored, result.truncated, false, 'json');
    }
  }
  const textA = normaliseWhitespace(bodyA.toString('utf8'));
  const textB = normaliseWhitespace(bodyB.toString('utf8'));
  if (textA !== textB) {
    const at = firstDifference(textA, textB);
    diffs.push({ path: '$', kind: 'text', primary: excerpt(textA, at), shadow: excerpt(textB, at) });
  }
  return done(diffs, 0, false, false, 'text');
}

/**
 * True when the two answers are certainly equal under any rules: same status, same compared
 * headers, the same body bytes (both within maxBodyBytes). The common case, decided without a
 * parse or an allocation; false says nothing (compareResponses decides).
 */
export function sameAnswer(primary: CapturedResponse, shadow: CapturedResponse, rules: ShadowRules): boolean {
  if (primary.status !== shadow.status || primary.body === null || shadow.body === null || !primary.body.equals(shadow.body)) return false;
  for (const name of rules.headers) {
    const a = primary.headers[name];
    const b = shadow.headers[name];
    if (a !== b && headerValue(a) !== headerValue(b)) return false;
  }
  return true;
}

function done(diffs: Diff[], ignored: number, truncated: boolean, oversize: boolean, bodyKind: ShadowComparison['bodyKind']): ShadowComparison {
  return Object.freeze({ equal: diffs.length === 0, diffs: Object.freeze(diffs), ignored, truncated, oversize, bodyKind });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Case and spacing inside a header value are not a difference a client sees (RFC 9110 §5.5).
  return (Array.isArray(value) ? value.join(', ') : value).trim().replace(/\s*;\s*/g, '; ').toLowerCase();
}

function hashOf(response: CapturedResponse): string {
  if (response.hash !== undefined) return response.hash;
  return response.body === null ? '' : sha256(response.body);
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function looksJson(response: CapturedResponse, body: Buffer): boolean {
  const type = response.headers['content-type'];
  if (typeof type === 'string' && /[/+]json\b/i.test(type)) return true;
  const first = body.find((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09);
  return first === 0x7b || first === 0x5b; // { or [
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Runs of whitespace become one space; whitespace between tags goes (HTML re-indented is equal). */
export function normaliseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/>\s+</g, '><').trim();
}

function firstDifference(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) if (a.charCodeAt(index) !== b.charCodeAt(index)) return index;
  return length;
}

function excerpt(text: string, at: number): string {
  const start = Math.max(0, at - 40);
  return `${start > 0 ? '…' : ''}${text.slice(start, at + 80)}${at + 80 < text.length ? '…' : ''}`;
}
