import type { CapturedResponse } from './captured-response.ts';
import { generalisePath, parsePathPattern, type PathPattern } from './json-path.ts';
import { compareResponses } from './shadow-comparison.ts';
import type { ShadowRules } from './shadow-rules.ts';

/**
 * Noise calibration (Diffy's idea, made per field): a sample of requests is sent twice to the
 * primary; JSON paths that differ between two answers of the same system (a timestamp, a request
 * id, a random recommendation) cannot be evidence against the shadow, so they are excluded from
 * later comparisons and listed in the report.
 */
export class NoiseCalibration {
  readonly #samples: number;
  #taken = 0;
  #inFlight = 0;
  readonly #paths = new Map<string, number>();
  #patterns: readonly PathPattern[] = [];

  constructor(samples: number, learned: readonly { path: string; count: number }[] = []) {
    this.#samples = samples;
    for (const { path, count } of learned) this.#paths.set(path, count);
    this.#rebuild();
  }

  /** True while the route still needs samples; reserves one (call `learn` or `abandon` after). */
  reserve(): boolean {
    if (this.#taken + this.#inFlight >= this.#samples) return false;
    this.#inFlight++;
    return true;
  }

  abandon(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
  }

  /** Compares two answers of the primary to the same request; returns the paths newly learned. */
  learn(first: CapturedResponse, second: CapturedResponse, rules: ShadowRules): string[] {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    this.#taken++;
    const comparison = compareResponses(first, second, rules);
    const learned: string[] = [];
    for (const diff of comparison.diffs) {
      // Only body fields: a whole text body or a status that flaps is not a field to ignore.
      if (!diff.path.startsWith('$') || diff.path === '$') continue;
      const path = generalisePath(diff.path);
      const count = this.#paths.get(path);
      if (count === undefined) learned.push(path);
      this.#paths.set(path, (count ?? 0) + 1);
    }
    if (learned.length > 0) this.#rebuild();
    return learned;
  }

  get patterns(): readonly PathPattern[] {
    return this.#patterns;
  }

  get samplesTaken(): number {
    return this.#taken;
  }

  get done(): boolean {
    return this.#taken >= this.#samples;
  }

  list(): { path: string; count: number }[] {
    return [...this.#paths].map(([path, count]) => ({ path, count })).sort((a, b) => b.count - a.count);
  }

  #rebuild(): void {
    this.#patterns = Object.freeze([...this.#paths.keys()].map(parsePathPattern));
  }
}
