import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Verdict } from './verdict.ts';

/**
 * Prometheus series of the shadow side, by route and verdict, registered on the proxy's registry
 * (so GET /metrics on the admin API shows them). Verdict counts and requests in flight — touched
 * two or three times per mirrored request — are kept in plain Maps and handed to prom-client when
 * /metrics is scraped: prom-client hashes and validates the label set on every inc/set, even
 * through a bound `labels()` child (see proxy-metrics.ts).
 */
export class ShadowMetrics {
  readonly #duration: Histogram<'route' | 'side'>;
  readonly #noise: Gauge<'route'>;
  readonly #verdicts = new Map<string, Map<Verdict, number>>();
  readonly #inFlightCounts = new Map<string, number>();
  readonly #boundDuration = new Map<string, ReturnType<Histogram<'route' | 'side'>['labels']>>();

  constructor(registry: Registry) {
    const registers = [registry];
    const comparisons: Counter<'route' | 'verdict'> = new Counter({
      name: 'strangler_shadow_comparisons_total',
      help: 'Shadowed requests by route and verdict (match, converged, mismatch, error, skipped).',
      labelNames: ['route', 'verdict'],
      registers,
      collect: () => {
        comparisons.reset();
        for (const [route, counts] of this.#verdicts) for (const [verdict, count] of counts) comparisons.inc({ route, verdict }, count);
      },
    });
    this.#duration = new Histogram({
      name: 'strangler_shadow_upstream_duration_seconds',
      help: 'Time to the whole answer of each side of a shadowed request (primary, shadow).',
      labelNames: ['route', 'side'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    const inFlight: Gauge<'route'> = new Gauge({
      name: 'strangler_shadow_in_flight',
      help: 'Shadow requests in flight per route (bounded by maxConcurrent).',
      labelNames: ['route'],
      registers,
      collect: () => {
        inFlight.reset();
        for (const [route, count] of this.#inFlightCounts) inFlight.set({ route }, count);
      },
    });
    this.#noise = new Gauge({ name: 'strangler_shadow_noise_paths', help: 'JSON paths learned as noise per route (noise: auto).', labelNames: ['route'], registers });
  }

  verdict(route: string, verdict: Verdict): void {
    let counts = this.#verdicts.get(route);
    if (counts === undefined) {
      counts = new Map();
      this.#verdicts.set(route, counts);
    }
    counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
  }

  duration(route: string, side: 'primary' | 'shadow', ms: number): void {
    const key = `${route}\u0000${side}`;
    let child = this.#boundDuration.get(key);
    if (!child) {
      child = this.#duration.labels({ route, side });
      this.#boundDuration.set(key, child);
    }
    child.observe(ms / 1000);
  }

  inFlight(route: string, count: number): void {
    this.#inFlightCounts.set(route, count);
  }

  noisePaths(route: string, count: number): void {
    this.#noise.set({ route }, count);
  }
}
