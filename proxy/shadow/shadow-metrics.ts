import { Counter, Gauge, type Registry } from 'prom-client';
import { ScrapeTimeHistogram } from '../scrape-time-metric.ts';
import type { Verdict } from './verdict.ts';

/**
 * Prometheus series of the shadow side, by route and verdict, registered on the proxy's registry
 * (so GET /metrics on the admin API shows them). Verdict counts, requests in flight and the
 * durations of both sides — touched four or five times per mirrored request — are kept in plain
 * Maps and arrays and handed to prom-client when /metrics is scraped: prom-client hashes and
 * validates the label set on every inc/set/observe, even through a bound `labels()` child (see
 * proxy-metrics.ts; the two duration observes were 9% of the shadow side's own CPU in a profile).
 */
export class ShadowMetrics {
  readonly #noise: Gauge<'route'>;
  readonly #verdicts = new Map<string, Map<Verdict, number>>();
  readonly #inFlightCounts = new Map<string, number>();
  readonly #durations = new ScrapeTimeHistogram(
    'strangler_shadow_upstream_duration_seconds',
    'Time to the whole answer of each side of a shadowed request (primary, shadow).',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );

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
    registry.registerMetric(this.#durations.metric);
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
    this.#durations.observe(this.#durations.find(key) ?? this.#durations.series(key, { route, side }), ms / 1000);
  }

  inFlight(route: string, count: number): void {
    this.#inFlightCounts.set(route, count);
  }

  noisePaths(route: string, count: number): void {
    this.#noise.set({ route }, count);
  }
}
