import { isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { RoutesInvalidError } from '../errors.ts';
import { parseRouteTable } from '../routes/route-table.ts';
import { ShadowErrors } from './shadow-errors.ts';
import type { RouteSummary } from './shadow-report.ts';

/**
 * Cutover on evidence: the decision (pure) and the edit of routes.yaml (located with yaml's
 * Document API, spliced into the original text, so only the values that change are touched).
 */
export interface CutoverPolicy {
  readonly minSamples: number;
  /** 0..1 */
  readonly minMatchRate: number;
  readonly quietMinutes: number;
}

export const DEFAULT_CUTOVER_POLICY: CutoverPolicy = Object.freeze({ minSamples: 1000, minMatchRate: 0.999, quietMinutes: 10 });

/** Why the evidence is not enough (empty when it is). */
export function missingEvidence(summary: Pick<RouteSummary, 'compared' | 'matchRate' | 'lastMismatchAt' | 'counts'>, policy: CutoverPolicy, now: Date): string[] {
  const reasons: string[] = [];
  if (summary.compared < policy.minSamples) reasons.push(`only ${summary.compared} compared requests, at least ${policy.minSamples} needed`);
  if (summary.matchRate === null || summary.matchRate < policy.minMatchRate) {
    reasons.push(`match rate ${summary.matchRate === null ? 'unknown' : percent(summary.matchRate)} is below ${percent(policy.minMatchRate)} (${summary.counts.mismatch} mismatches)`);
  }
  if (summary.lastMismatchAt !== null) {
    const minutes = (now.getTime() - Date.parse(summary.lastMismatchAt)) / 60_000;
    if (minutes < policy.quietMinutes) reasons.push(`last mismatch ${minutes < 1 ? `${Math.round(minutes * 60)} s` : `${minutes.toFixed(1)} min`} ago, needs ${policy.quietMinutes} min without one`);
  }
  return reasons;
}

export function percent(rate: number): string {
  return `${(Math.floor(rate * 10_000) / 100).toFixed(2)}%`;
}

export interface RouteEdit {
  readonly text: string;
  readonly from: string;
  readonly to: string;
}

/** shadow → extracted with fallback: legacy. The shadow block stays, for a rollback. */
export function cutoverRoute(text: string, file: string, routeId: string, env: Readonly<Record<string, string | undefined>>): RouteEdit {
  const { route } = findRoute(text, file, routeId);
  const mode = stringAt(route, 'mode') ?? 'legacy';
  if (mode !== 'shadow') throw ShadowErrors.wrongMode(routeId, mode, 'shadow');
  if (stringAt(route, 'target') === undefined) throw ShadowErrors.noTarget(routeId);
  const edits = new TextEdits(text);
  edits.set(route, 'mode', 'extracted');
  edits.set(route, 'fallback', 'legacy');
  return { text: checked(edits.apply(), file, env), from: 'shadow', to: 'extracted' };
}

/** Back to shadow (legacy answers again, the service is still compared) or to legacy. */
export function rollbackRoute(text: string, file: string, routeId: string, to: 'shadow' | 'legacy', env: Readonly<Record<string, string | undefined>>): RouteEdit {
  const { route } = findRoute(text, file, routeId);
  const from = stringAt(route, 'mode') ?? 'legacy';
  if (to === 'shadow' && stringAt(route, 'target') === undefined) throw ShadowErrors.noTarget(routeId);
  const edits = new TextEdits(text);
  edits.set(route, 'mode', to);
  // fallback applies to extracted and canary only; legacy mode has no target.
  edits.remove(route, 'fallback');
  if (to === 'legacy') edits.remove(route, 'target');
  return { text: checked(edits.apply(), file, env), from, to };
}

function findRoute(text: string, file: string, routeId: string): { route: YAMLMap } {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw ShadowErrors.editInvalid(file, document.errors[0]?.message.split('\n')[0] ?? 'unreadable YAML');
  const routes = document.get('routes', true);
  const known: string[] = [];
  if (isSeq(routes)) {
    for (const item of routes.items) {
      if (!isMap(item)) continue;
      const id = stringAt(item, 'id');
      if (id !== undefined) known.push(id);
      if (id === routeId) {
        if (item.flow) throw ShadowErrors.editInvalid(file, `route "${routeId}" is written as a flow map ({ ... }); write it as a block map to edit it with the CLI`);
        return { route: item };
      }
    }
  }
  throw ShadowErrors.routeNotFound(file, routeId, known);
}

function stringAt(map: YAMLMap, key: string): string | undefined {
  const value = map.get(key, true);
  return isScalar(value) && value.value !== null && value.value !== undefined ? String(value.value) : undefined;
}

/**
 * Edits spliced into the original text at the source ranges yaml's Document API reports, so
 * everything not edited stays byte for byte: comments, their alignment, flow maps, quoting and
 * blank lines. (Re-serialising the Document keeps comments but re-flows alignment and spacing.)
 */
class TextEdits {
  readonly #text: string;
  readonly #edits: { start: number; end: number; text: string }[] = [];

  constructor(text: string) {
    this.#text = text;
  }

  /** Changes the scalar value of `key`, or adds `key: value` on a new line after the last key. */
  set(map: YAMLMap, key: string, value: string): void {
    const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
    const node = pair?.value;
    if (pair && isScalar(node) && node.range) {
      this.#edits.push({ start: node.range[0], end: node.range[1], text: value });
      return;
    }
    const anchor = map.items.find((item) => isScalar(item.key) && item.key.value === 'mode') ?? map.items[0];
    const anchorKey = anchor?.key;
    const anchorValue = anchor?.value;
    if (!isScalar(anchorKey) || !anchorKey.range) throw new Error('cannot place a new key in an empty route');
    const keyStart = anchorKey.range[0];
    const indent = this.#text.slice(lineStart(this.#text, keyStart), keyStart).replace('-', ' ');
    const after = lineEnd(this.#text, (isScalar(anchorValue) && anchorValue.range ? anchorValue.range[1] : anchorKey.range[1]) - 1);
    this.#edits.push({ start: after, end: after, text: `${indent}${key}: ${value}\n` });
  }

  /** Removes the line(s) of `key: scalar`; nothing when absent. */
  remove(map: YAMLMap, key: string): void {
    const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
    if (!pair || !isScalar(pair.key) || !pair.key.range) return;
    const node = pair.value;
    const end = isScalar(node) && node.range ? node.range[1] : pair.key.range[1];
    this.#edits.push({ start: lineStart(this.#text, pair.key.range[0]), end: lineEnd(this.#text, end - 1), text: '' });
  }

  apply(): string {
    let text = this.#text;
    for (const edit of [...this.#edits].sort((a, b) => b.start - a.start)) text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
    return text;
  }
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset just past the newline ending the line that holds `offset`. */
function lineEnd(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  return newline === -1 ? text.length : newline + 1;
}

/** The new text, refused unless it is a valid route table: the file never becomes invalid. */
function checked(text: string, file: string, env: Readonly<Record<string, string | undefined>>): string {
  try {
    parseRouteTable(text, { file, env });
  } catch (error) {
    if (error instanceof RoutesInvalidError) throw ShadowErrors.editInvalid(file, error.message);
    throw error;
  }
  return text;
}
