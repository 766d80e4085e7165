import type { Diff } from './diff.ts';
import { generalisePath } from './json-path.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { VERDICTS, type Verdict } from './verdict.ts';

/**
 * Per route: counts by verdict, match rate, latency of both sides, the most frequent differing
 * paths and the last N mismatches in full. Every structure is bounded (histograms of fixed size,
 * at most MAX_PATHS distinct paths, a ring of N mismatches), so a route that mismatches on every
 * request for a week costs the same memory as one that mismatched once.
 */
export const MAX_PATHS = 200;
const OTHER_PATHS = '(other paths)';

export interface SideRecord {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text (redacted, cut to a few KB), or a note for binary/oversize bodies. */
  readonly body: string;
  readonly bodyBytes: number;
  readonly lsn?: string;
}

export interface MismatchRecord {
  readonly at: string;
  readonly routeId: string;
  readonly request: { readonly method: string; readonly url: string; readonly headers: Readonly<Record<string, string>> };
  readonly primary: SideRecord;
  readonly shadow: SideRecord;
  readonly diffs: readonly Diff[];
  /** Asked how many times before judging (1 = no recheck). */
  readonly attempts: number;
  readonly note?: string;
}

export interface ComparisonOutcome {
  readonly verdict: Verdict;
  readonly primaryMs?: number;
  readonly shadowMs?: number;
  readonly diffs?: readonly Diff[];
  readonly mismatch?: MismatchRecord;
  /** Why it was skipped or failed (e.g. `max-concurrent`, `timeout`). */
  readonly reason?: string;
}

export interface RouteState {
  readonly counts: Record<Verdict, number>;
  readonly reasons: Record<string, number>;
  readonly primaryLatency: number[];
  readonly shadowLatency: number[];
  readonly paths: Record<string, number>;
  readonly mismatches: MismatchRecord[];
  readonly lastMismatchAt: number | null;
  readonly since: number;
  readonly noise?: { path: string; count: number }[];
}

/** What the journal hands back on restart: the last snapshot and the mismatches written after it. */
export interface RestoredReport {
  readonly routes: ReadonlyMap<string, RouteState>;
  readonly replay: readonly MismatchRecord[];
}

export interface RouteSummary {
  readonly routeId: string;
  readonly since: string;
  readonly counts: Record<Verdict, number>;
  /** match + converged + mismatch: the requests that were really compared. */
  readonly compared: number;
  /** (match + converged) / compared, null before the first comparison. */
  readonly matchRate: number | null;
  readonly reasons: Record<string, number>;
  readonly latencyMs: { readonly primary: { p50: number | null; p99: number | null }; readonly shadow: { p50: number | null; p99: number | null } };
  readonly topPaths: { path: string; count: number }[];
  readonly noise: { path: string; count: number }[];
  readonly lastMismatchAt: string | null;
}

export class RouteShadowReport {
  readonly routeId: string;
  readonly #keep: number;
  readonly #counts: Record<Verdict, number>;
  readonly #reasons = new Map<string, number>();
  readonly #primaryLatency: LatencyHistogram;
  readonly #shadowLatency: LatencyHistogram;
  readonly #paths = new Map<string, number>();
  #mismatches: MismatchRecord[] = [];
  /** Index of the oldest record once the ring is full. */
  #ringStart = 0;
  #lastMismatchAt: number | null;
  readonly #since: number;
  noise: () => { path: string; count: number }[];

  constructor(routeId: string, keep: number, now: number, state?: RouteState) {
    this.routeId = routeId;
    this.#keep = keep;
    this.#counts = Object.fromEntries(VERDICTS.map((verdict) => [verdict, state?.counts[verdict] ?? 0])) as Record<Verdict, number>;
    for (const [reason, count] of Object.entries(state?.reasons ?? {})) this.#reasons.set(reason, count);
    this.#primaryLatency = new LatencyHistogram(state?.primaryLatency);
    this.#shadowLatency = new LatencyHistogram(state?.shadowLatency);
    for (const [path, count] of Object.entries(state?.paths ?? {})) this.#paths.set(path, count);
    this.#mismatches = (state?.mismatches ?? []).slice(-keep);
    this.#lastMismatchAt = state?.lastMismatchAt ?? null;
    this.#since = state?.since ?? now;
    const stored = state?.noise ?? [];
    this.noise = () => stored;
  }

  record(outcome: ComparisonOutcome, now: number): void {
    this.#counts[outcome.verdict]++;
    if (outcome.reason !== undefined) this.#reasons.set(`${outcome.verdict}:${outcome.reason}`, (this.#reasons.get(`${outcome.verdict}:${outcome.reason}`) ?? 0) + 1);
    if (outcome.primaryMs !== undefined) this.#primaryLatency.record(outcome.primaryMs);
    if (outcome.shadowMs !== undefined) this.#shadowLatency.record(outcome.shadowMs);
    if (outcome.verdict !== 'mismatch') return;
    this.#lastMismatchAt = now;
    const seen = new Set<string>();
    for (const diff of outcome.diffs ?? []) {
      const path = generalisePath(diff.path);
      if (seen.has(path)) continue;
      seen.add(path);
      this.#countPath(path);
    }
    if (outcome.mismatch) this.#remember(outcome.mismatch);
  }

  /** The last mismatches, oldest first. */
  mismatches(limit = this.#keep): MismatchRecord[] {
    const ordered = [...this.#mismatches.slice(this.#ringStart), ...this.#mismatches.slice(0, this.#ringStart)];
    return ordered.slice(-limit);
  }

  get lastMismatchAt(): number | null {
    return this.#lastMismatchAt;
  }

  /** How many entries the bounded structures hold (for the bounded-memory spec). */
  size(): { paths: number; mismatches: number; reasons: number } {
    return { paths: this.#paths.size, mismatches: this.#mismatches.length, reasons: this.#reasons.size };
  }

  summary(topPaths = 10): RouteSummary {
    const { match, converged, mismatch } = this.#counts;
    const compared = match + converged + mismatch;
    return {
      routeId: this.routeId,
      since: new Date(this.#since).toISOString(),
      counts: { ...this.#counts },
      compared,
      matchRate: compared === 0 ? null : (match + converged) / compared,
      reasons: Object.fromEntries(this.#reasons),
      latencyMs: {
        primary: { p50: this.#primaryLatency.quantile(0.5), p99: this.#primaryLatency.quantile(0.99) },
        shadow: { p50: this.#shadowLatency.quantile(0.5), p99: this.#shadowLatency.quantile(0.99) },
      },
      topPaths: [...this.#paths]
        .map(([path, count]) => ({ path, count }))
        .sort((a, b) => b.count - a.count)
        .slice(0, topPaths),
      noise: this.noise(),
      lastMismatchAt: this.#lastMismatchAt === null ? null : new Date(this.#lastMismatchAt).toISOString(),
    };
  }

  toState(): RouteState {
    return {
      counts: { ...this.#counts },
      reasons: Object.fromEntries(this.#reasons),
      primaryLatency: this.#primaryLatency.toJSON(),
      shadowLatency: this.#shadowLatency.toJSON(),
      paths: Object.fromEntries(this.#paths),
      mismatches: this.mismatches(),
      lastMismatchAt: this.#lastMismatchAt,
      since: this.#since,
      noise: this.noise(),
    };
  }

  #countPath(path: string): void {
    const count = this.#paths.get(path);
    if (count !== undefined || this.#paths.size < MAX_PATHS) {
      this.#paths.set(path, (count ?? 0) + 1);
      return;
    }
    // Full: paths first seen after MAX_PATHS distinct ones are pooled, so the map cannot grow.
    this.#paths.set(OTHER_PATHS, (this.#paths.get(OTHER_PATHS) ?? 0) + 1);
  }

  #remember(record: MismatchRecord): void {
    if (this.#mismatches.length < this.#keep) {
      this.#mismatches.push(record);
      return;
    }
    this.#mismatches[this.#ringStart] = record;
    this.#ringStart = (this.#ringStart + 1) % this.#keep;
  }
}

/** All routes' reports; routes appear on their first shadowed request (or from the journal). */
export class ShadowReport {
  readonly #routes = new Map<string, RouteShadowReport>();
  readonly #now: () => number;
  readonly #onMismatch: ((record: MismatchRecord) => void) | undefined;

  constructor(options: { now?: () => number; restored?: RestoredReport; onMismatch?: (record: MismatchRecord) => void } = {}) {
    this.#now = options.now ?? Date.now;
    this.#onMismatch = options.onMismatch;
    for (const [routeId, state] of options.restored?.routes ?? []) this.#routes.set(routeId, new RouteShadowReport(routeId, Math.max(20, state.mismatches.length), state.since, state));
    // Mismatches journaled after the last snapshot: counted again as they were when they happened.
    for (const record of options.restored?.replay ?? []) {
      this.route(record.routeId).record({ verdict: 'mismatch', diffs: record.diffs, mismatch: record }, Date.parse(record.at));
    }
  }

  route(routeId: string, keep = 20): RouteShadowReport {
    let report = this.#routes.get(routeId);
    if (!report) {
      report = new RouteShadowReport(routeId, keep, this.#now());
      this.#routes.set(routeId, report);
    }
    return report;
  }

  find(routeId: string): RouteShadowReport | undefined {
    return this.#routes.get(routeId);
  }

  record(routeId: string, outcome: ComparisonOutcome, keep?: number): void {
    this.route(routeId, keep).record(outcome, this.#now());
    if (outcome.mismatch) this.#onMismatch?.(outcome.mismatch);
  }

  routes(): RouteShadowReport[] {
    return [...this.#routes.values()];
  }

  toState(): Record<string, RouteState> {
    return Object.fromEntries([...this.#routes].map(([routeId, report]) => [routeId, report.toState()]));
  }
}
