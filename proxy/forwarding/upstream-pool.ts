import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CircuitBreaker, type CircuitState } from '../resilience/circuit-breaker.ts';
import type { Upstream } from '../routes/upstream.ts';

/**
 * What the proxy keeps per upstream across requests: a keep-alive connection pool, a circuit
 * breaker, and the request options derived from its URL, computed once (so the hot path parses
 * nothing). Reused across reloads while the upstream's definition is unchanged, so a reload neither
 * drops warm connections nor resets an open circuit.
 */
export interface UpstreamRuntime {
  readonly upstream: Upstream;
  readonly agent: HttpAgent;
  readonly breaker: CircuitBreaker;
  /** Passed to http-proxy's `ws()` for WebSocket upgrades to this upstream. */
  readonly proxyOptions: Readonly<Record<string, unknown>>;
  readonly isLegacy: boolean;
  /** `http.request` or `https.request`, chosen once. */
  readonly request: (options: RequestOptions) => ClientRequest;
  readonly hostname: string;
  readonly port: number;
  /** The upstream URL's path without a trailing slash ('' for the root): prepended to each request's. */
  readonly pathPrefix: string;
  /** The Host an extracted service is addressed by (`host[:port]`); undefined for legacy, which keeps the shopper's. */
  readonly hostHeader: string | undefined;
  /** For requests that arrive without a Host (HTTP/1.0): what the upstream sees instead. */
  readonly defaultHost: string;
}

export class UpstreamPool {
  #runtimes = new Map<string, UpstreamRuntime>();
  readonly #onCircuitChange: (upstream: string, state: CircuitState) => void;
  readonly #retired = new Set<HttpAgent>();

  constructor(onCircuitChange: (upstream: string, state: CircuitState) => void) {
    this.#onCircuitChange = onCircuitChange;
  }

  /** Builds the runtimes for a table's upstreams, reusing the unchanged ones. */
  resolve(upstreams: ReadonlyMap<string, Upstream>): ReadonlyMap<string, UpstreamRuntime> {
    const next = new Map<string, UpstreamRuntime>();
    for (const [name, upstream] of upstreams) {
      const previous = this.#runtimes.get(name);
      next.set(name, previous && sameDefinition(previous.upstream, upstream) ? previous : this.#create(upstream));
    }
    for (const [name, runtime] of this.#runtimes) {
      if (next.get(name) !== runtime) this.#retire(runtime.agent);
    }
    this.#runtimes = next;
    return next;
  }

  states(): { upstream: string; state: CircuitState }[] {
    return [...this.#runtimes.values()].map((runtime) => ({ upstream: runtime.upstream.name, state: runtime.breaker.state }));
  }

  close(): void {
    for (const runtime of this.#runtimes.values()) runtime.agent.destroy();
    for (const agent of this.#retired) agent.destroy();
    this.#runtimes.clear();
  }

  #create(upstream: Upstream): UpstreamRuntime {
    const agentOptions = { keepAlive: true, maxFreeSockets: upstream.maxFreeSockets, scheduling: 'lifo' as const };
    const agent = upstream.url.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    const isLegacy = upstream.name === 'legacy';
    const https = upstream.url.protocol === 'https:';
    const pathname = upstream.url.pathname;
    return {
      upstream,
      agent,
      isLegacy,
      request: https ? httpsRequest : httpRequest,
      hostname: upstream.url.hostname,
      port: upstream.url.port === '' ? (https ? 443 : 80) : Number(upstream.url.port),
      pathPrefix: pathname.endsWith('/') ? pathname.slice(0, -1) : pathname,
      // The legacy storefront builds absolute URLs from Host, so it must see the shopper's;
      // an extracted service is addressed by its own name (URL.host omits a default port).
      hostHeader: isLegacy ? undefined : upstream.url.host,
      defaultHost: upstream.url.host,
      breaker: new CircuitBreaker({ ...upstream.circuit, onChange: (state) => this.#onCircuitChange(upstream.name, state) }),
      proxyOptions: {
        // A pre-parsed target: http-proxy would otherwise url.parse() a string on every request.
        target: { protocol: upstream.url.protocol, host: upstream.url.hostname, hostname: upstream.url.hostname, port: upstream.url.port, path: upstream.url.pathname === '/' ? '' : upstream.url.pathname },
        agent,
        proxyTimeout: upstream.timeoutMs,
        changeOrigin: !isLegacy,
        xfwd: false,
      },
    };
  }

  /** A removed upstream's pool may still carry requests in flight; close it once they are done. */
  #retire(agent: HttpAgent): void {
    this.#retired.add(agent);
    const timer = setTimeout(() => {
      agent.destroy();
      this.#retired.delete(agent);
    }, 60_000);
    timer.unref();
  }
}

function sameDefinition(a: Upstream, b: Upstream): boolean {
  return a.url.href === b.url.href && a.timeoutMs === b.timeoutMs && a.maxFreeSockets === b.maxFreeSockets && a.circuit.failures === b.circuit.failures && a.circuit.resetMs === b.circuit.resetMs;
}
