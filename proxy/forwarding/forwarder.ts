import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import httpProxy from 'http-proxy';
import type { Client, Dispatcher } from 'undici';
import type { Logger } from '../../platform/logger.ts';
import { ProxyErrors } from '../errors.ts';
import type { ProxyMetrics } from '../proxy-metrics.ts';
import type { ActiveTable, RouteTableStore } from '../reload/route-table-store.ts';
import { choosesTarget } from '../routes/canary.ts';
import { normalisePath } from '../routes/path-normaliser.ts';
import { SAFE_METHODS } from '../routes/route.ts';
import { findRoute, type CompiledRoute } from '../routes/route-matcher.ts';
import { parseRawHeaders } from '../shadow/shadow-client.ts';
import type { ShadowMirror, ShadowTap } from '../shadow/shadow-mirror.ts';
import { sendErrorResponse } from './error-response.ts';
import { scanRequestHeaders, scanResponseHeaders, type ScannedRequestHeaders } from './hop-by-hop.ts';
import { RequestLog } from './request-log.ts';
import type { UpstreamRuntime } from './upstream-pool.ts';

/**
 * The hot path: match → choose the upstream → forward, on a plain node:http server. Plain HTTP
 * goes out through undici (`dispatch` on the upstream's ClientPool, one UpstreamExchange per
 * attempt): express and the middleware layer cost two thirds of the throughput (issue 3),
 * http-proxy's per-request passes a further tenth of what was left, and node:http's client
 * (Agent.addRequest, ClientRequest, its parser) most of the gap to @fastify/http-proxy, which uses
 * undici, measured with --cpu-prof. WebSocket upgrades still go through http-proxy's `ws()`. The
 * response is handled here, so a 5xx can still fall back to legacy before anything is written.
 */
export interface ForwarderDeps {
  readonly store: RouteTableStore;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** For canary splits without a sticky value; injectable for tests. */
  readonly random?: () => number;
  /** Mode shadow: mirrors and compares off the client's path (proxy/shadow/). */
  readonly shadow?: ShadowMirror;
}

export type FailureReason = 'error' | 'timeout' | 'circuit-open' | `status-${number}`;

const CONTEXT = Symbol('strangler.request');
type ProxiedRequest = IncomingMessage & { [CONTEXT]?: RequestContext };

interface RequestContext {
  readonly active: ActiveTable;
  readonly route: CompiledRoute;
  readonly started: number;
  readonly requestId: string;
  readonly path: string;
  /** Origin-form, normalised path and the query as received: what the upstream is asked for. */
  readonly url: string;
  readonly canFallback: boolean;
  /** Content-Length or Transfer-Encoding: a body to relay (and so nothing to replay). */
  readonly hasBody: boolean;
  /** The shopper's Host, if sent. */
  readonly host: string | undefined;
  /**
   * The request headers as the upstream receives them, as a flat list whose first pair is Host:
   * its value is set per attempt (the shopper's for legacy, the service's own otherwise).
   */
  readonly outgoing: string[];
  upstream: UpstreamRuntime;
  fallbackReason: FailureReason | undefined;
  /** The attempt under way; an earlier one (retried, or a 5xx replaced by legacy's answer) is stale. */
  exchange: UpstreamExchange | undefined;
  retried: boolean;
  breakerPending: boolean;
  bytes: number;
  failure: string | undefined;
  done: boolean;
  /** Mode shadow: where the primary's answer is copied (bounded) for comparison. */
  tap: ShadowTap | undefined;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([201, 301, 302, 303, 307, 308]);

export class Forwarder {
  readonly #deps: ForwarderDeps;
  readonly #proxy: httpProxy;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #requestLog: RequestLog;
  readonly #hooks: ExchangeHooks = {
    headers: (exchange, status, rawHeaders, statusText) => this.#onUpstreamHeaders(exchange, status, rawHeaders, statusText),
    error: (exchange, error) => this.#onProxyError(error, exchange.req, exchange.res),
  };

  constructor(deps: ForwarderDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
    this.#log = deps.logger;
    this.#requestLog = new RequestLog(deps.logger);
    this.#proxy = httpProxy.createProxyServer({});
    // http-proxy emits 'error' only when no callback is given; we always give one. This is a guard.
    this.#proxy.on('error', (error) => this.#log.error({ err: error.message }, 'unexpected http-proxy error'));
  }

  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const active = this.#deps.store.current;
    const { table } = active;
    const rawUrl = originForm(req.url ?? '/');
    const queryAt = rawUrl.indexOf('?');
    const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const path = normalisePath(rawPath);
    const method = req.method ?? 'GET';
    const scanned = scanRequestHeaders(req.rawHeaders);
    const route = findRoute(table.routes, method, path, queryAt === -1 ? '' : rawUrl.slice(queryAt + 1), req) ?? table.defaultRoute;
    const upstream = this.#chooseUpstream(active, route, req);

    let requestId = scanned.requestId;
    if (requestId === undefined || requestId === '' || requestId.length > 200) requestId = randomUUID();
    // Node's server already answered "100 Continue" to the client (no 'checkContinue' listener),
    // so the body is on its way; asking the upstream again would only add a round trip: the scan
    // leaves Expect out, with the hop-by-hop headers.
    const outgoing = outgoingHeaders(method, scanned, req, requestId);
    const url = path === rawPath ? rawUrl : queryAt === -1 ? path : path + rawUrl.slice(queryAt);
    if (url !== req.url) req.url = url;
    const hasBody = scanned.hasBody;

    const context: RequestContext = {
      active,
      route,
      started,
      requestId,
      path,
      url,
      // Replaying on legacy is only safe for a safe method whose (absent) body was not consumed.
      canFallback: route.fallback && !hasBody && SAFE_METHODS.has(method),
      hasBody,
      host: scanned.host,
      outgoing,
      upstream,
      fallbackReason: undefined,
      exchange: undefined,
      retried: false,
      breakerPending: false,
      bytes: 0,
      failure: undefined,
      done: false,
      tap: route.shadow === null || this.#deps.shadow === undefined ? undefined : this.#mirror(active, route, upstream, req, () => headersObject(outgoing, scanned.host), hasBody),
    };
    (req as ProxiedRequest)[CONTEXT] = context;
    // 'close' is emitted once: `on` spares once()'s wrapper.
    res.on('close', () => this.#finished(req, res, context));
    // A client that breaks off its upload: the upstream leg is torn down when `res` closes.
    req.on('error', noop);
    this.#send(req, res, context);
  };

  /** WebSocket upgrades: routed like any request (in practice to legacy), then spliced. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const active = this.#deps.store.current;
    const rawUrl = originForm(req.url ?? '/');
    const queryAt = rawUrl.indexOf('?');
    const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const path = normalisePath(rawPath);
    const route = findRoute(active.table.routes, req.method ?? 'GET', path, queryAt === -1 ? '' : rawUrl.slice(queryAt + 1), req) ?? active.table.defaultRoute;
    const upstream = this.#chooseUpstream(active, route, req);
    if (path !== rawPath) req.url = queryAt === -1 ? path : path + rawUrl.slice(queryAt);
    req.headers['x-request-id'] ??= randomUUID();
    appendForwarded(req);
    const options = upstream.proxyOptions;
    this.#proxy.ws(req, socket, head, { target: options.target as httpProxy.ProxyTargetUrl, changeOrigin: !upstream.isLegacy, xfwd: false }, (error) => {
      this.#log.warn({ reqId: req.headers['x-request-id'], route: route.id, target: upstream.upstream.name, err: error.message }, 'websocket upgrade failed');
      socket.destroy();
    });
    this.#log.info({ reqId: req.headers['x-request-id'], method: req.method, path, route: route.id, target: upstream.upstream.name, mode: route.mode, status: 101 }, 'websocket upgrade');
  };

  close(): void {
    this.#proxy.close();
    this.#requestLog.flush();
  }

  #chooseUpstream(active: ActiveTable, route: CompiledRoute, req: IncomingMessage): UpstreamRuntime {
    if (route.target === undefined) return active.legacy;
    if (route.mode === 'extracted' || (route.mode === 'shadow' && route.shadow?.primary === 'target') || (route.mode === 'canary' && route.canary !== null && choosesTarget(route.canary, req.headers, this.#random))) {
      return active.upstreams.get(route.target) ?? active.legacy;
    }
    // legacy, shadow (legacy answers, the target is asked on the side), or the canary's other side.
    return active.legacy;
  }

  /** Starts mirroring a shadow route's request to the side that does not answer the shopper. */
  #mirror(active: ActiveTable, route: CompiledRoute, primary: UpstreamRuntime, req: IncomingMessage, headers: () => IncomingHttpHeaders, hasBody: boolean): ShadowTap | undefined {
    const target = route.target === undefined ? undefined : active.upstreams.get(route.target);
    if (target === undefined || route.shadow === null || this.#deps.shadow === undefined) return undefined;
    const other = primary === target ? active.legacy : target;
    return this.#deps.shadow.begin({ id: route.id, rules: route.shadow, primary: primary.upstream, shadow: other.upstream }, req, headers, hasBody);
  }

  #send(req: IncomingMessage, res: ServerResponse, context: RequestContext): void {
    const { upstream } = context;
    if (!upstream.breaker.tryAcquire()) {
      this.#deps.metrics.upstreamError(upstream.upstream.name, 'circuit-open');
      this.#failed(req, res, context, 'circuit-open', ProxyErrors.serviceUnavailable(upstream.upstream.name));
      return;
    }
    context.breakerPending = true;
    const exchange = new UpstreamExchange(this.#hooks, req, res, context);
    context.exchange = exchange;
    const outgoing = context.outgoing;
    outgoing[1] = upstream.hostHeader ?? context.host ?? upstream.defaultHost;
    // The flat [name, value, ...] list is taken as given, Host included; the body (if any) is
    // streamed from the shopper's request with backpressure; the upstream's timeoutMs is the
    // pool's headersTimeout and bodyTimeout. A refused option arrives at the exchange's onError.
    exchange.client = upstream.client.dispatch({ path: upstream.pathPrefix + context.url, method: req.method ?? 'GET', headers: outgoing, body: context.hasBody ? req : null }, exchange);
  }

  #onProxyError(error: Error & { code?: string }, req: IncomingMessage, response: ServerResponse): void {
    const context = (req as ProxiedRequest)[CONTEXT];
    if (context === undefined || context.done) return;
    const { upstream } = context;
    const timedOut = error.code === 'UND_ERR_HEADERS_TIMEOUT' || error.code === 'UND_ERR_BODY_TIMEOUT';
    // A keep-alive connection the upstream closed just as we reused it: not the upstream's fault,
    // and nothing reached it, so an idempotent request without a body is sent once more. (undici
    // does not say whether the connection was reused, so a first connection reset before any
    // answer is retried too; a refused connection is not.)
    if (
      (error.code === 'UND_ERR_SOCKET' || error.code === 'ECONNRESET') && !context.retried && context.exchange?.relaying === false &&
      !response.headersSent && SAFE_METHODS.has(req.method ?? '') && !context.hasBody
    ) {
      context.retried = true;
      this.#settleBreaker(context, 'abandoned');
      this.#send(req, response, context);
      return;
    }
    const reason: FailureReason = timedOut ? 'timeout' : 'error';
    this.#settleBreaker(context, 'failed');
    this.#deps.metrics.upstreamError(upstream.upstream.name, reason);
    const failure = reason === 'timeout' ? ProxyErrors.gatewayTimeout(upstream.upstream.name, upstream.upstream.timeoutMs, error) : ProxyErrors.badGateway(upstream.upstream.name, error);
    this.#failed(req, response, context, reason, failure);
  }

  /** The upstream's status and headers: relay them, or drop a 5xx for legacy's answer. False pauses the body. */
  #onUpstreamHeaders(exchange: UpstreamExchange, status: number, rawHeaders: Buffer[], statusText: string): boolean {
    const { req, res, context } = exchange;
    const { upstream } = context;
    // 502/503/504 mean "the service is not working"; a 500 is usually one bad request, and must
    // not let a single broken URL open the circuit for everyone.
    const gatewayFailure = status === 502 || status === 503 || status === 504;
    this.#settleBreaker(context, gatewayFailure ? 'failed' : 'succeeded');
    if (status >= 500) this.#deps.metrics.upstreamError(upstream.upstream.name, `status-${status}`);

    if (status >= 500 && this.#mayFallBack(context)) {
      // Its body is read and dropped (the exchange is stale now), so the connection stays reusable.
      this.#fallBack(req, res, context, `status-${status}`);
      return true;
    }

    const raw: string[] = new Array<string>(rawHeaders.length);
    for (let index = 0; index < rawHeaders.length; index += 1) raw[index] = (rawHeaders[index] as Buffer).toString('latin1');
    const scanned = scanResponseHeaders(raw);
    const headers = scanned.list;
    if (scanned.locationAt !== -1 && REDIRECT_STATUSES.has(status)) rewriteLocation(headers, scanned.locationAt, upstream.upstream.origin, context.host, req);
    this.#addOwnHeaders(headers, context, !scanned.hasRequestId);
    try {
      res.writeHead(status, statusText, headers);
    } catch (error) {
      // A header Node refuses to write must cost this request, not the process. The answer's
      // body is read and dropped by the now stale exchange.
      context.exchange = undefined;
      this.#failed(req, res, context, 'error', ProxyErrors.badGateway(upstream.upstream.name, error));
      return true;
    }
    exchange.relaying = true;
    // Count body bytes for the log line, unless the length was declared.
    const declared = scanned.contentLength;
    if (declared !== undefined && req.method !== 'HEAD') context.bytes = Number(declared);
    else exchange.counted = true;
    // The shadow side is handed the same chunks (bounded copy); it never pauses or alters them.
    // Its headers object is built only when the shadow request is sent, off the shopper's path.
    context.tap?.primaryStart(status, () => parseRawHeaders(rawHeaders));
    return true;
  }

  #mayFallBack(context: RequestContext): boolean {
    return context.canFallback && !context.upstream.isLegacy && context.fallbackReason === undefined;
  }

  #fallBack(req: IncomingMessage, res: ServerResponse, context: RequestContext, reason: FailureReason): void {
    context.fallbackReason = reason;
    context.exchange = undefined;
    context.upstream = context.active.legacy;
    context.retried = false;
    this.#deps.metrics.fallback(context.route.id, reason);
    this.#send(req, res, context);
  }

  #failed(req: IncomingMessage, res: ServerResponse, context: RequestContext, reason: FailureReason, failure: Error & { code?: string; status?: number | undefined }): void {
    context.failure = `${failure.code ?? 'ERROR'}: ${failure.message}`;
    context.tap?.primaryFailed(`primary-${reason}`);
    if (res.headersSent || res.destroyed) {
      // Failed mid-body: the only honest signal left is to cut the connection.
      res.destroy();
      return;
    }
    if (this.#mayFallBack(context)) {
      this.#fallBack(req, res, context, reason);
      return;
    }
    const status = failure.status ?? 502;
    const own: string[] = [];
    this.#addOwnHeaders(own, context, true);
    sendErrorResponse(res, status, context.path, req.headers.accept, context.requestId, own);
  }

  #addOwnHeaders(headers: string[], context: RequestContext, withRequestId: boolean): void {
    if (context.active.table.settings.routeHeaders) headers.push('X-Strangler-Route', context.route.id, 'X-Strangler-Target', context.upstream.upstream.name);
    if (context.fallbackReason !== undefined) headers.push('X-Strangler-Fallback', context.fallbackReason);
    if (withRequestId) headers.push('X-Request-Id', context.requestId);
  }

  #settleBreaker(context: RequestContext, outcome: 'succeeded' | 'failed' | 'abandoned'): void {
    if (!context.breakerPending) return;
    context.breakerPending = false;
    context.upstream.breaker[outcome]();
  }

  #finished(req: IncomingMessage, res: ServerResponse, context: RequestContext): void {
    context.done = true;
    const completed = res.writableFinished;
    if (!completed) {
      // The client went away. Abort the upstream request (undici then closes its connection) so
      // neither the socket nor the response outlives it: http-proxy 1.18 only aborted on the
      // request's 'aborted' event, which Node no longer emits once the request body has been
      // read (http-proxy issue #1586).
      context.exchange?.abort();
      this.#settleBreaker(context, 'abandoned');
      context.tap?.primaryFailed('client-aborted');
    }
    // 499: nginx's "client closed request", so aborted requests stand apart in dashboards;
    // an answer the upstream broke off counts as the 502 it is.
    const status = completed ? res.statusCode : context.failure === undefined ? 499 : 502;
    const ms = performance.now() - context.started;
    const target = context.upstream.upstream.name;
    this.#deps.metrics.request(context.route.id, target, context.route.mode, status, ms / 1000);
    this.#requestLog.write({
        reqId: context.requestId,
        method: req.method,
        path: context.path,
        route: context.route.id,
        target,
        mode: context.route.mode,
        status,
        ms: Math.round(ms * 100) / 100,
        bytes: context.bytes,
        fallback: context.fallbackReason,
        err: context.failure,
    });
  }
}

function noop(): void {}

/** What an UpstreamExchange reports to the Forwarder (one object per Forwarder, not per request). */
interface ExchangeHooks {
  headers(exchange: UpstreamExchange, status: number, rawHeaders: Buffer[], statusText: string): boolean;
  error(exchange: UpstreamExchange, error: Error): void;
}

/**
 * One attempt at one upstream, as undici's dispatch handler in its raw form (onConnect, onHeaders,
 * onData, onComplete, onError): the controller form (onRequestStart, onResponseStart, ...) is
 * adapted to this one by undici for every request, parsing the response headers into an object on
 * the way, which the relay does not need. Body chunks go straight to the shopper's response;
 * returning false pauses undici's parser until the response drains. Once a retry, a fallback or
 * the client's departure has replaced or ended the attempt, it is stale: its callbacks no longer
 * touch the shopper's response, and the rest of its body is read and dropped.
 */
class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly context: RequestContext;
  readonly upstream: UpstreamRuntime;
  /** The upstream's answer is being relayed to the shopper (its headers are written). */
  relaying = false;
  /** Body bytes are counted for the log line (no Content-Length was declared). */
  counted = false;
  /** The connection it went out on, closed for good if the attempt is aborted (see ClientPool). */
  client: Client | undefined = undefined;
  readonly #hooks: ExchangeHooks;
  #abort: ((error?: Error) => void) | undefined = undefined;
  #resume: (() => void) | undefined = undefined;

  constructor(hooks: ExchangeHooks, req: IncomingMessage, res: ServerResponse, context: RequestContext) {
    this.#hooks = hooks;
    this.req = req;
    this.res = res;
    this.context = context;
    this.upstream = context.upstream;
  }

  /** Ends the attempt and closes its connection (one still connecting is never sent). */
  abort(): void {
    this.#abort?.();
    if (this.client !== undefined) this.upstream.client.discard(this.client);
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx (100 Continue, 103 Early Hints) are not relayed: Node's server answered the shopper's
    // Expect itself.
    if (status < 200 || this.#stale()) return true;
    this.#resume = resume;
    return this.#hooks.headers(this, status, rawHeaders, statusText);
  }

  onData(chunk: Buffer): boolean {
    if (!this.relaying || this.#stale()) return true;
    const context = this.context;
    if (this.counted) context.bytes += chunk.length;
    context.tap?.primaryData(chunk);
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.#resume as () => void);
    return false;
  }

  onComplete(): void {
    if (!this.relaying || this.#stale()) return;
    // The tap sends the shadow request once the shopper's answer, ended right after, is written.
    this.context.tap?.primaryEnd();
    this.res.end();
  }

  onError(error: Error): void {
    if (this.#stale()) return;
    if (this.relaying) {
      // Mid-body: the shopper's headers are out, so the connection is cut (here, or for a
      // timeout in #failed, which also counts it).
      if ((error as { code?: string }).code !== 'UND_ERR_BODY_TIMEOUT') {
        this.context.tap?.primaryFailed('primary-incomplete');
        this.context.failure = `PROXY_BAD_GATEWAY: upstream "${this.upstream.upstream.name}" broke off its answer: ${error.message}`;
        this.res.destroy();
        return;
      }
    }
    this.#hooks.error(this, error);
  }

  #stale(): boolean {
    return this.context.exchange !== this || this.context.done;
  }
}

/**
 * The request headers as the upstream receives them, as a flat list: Host first (its value is
 * set per attempt, see #send), the shopper's end-to-end headers, then X-Forwarded-For/-Proto/-Host
 * appended to what an earlier proxy (a load balancer) sent, and X-Request-Id.
 */
function outgoingHeaders(method: string, scanned: ScannedRequestHeaders, req: IncomingMessage, requestId: string): string[] {
  const list = ['host', ''];
  const end = scanned.list;
  for (let index = 0; index < end.length; index += 1) list.push(end[index] as string);
  const remote = req.socket.remoteAddress ?? '';
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  list.push('x-forwarded-for', scanned.forwardedFor ? `${scanned.forwardedFor}, ${remote}` : remote);
  list.push('x-forwarded-proto', scanned.forwardedProto ? `${scanned.forwardedProto}, ${proto}` : proto);
  if (scanned.host !== undefined) list.push('x-forwarded-host', scanned.forwardedHost ? `${scanned.forwardedHost}, ${scanned.host}` : scanned.host);
  list.push('x-request-id', requestId);
  // No body announced: say so for methods that may carry one, as http.request (POST, PUT, PATCH)
  // and http-proxy (DELETE, OPTIONS) did; in list form Node would otherwise frame it as chunked.
  if (!scanned.hasBody && method !== 'GET' && method !== 'HEAD') list.push('content-length', '0');
  return list;
}

/** The outgoing list as a headers object (lower-case names, the shopper's Host), for the shadow side's copy. */
function headersObject(list: readonly string[], host: string | undefined): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = host === undefined ? {} : { host };
  for (let index = 2; index < list.length; index += 2) {
    const name = (list[index] as string).toLowerCase();
    const value = list[index + 1] as string;
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${String(previous)}, ${value}`;
  }
  return headers;
}

/**
 * A request line may carry an absolute URL (RFC 9112 §3.2.2, what clients send to a forward
 * proxy); routes match, and upstreams receive, its path and query only.
 */
function originForm(url: string): string {
  if (url.charCodeAt(0) === 47 /* / */) return url;
  const match = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  if (match === null) return url;
  const rest = url.slice(match[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** X-Forwarded-For/-Proto/-Host on a WebSocket upgrade (which goes through http-proxy). */
function appendForwarded(req: IncomingMessage): void {
  const headers = req.headers;
  const remote = req.socket.remoteAddress ?? '';
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const forwardedFor = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${remote}` : remote;
  const forwardedProto = headers['x-forwarded-proto'];
  headers['x-forwarded-proto'] = forwardedProto ? `${String(forwardedProto)}, ${proto}` : proto;
  const host = headers.host;
  if (host !== undefined) {
    const forwardedHost = headers['x-forwarded-host'];
    headers['x-forwarded-host'] = forwardedHost ? `${String(forwardedHost)}, ${host}` : host;
  }
}

/**
 * A redirect that points back at the upstream's own origin (an extracted service only knows its
 * own address) is rewritten to the origin the shopper used. Redirects anywhere else (a payment
 * provider, say) pass untouched.
 */
function rewriteLocation(headers: string[], at: number, upstreamOrigin: string, host: string | undefined, req: IncomingMessage): void {
  if (host === undefined) return;
  const location = headers[at] as string;
  const next = location.charAt(upstreamOrigin.length);
  if (location.startsWith(upstreamOrigin) && (next === '' || next === '/' || next === '?' || next === '#')) {
    const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    headers[at] = `${proto}://${host}${location.slice(upstreamOrigin.length)}`;
  }
}
