import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
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
  readonly #durations = new Map<string, DurationSeries>();

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
    registry.registerMetric(durationHistogram(() => this.#durations.values()));
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
    let series = this.#durations.get(key);
    if (series === undefined) {
      series = { labels: { route, side }, buckets: new Float64Array(BUCKETS.length), sum: 0, count: 0 };
      this.#durations.set(key, series);
    }
    const seconds = ms / 1000;
    series.count += 1;
    series.sum += seconds;
    for (let index = 0; index < BUCKETS.length; index += 1) {
      if (seconds <= (BUCKETS[index] as number)) {
        (series.buckets[index] as number) += 1;
        break;
      }
    }
  }

  inFlight(route: string, count: number): void {
    this.#inFlightCounts.set(route, count);
  }

  noisePaths(route: string, count: number): void {
    this.#noise.set({ route }, count);
  }
}

const DURATION = 'strangler_shadow_upstream_duration_seconds';
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface DurationSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative); above the last bound only count and sum grow. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

/** The durations as a histogram prom-client's registry exposes, its values computed at scrape time. */
function durationHistogram(series: () => Iterable<DurationSeries>): Metric {
  const help = 'Time to the whole answer of each side of a shadowed request (primary, shadow).';
  const values = (): MetricValue[] => {
    const out: MetricValue[] = [];
    for (const { labels, buckets, sum, count } of series()) {
      let cumulative = 0;
      BUCKETS.forEach((bound, index) => {
        cumulative += buckets[index] as number;
        out.push({ metricName: `${DURATION}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      });
      out.push({ metricName: `${DURATION}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
      out.push({ metricName: `${DURATION}_sum`, labels, value: sum });
      out.push({ metricName: `${DURATION}_count`, labels, value: count });
    }
    return out;
  };
  const metric = { name: DURATION, help, type: 'histogram', aggregator: 'sum', get: async () => ({ name: DURATION, help, type: 'histogram', values: values(), aggregator: 'sum' }), reset: () => {} };
  return metric as unknown as Metric;
}
