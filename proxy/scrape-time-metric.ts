import type { Metric } from 'prom-client';

/**
 * Series kept in plain Maps and arrays on the hot path, handed to prom-client only when /metrics
 * is scraped. Why: prom-client hashes and validates the label set on every inc/observe, even
 * through a bound `labels()` child, which cost more than the rest of a proxied request's
 * bookkeeping together (proxy-metrics.ts) and 9% of the shadow side's own CPU (shadow-metrics.ts).
 */
export interface MetricValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

/** A metric prom-client's registry can expose, whose values are computed at scrape time. */
export function scrapeTimeMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): Metric {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }),
    reset: () => {},
  };
  return metric as unknown as Metric;
}

/** One label set's observations of a ScrapeTimeHistogram. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative); above the last bound only count and sum grow. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** A histogram observed with a few adds per call, exposed as prom-client's at scrape time. */
export class ScrapeTimeHistogram {
  readonly metric: Metric;
  readonly #name: string;
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.#name = name;
    this.#bounds = bounds;
    this.metric = scrapeTimeMetric(name, help, 'histogram', () => [...this.#series.values()].flatMap((series) => this.#values(series)));
  }

  /** The series `key` names, if it was created already (no allocation on the hot path). */
  find(key: string): HistogramSeries | undefined {
    return this.#series.get(key);
  }

  /** The series of a label set (`key` names it uniquely), created at its first use; callers may keep it. */
  series(key: string, labels: Readonly<Record<string, string>>): HistogramSeries {
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels, buckets: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    return series;
  }

  observe(series: HistogramSeries, value: number): void {
    series.count += 1;
    series.sum += value;
    const bounds = this.#bounds;
    for (let index = 0; index < bounds.length; index += 1) {
      if (value <= (bounds[index] as number)) {
        (series.buckets[index] as number) += 1;
        break;
      }
    }
  }

  #values(series: HistogramSeries): MetricValue[] {
    const name = this.#name;
    const values: MetricValue[] = [];
    let cumulative = 0;
    this.#bounds.forEach((bound, index) => {
      cumulative += series.buckets[index] as number;
      values.push({ metricName: `${name}_bucket`, labels: { ...series.labels, le: bound }, value: cumulative });
    });
    values.push({ metricName: `${name}_bucket`, labels: { ...series.labels, le: '+Inf' }, value: series.count });
    values.push({ metricName: `${name}_sum`, labels: series.labels, value: series.sum });
    values.push({ metricName: `${name}_count`, labels: series.labels, value: series.count });
    return values;
  }
}
