import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Verdict } from './verdict.ts';

/**
 * Prometheus series of the shadow side, by route and verdict, registered on the proxy's registry
 * (so GET /metrics on the admin API shows them). Label children are bound once per route.
 */
export class ShadowMetrics {
  readonly #comparisons: Counter<'route' | 'verdict'>;
  readonly #duration: Histogram<'route' | 'side'>;
  readonly #inFlight: Gauge<'route'>;
  readonly #noise: Gauge<'route'>;
  readonly #bound = new Map<string, ReturnType<Counter<'route' | 'verdict'>['labels']>>();
  readonly #boundDuration = new Map<string, ReturnType<Histogram<'route' | 'side'>['labels']>>();
  readonly #boundInFlight = new Map<string, ReturnType<Gauge<'route'>['labels']>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.#comparisons = new Counter({ name: 'strangler_shadow_comparisons_total', help: 'Shadowed requests by route and verdict (match, converged, mismatch, error, skipped).', labelNames: ['route', 'verdict'], registers });
    this.#duration = new Histogram({
      name: 'strangler_shadow_upstream_duration_seconds',
      help: 'Time to the whole answer of each side of a shadowed request (primary, shadow).',
      labelNames: ['route', 'side'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#inFlight = new Gauge({ name: 'strangler_shadow_in_flight', help: 'Shadow requests in flight per route (bounded by maxConcurrent).', labelNames: ['route'], registers });
    this.#noise = new Gauge({ name: 'strangler_shadow_noise_paths', help: 'JSON paths learned as noise per route (noise: auto).', labelNames: ['route'], registers });
  }

  verdict(route: string, verdict: Verdict): void {
    const key = `${route}\u0000${verdict}`;
    let child = this.#bound.get(key);
    if (!child) {
      child = this.#comparisons.labels({ route, verdict });
      this.#bound.set(key, child);
    }
    child.inc();
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
    let child = this.#boundInFlight.get(route);
    if (!child) {
      child = this.#inFlight.labels({ route });
      this.#boundInFlight.set(route, child);
    }
    child.set(count);
  }

  noisePaths(route: string, count: number): void {
    this.#noise.set({ route }, count);
  }
}
