import { CircuitBreaker, type CircuitState } from '../resilience/circuit-breaker.ts';
import type { Upstream } from '../routes/upstream.ts';
import { ClientPool } from './client-pool.ts';

/**
 * What the proxy keeps per upstream across requests: its keep-alive connections (undici Clients,
 * see forwarder.ts and client-pool.ts for why), a circuit breaker, and the request options
 * derived from its URL, computed once (so the hot path parses nothing). Reused across reloads
 * while the upstream's definition is unchanged, so a reload neither drops warm connections nor
 * resets an open circuit.
 */
export interface UpstreamRuntime {
  readonly upstream: Upstream;
  /** Plain HTTP requests go out through it (`dispatch`); undici speaks https: itself for an https: URL. */
  readonly client: ClientPool;
  readonly breaker: CircuitBreaker;
  /** Passed to http-proxy's `ws()` for WebSocket upgrades to this upstream. */
  readonly proxyOptions: Readonly<Record<string, unknown>>;
  readonly isLegacy: boolean;
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
  readonly #retired = new Set<ClientPool>();

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
      // A removed or changed upstream's pool may still carry requests in flight: close() lets
      // them finish, then closes its connections.
      if (next.get(name) !== runtime) this.#retire(runtime.client);
    }
    this.#runtimes = next;
    return next;
  }

  states(): { upstream: string; state: CircuitState }[] {
    return [...this.#runtimes.values()].map((runtime) => ({ upstream: runtime.upstream.name, state: runtime.breaker.state }));
  }

  close(): void {
    for (const runtime of this.#runtimes.values()) void runtime.client.destroy();
    for (const client of this.#retired) void client.destroy();
    this.#runtimes.clear();
    this.#retired.clear();
  }

  #retire(client: ClientPool): void {
    this.#retired.add(client);
    void client.close().then(() => this.#retired.delete(client));
  }

  #create(upstream: Upstream): UpstreamRuntime {
    const isLegacy = upstream.name === 'legacy';
    const pathname = upstream.url.pathname;
    return {
      upstream,
      client: new ClientPool(upstream.url, {
        maxIdle: upstream.maxFreeSockets,
        // How long the upstream may take to start answering, and stay silent mid-answer
        // (undici's defaults are 300 s).
        headersTimeout: upstream.timeoutMs,
        bodyTimeout: upstream.timeoutMs,
      }),
      isLegacy,
      pathPrefix: pathname.endsWith('/') ? pathname.slice(0, -1) : pathname,
      // The legacy storefront builds absolute URLs from Host, so it must see the shopper's;
      // an extracted service is addressed by its own name (URL.host omits a default port).
      hostHeader: isLegacy ? undefined : upstream.url.host,
      defaultHost: upstream.url.host,
      breaker: new CircuitBreaker({ ...upstream.circuit, onChange: (state) => this.#onCircuitChange(upstream.name, state) }),
      proxyOptions: {
        // A pre-parsed target: http-proxy would otherwise url.parse() a string on every request.
        // No agent: an upgraded connection leaves any keep-alive pool anyway.
        target: { protocol: upstream.url.protocol, host: upstream.url.hostname, hostname: upstream.url.hostname, port: upstream.url.port, path: upstream.url.pathname === '/' ? '' : upstream.url.pathname },
        proxyTimeout: upstream.timeoutMs,
        changeOrigin: !isLegacy,
        xfwd: false,
      },
    };
  }
}

function sameDefinition(a: Upstream, b: Upstream): boolean {
  return a.url.href === b.url.href && a.timeoutMs === b.timeoutMs && a.maxFreeSockets === b.maxFreeSockets && a.circuit.failures === b.circuit.failures && a.circuit.resetMs === b.circuit.resetMs;
}
