import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CircuitState } from './resilience/circuit-breaker.ts';

/**
 * The proxy's Prometheus metrics. The hot path only touches pre-bound label children cached in
 * a Map (prom-client hashes the label set on every unbound call, which costs more than the rest
 * of the bookkeeping together).
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'target' | 'mode' | 'status'>;
  readonly #duration: Histogram<'route' | 'target'>;
  readonly #upstreamErrors: Counter<'upstream' | 'kind'>;
  readonly #fallbacks: Counter<'route' | 'reason'>;
  readonly #reloads: Counter<'result'>;
  readonly #bound = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<'route' | 'target'> }>();
  /** Requests served per upstream since start: the denominator of the migration's progress. */
  readonly #served = new Map<string, number>();
  #circuitStates: () => { upstream: string; state: CircuitState }[] = () => [];
  #tableInfo = { version: '', loadedAt: 0 };

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#requests = new Counter({ name: 'strangler_proxy_requests_total', help: 'Proxied requests by route, target upstream, mode and status.', labelNames: ['route', 'target', 'mode', 'status'], registers });
    this.#duration = new Histogram({
      name: 'strangler_proxy_request_duration_seconds',
      help: 'Time from request received to response finished, by route and target.',
      labelNames: ['route', 'target'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
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

  request(route: string, target: string, mode: string, status: number, seconds: number): void {
    const key = `${route}\u0000${target}\u0000${mode}\u0000${status}`;
    let bound = this.#bound.get(key);
    if (bound === undefined) {
      bound = { count: this.#requests.labels(route, target, mode, String(status)), duration: this.#duration.labels(route, target) };
      this.#bound.set(key, bound);
    }
    bound.count.inc();
    bound.duration.observe(seconds);
    this.#served.set(target, (this.#served.get(target) ?? 0) + 1);
  }

  upstreamError(upstream: string, kind: string): void {
    this.#upstreamErrors.inc({ upstream, kind });
  }

  fallback(route: string, reason: string): void {
    this.#fallbacks.inc({ route, reason });
  }
}
