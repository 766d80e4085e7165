import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CircuitState } from './resilience/circuit-breaker.ts';
import { ScrapeTimeHistogram, scrapeTimeMetric, type HistogramSeries } from './scrape-time-metric.ts';

/**
 * The proxy's Prometheus metrics. The hot path only touches plain Maps and arrays, handed to
 * prom-client at scrape time (scrape-time-metric.ts).
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly #upstreamErrors: Counter<'upstream' | 'kind'>;
  readonly #fallbacks: Counter<'route' | 'reason'>;
  readonly #reloads: Counter<'result'>;
  /** Per (route, target, mode, status): the request count and the (route, target) latency series. */
  readonly #series = new Map<string, { requests: RequestSeries; latency: HistogramSeries }>();
  readonly #latency = new ScrapeTimeHistogram('strangler_proxy_request_duration_seconds', 'Time from request received to response finished, by route and target.', BUCKETS);
  /** Requests served per upstream since start: the denominator of the migration's progress. */
  readonly #served = new Map<string, number>();
  #circuitStates: () => { upstream: string; state: CircuitState }[] = () => [];
  #tableInfo = { version: '', loadedAt: 0 };

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.registry.registerMetric(
      scrapeTimeMetric('strangler_proxy_requests_total', 'Proxied requests by route, target upstream, mode and status.', 'counter', () =>
        [...this.#series.values()].map(({ requests }) => ({ labels: requests.labels, value: requests.count })),
      ),
    );
    this.registry.registerMetric(this.#latency.metric);
    this.#upstreamErrors = new Counter({ name: 'strangler_proxy_upstream_errors_total', help: 'Upstream failures by kind: error, timeout, status (502/503/504), circuit-open.', labelNames: ['upstream', 'kind'], registers });
    this.#fallbacks = new Counter({ name: 'strangler_proxy_fallbacks_total', help: 'Requests answered by legacy because the target failed.', labelNames: ['route', 'reason'], registers });
    this.#reloads = new Counter({ name: 'strangler_proxy_route_table_reloads_total', help: 'Route table loads by result (applied, unchanged, invalid).', labelNames: ['result'], registers });
    const circuits: Gauge<'upstream'> = new Gauge({
      name: 'strangler_proxy_circuit_state',
      help: 'Circuit breaker state per upstream: 0 closed, 0.5 half-open, 1 open.',
      labelNames: ['upstream'],
      registers,
      collect: () => {
        circuits.reset();
        for (const { upstream, state } of this.#circuitStates()) circuits.set({ upstream }, state === 'closed' ? 0 : state === 'open' ? 1 : 0.5);
      },
    });
    const shares: Gauge<'upstream'> = new Gauge({
      name: 'strangler_proxy_upstream_traffic_share',
      help: 'Share of proxied requests served by each upstream since the proxy started (0..1).',
      labelNames: ['upstream'],
      registers,
      collect: () => {
        shares.reset();
        const total = [...this.#served.values()].reduce((sum, count) => sum + count, 0);
        for (const [upstream, count] of this.#served) shares.set({ upstream }, total === 0 ? 0 : count / total);
      },
    });
    const migrated: Gauge = new Gauge({
      name: 'strangler_proxy_migrated_share',
      help: "The migration's progress in one number: share of requests served by extracted services rather than legacy (0..1).",
      registers,
      collect: () => {
        const total = [...this.#served.values()].reduce((sum, count) => sum + count, 0);
        migrated.set(total === 0 ? 0 : (total - (this.#served.get('legacy') ?? 0)) / total);
      },
    });
    const loaded: Gauge<'version'> = new Gauge({
      name: 'strangler_proxy_route_table_loaded_timestamp_seconds',
      help: 'When the live route table was loaded; its version is the label.',
      labelNames: ['version'],
      registers,
      collect: () => {
        loaded.reset();
        if (this.#tableInfo.version) loaded.set({ version: this.#tableInfo.version }, this.#tableInfo.loadedAt / 1000);
      },
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'strangler_proxy_' });
  }

  observeCircuits(states: () => { upstream: string; state: CircuitState }[]): void {
    this.#circuitStates = states;
  }

  tableLoaded(version: string, loadedAt: Date): void {
    this.#tableInfo = { version, loadedAt: loadedAt.getTime() };
  }

  reload(result: 'applied' | 'unchanged' | 'invalid'): void {
    this.#reloads.inc({ result });
  }

  /**
   * The hot-path call, once per request. prom-client hashes and validates the label set on every
   * inc/observe, even through `labels()`; here a request costs one Map lookup and a few adds,
   * and the series are handed to prom-client only when /metrics is scraped.
   */
  request(route: string, target: string, mode: string, status: number, seconds: number): void {
    const key = `${route}\u0000${target}\u0000${mode}\u0000${status}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { requests: { labels: { route, target, mode, status: String(status) }, count: 0 }, latency: this.#latencyFor(route, target) };
      this.#series.set(key, series);
    }
    series.requests.count += 1;
    this.#latency.observe(series.latency, seconds);
    this.#served.set(target, (this.#served.get(target) ?? 0) + 1);
  }

  #latencyFor(route: string, target: string): HistogramSeries {
    return this.#latency.series(`${route}\u0000${target}`, { route, target });
  }

  upstreamError(upstream: string, kind: string): void {
    this.#upstreamErrors.inc({ upstream, kind });
  }

  fallback(route: string, reason: string): void {
    this.#fallbacks.inc({ route, reason });
  }
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface RequestSeries {
  readonly labels: Record<string, string>;
  count: number;
}
