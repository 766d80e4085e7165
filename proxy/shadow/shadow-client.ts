import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool, util, type Dispatcher } from 'undici';
import type { Upstream } from '../routes/upstream.ts';
import { BodyCapture, type CapturedResponse } from './captured-response.ts';

/**
 * The shadow side's HTTP client: one undici Pool per upstream origin, its own (a slow shadow
 * target never takes a connection the shopper's requests would use), asked through `dispatch`
 * with a handler object, the cheapest way undici offers: no stream, no promise, no closure per
 * request, raw headers parsed only into the few fields the comparison reads. On bench:shadow this
 * cost the proxy's event loop less than node:http's ClientRequest/IncomingMessage pair did.
 */
export interface ShadowRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer | undefined;
}

/** Where a shadow request goes: what the client needs of an Upstream, computed once per Upstream (URL getters are not free). */
export interface ShadowTarget {
  readonly name: string;
  readonly origin: string;
  /** The upstream URL's path without its trailing slash ('' for '/'), put before the request's. */
  readonly basePath: string;
}

export function shadowTarget(upstream: Upstream): ShadowTarget {
  const path = upstream.url.pathname;
  return { name: upstream.name, origin: upstream.url.origin, basePath: path === '/' ? '' : path.replace(/\/$/, '') };
}

export type ShadowResult = { ok: true; response: CapturedResponse } | { ok: false; reason: 'timeout' | 'error'; message: string };

export const SHADOW_HEADER = 'x-strangler-shadow';

/** Request headers undici refuses (it frames the message itself) or that must not be repeated. */
const DROPPED: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'content-length', SHADOW_HEADER]);

export class ShadowClient {
  readonly #pools = new Map<string, Pool>();
  #closed = false;

  /** Sends `asked` to `target`; `done` is called exactly once (synchronously when undici refuses the request outright). */
  send(target: ShadowTarget, asked: ShadowRequest, maxBodyBytes: number, timeoutMs: number, done: (result: ShadowResult) => void): void {
    if (this.#closed) {
      done({ ok: false, reason: 'error', message: 'proxy closing' });
      return;
    }
    const headers: string[] = [];
    // Legacy builds absolute URLs from Host, so it sees the shopper's; a service is addressed by its own (undici's default).
    const keepHost = target.name === 'legacy';
    for (const name in asked.headers) {
      const value = asked.headers[name];
      if (value === undefined || DROPPED.has(name) || (name === 'host' && !keepHost)) continue;
      headers.push(name, Array.isArray(value) ? value.join(', ') : value);
    }
    headers.push(SHADOW_HEADER, '1');
    const call = new ShadowCall(maxBodyBytes, timeoutMs, done);
    this.#pool(target.origin).dispatch({ path: target.basePath + asked.url, method: asked.method, headers, body: asked.body ?? null }, call);
  }

  /** The same as a promise (rechecks and calibration, off the hot path). */
  ask(target: ShadowTarget, asked: ShadowRequest, maxBodyBytes: number, timeoutMs: number): Promise<ShadowResult> {
    return new Promise((resolve) => this.send(target, asked, maxBodyBytes, timeoutMs, resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      // Connections unbounded here: the route's maxConcurrent bounds the shadow requests in flight.
      // Kept alive as long as the target allows (its keep-alive hint), so a steady rate reuses them.
      pool = new Pool(origin, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
      this.#pools.set(origin, pool);
    }
    return pool;
  }
}

/** One shadow request's undici handler (the legacy handler interface: undici's own, no adapter in between). */
class ShadowCall implements Dispatcher.DispatchHandler {
  readonly #capture: BodyCapture;
  readonly #started = performance.now();
  readonly #timeoutMs: number;
  readonly #done: (result: ShadowResult) => void;
  readonly #timer: NodeJS.Timeout;
  #abort: ((error?: Error) => void) | undefined;
  #status = 0;
  #rawHeaders: Buffer[] = [];
  #timedOut = false;
  #settled = false;

  constructor(maxBodyBytes: number, timeoutMs: number, done: (result: ShadowResult) => void) {
    this.#capture = new BodyCapture(maxBodyBytes);
    this.#timeoutMs = timeoutMs;
    this.#done = done;
    this.#timer = setTimeout(timeOut, timeoutMs, this);
  }

  /** The whole answer took longer than timeoutMs (undici's own timeouts measure phases, not the total). */
  expire(): void {
    this.#timedOut = true;
    const error = new Error(`no answer within ${this.#timeoutMs} ms`);
    if (this.#abort) this.#abort(error);
    else this.#finish({ ok: false, reason: 'timeout', message: error.message });
  }

  onConnect(abort: (error?: Error) => void): void {
    // Timed out while still waiting for a connection: abort as soon as it has one.
    if (this.#settled) abort(new Error('shadow request no longer wanted'));
    else this.#abort = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    this.#status = status;
    this.#rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#capture.add(chunk);
    return true;
  }

  onComplete(): void {
    this.#finish({ ok: true, response: this.#capture.finish(this.#status, parseRawHeaders(this.#rawHeaders), performance.now() - this.#started) });
  }

  onError(error: Error): void {
    const timedOut = this.#timedOut || (error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT' || (error as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT';
    this.#finish({ ok: false, reason: timedOut ? 'timeout' : 'error', message: error.message });
  }

  #finish(result: ShadowResult): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#done(result);
  }
}

function timeOut(call: ShadowCall): void {
  call.expire();
}

/** Raw header pairs as Node's IncomingMessage would present them: lower-case names, repeats joined (set-cookie kept as a list). */
export function parseRawHeaders(raw: readonly Buffer[]): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (let index = 0; index + 1 < raw.length; index += 2) {
    // Well-known names come from undici's table, already lower-case, without a string built per header.
    const name = util.headerNameToString(raw[index] as Buffer);
    const value = (raw[index + 1] as Buffer).toString('latin1');
    const previous = headers[name];
    if (previous === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(previous)) previous.push(value);
    else headers[name] = `${previous}, ${value}`;
  }
  return headers;
}
