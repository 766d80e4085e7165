import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../platform/logger.ts';
import type { Upstream } from '../routes/upstream.ts';
import { BodyCapture, type CapturedResponse } from './captured-response.ts';
import type { Diff } from './diff.ts';
import { NoiseCalibration } from './noise-calibration.ts';
import { dataLsn, type ReplicationWatermark } from './replication-watermark.ts';
import { ShadowClient, shadowTarget, type ShadowRequest, type ShadowResult, type ShadowTarget } from './shadow-client.ts';
import { compareResponses, sameAnswer, type ShadowComparison } from './shadow-comparison.ts';
import type { ShadowMetrics } from './shadow-metrics.ts';
import { redactDiffs, redactHeaders, sideRecord } from './shadow-redaction.ts';
import type { ComparisonOutcome, MismatchRecord, ShadowReport } from './shadow-report.ts';
import type { ShadowRules } from './shadow-rules.ts';

export { SHADOW_HEADER } from './shadow-client.ts';

/**
 * The shadow side of the proxy. For a sampled request on a `mode: shadow` route it sends the same
 * request to the other upstream, keeps bounded copies of both answers, compares them, re-asks
 * when a CDC-fed service may just be behind, and records a verdict. Nothing here is on the
 * shopper's path: the forwarder only hands over the request and tees the primary's body chunks;
 * every failure in here ends as a counted verdict, never as an exception in the forwarder.
 */
export interface ShadowMirrorDeps {
  readonly report: ShadowReport;
  readonly logger: Logger;
  readonly metrics?: ShadowMetrics;
  /** The legacy's WAL position (from the CDC bridge) for replication-aware rechecks. */
  readonly watermark?: ReplicationWatermark;
  readonly random?: () => number;
  /** Called after each recorded verdict (the journal marks itself dirty). */
  readonly onOutcome?: (routeId: string, outcome: ComparisonOutcome) => void;
}

export interface ShadowRoute {
  readonly id: string;
  readonly rules: ShadowRules;
  /** Who answers the shopper. */
  readonly primary: Upstream;
  /** Who is asked on the side. */
  readonly shadow: Upstream;
}

/** What the forwarder calls for one mirrored request. */
export interface ShadowTap {
  /** The primary's response has started; the tap listens to its body (bounded copy). */
  primaryResponse(response: IncomingMessage): void;
  /** The primary failed (or the client left) before a whole answer: nothing to compare. */
  primaryFailed(reason: string): void;
  /**
   * The same as primaryResponse, pushed instead of listened to, for a forwarder that reads the
   * primary's answer without an IncomingMessage (no emitter, no listeners): the status and
   * headers once, then each body chunk, then the end (an answer cut off before its end is
   * reported with primaryFailed). Headers may be given as a function: it is called only when the
   * shadow request is sent, off the shopper's path.
   */
  primaryStart(status: number, headers: IncomingHttpHeaders | (() => IncomingHttpHeaders)): void;
  primaryData(chunk: Buffer): void;
  primaryEnd(): void;
}

type AskedRequest = ShadowRequest;

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export class ShadowMirror {
  readonly #deps: ShadowMirrorDeps;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #client = new ShadowClient();
  readonly #targets = new WeakMap<Upstream, ShadowTarget>();
  readonly #inFlight = new Map<string, number>();
  readonly #rechecking = new Map<string, number>();
  readonly #calibrations = new Map<string, NoiseCalibration>();
  #pending = 0;
  /** Mirrored requests whose primary answered this loop turn: sent together in one setImmediate (see sendSoon). */
  #sendQueue: MirroredRequest[] = [];
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(deps: ShadowMirrorDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
    this.#log = deps.logger;
  }

  /**
   * Called by the forwarder once the request is routed, with the headers as the primary is asked
   * (hop-by-hop dropped, X-Forwarded-* and X-Request-Id added; `req.headers` when not given),
   * or a function that builds them: called only when the shadow request is sent, off the
   * shopper's path (then say `hasBody`: whether the request has a body to copy).
   * Returns a tap, or undefined when this request is not mirrored (not sampled, unsafe, over the limit).
   */
  begin(route: ShadowRoute, req: IncomingMessage, headers: IncomingHttpHeaders | (() => IncomingHttpHeaders) = req.headers, hasBody?: boolean): ShadowTap | undefined {
    const { rules } = route;
    if (this.#closed || rules.sampleRate <= 0 || (rules.sampleRate < 1 && this.#random() >= rules.sampleRate)) return undefined;
    const method = req.method ?? 'GET';
    if (!SAFE_METHODS.has(method) && rules.unsafe !== 'mirror') {
      this.#record(route, { verdict: 'skipped', reason: 'unsafe-method' });
      return undefined;
    }
    const inFlight = this.#inFlight.get(route.id) ?? 0;
    if (inFlight >= rules.maxConcurrent) {
      this.#record(route, { verdict: 'skipped', reason: 'max-concurrent' });
      return undefined;
    }
    this.#setInFlight(route.id, inFlight + 1);
    this.#pending++;
    return new MirroredRequest(this, route, req, headers, hasBody);
  }

  /** Resolves when every mirrored request so far has its verdict (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The learned noise of a route (noise: auto), for the report. */
  calibration(route: ShadowRoute): NoiseCalibration | undefined {
    if (route.rules.noise !== 'auto') return undefined;
    let calibration = this.#calibrations.get(route.id);
    if (!calibration) {
      const report = this.#deps.report.route(route.id, route.rules.keepMismatches);
      calibration = new NoiseCalibration(route.rules.noiseSamples, report.noise());
      const learned = calibration;
      report.noise = () => learned.list();
      this.#calibrations.set(route.id, calibration);
    }
    return calibration;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#client.close();
  }

  /** Sends a request to an upstream on the shadow side's own connection pools, bounded copy of the answer. */
  ask(upstream: Upstream, asked: AskedRequest, rules: ShadowRules): Promise<ShadowResult> {
    return this.#client.ask(this.#target(upstream), asked, rules.maxBodyBytes, rules.timeoutMs);
  }

  /**
   * Sends `request` in the next check phase, together with every other mirrored request whose
   * primary answered in this loop turn: one setImmediate per turn instead of one per request.
   */
  sendSoon(request: MirroredRequest): void {
    if (this.#sendQueue.push(request) === 1) setImmediate(sendQueued, this);
  }

  /** Sends the queued mirrored requests (sendSoon's setImmediate). */
  sendQueued(): void {
    const queue = this.#sendQueue;
    this.#sendQueue = [];
    for (const request of queue) request.send();
  }

  /** A mirrored request's own send, with a callback: no promise on the hot path. */
  send(upstream: Upstream, asked: AskedRequest, rules: ShadowRules, done: (result: ShadowResult) => void): void {
    this.#client.send(this.#target(upstream), asked, rules.maxBodyBytes, rules.timeoutMs, done);
  }

  #target(upstream: Upstream): ShadowTarget {
    let target = this.#targets.get(upstream);
    if (target === undefined) {
      target = shadowTarget(upstream);
      this.#targets.set(upstream, target);
    }
    return target;
  }

  /**
   * The common verdicts decided at once, without a promise or a parse: the shadow failed, or both
   * answers are the same bytes with the same status and compared headers (a match, whatever the
   * rules). False when the full judgement is needed (a difference, an oversize body, a
   * calibration sample still to take).
   */
  judgeQuickly(route: ShadowRoute, primary: CapturedResponse, shadow: ShadowResult): boolean {
    if (!shadow.ok) {
      this.#record(route, { verdict: 'error', reason: shadow.reason, primaryMs: primary.ms });
      return true;
    }
    if (route.rules.noise === 'auto' && this.#calibrations.get(route.id)?.done !== true) return false;
    if (!sameAnswer(primary, shadow.response, route.rules)) return false;
    this.#record(route, { verdict: 'match', primaryMs: primary.ms, shadowMs: shadow.response.ms });
    return true;
  }

  /** Compares, re-asks where replication lag may explain a difference, and records the verdict. */
  async judge(route: ShadowRoute, asked: AskedRequest, primary: CapturedResponse, shadow: ShadowResult): Promise<void> {
    const { rules } = route;
    if (!shadow.ok) {
      this.#record(route, { verdict: 'error', reason: shadow.reason, primaryMs: primary.ms });
      return;
    }
    const shadowMs = shadow.response.ms;
    const times = { primaryMs: primary.ms, shadowMs };
    if ((primary.body === null || shadow.response.body === null) && rules.oversize === 'skip') {
      this.#record(route, { verdict: 'skipped', reason: 'oversize', ...times });
      return;
    }
    const safe = SAFE_METHODS.has(asked.method);
    const calibration = safe ? this.calibration(route) : undefined;
    if (calibration?.reserve()) {
      const again = await this.ask(route.primary, asked, rules);
      if (again.ok) {
        const learned = calibration.learn(primary, again.response, rules);
        if (learned.length > 0) {
          this.#log.info({ route: route.id, paths: learned }, 'shadow: learned noise (fields that differ between two answers of the primary)');
          this.#deps.metrics?.noisePaths(route.id, calibration.list().length);
        }
      } else calibration.abandon();
    }
    const noise = calibration?.patterns ?? [];
    const first = compareResponses(primary, shadow.response, rules, noise);
    if (first.equal) {
      this.#record(route, { verdict: 'match', ...times });
      return;
    }
    if (!safe) {
      this.#mismatch(route, asked, primary, shadow.response, first, 1, times, 'unsafe method: not re-asked');
      return;
    }
    const recheck = await this.#recheck(route, asked, primary, shadow.response, noise);
    if (recheck === 'busy') this.#record(route, { verdict: 'skipped', reason: 'recheck-limit', ...times });
    else if (recheck === undefined) this.#mismatch(route, asked, primary, shadow.response, first, 1, times);
    else if (recheck.comparison.equal) this.#record(route, { verdict: 'converged', ...times });
    else this.#mismatch(route, asked, recheck.primary, recheck.shadow, recheck.comparison, recheck.attempts, times, recheck.note);
  }

  /**
   * Replication-aware recheck. With X-Data-Lsn on the service's answer: read the legacy's WAL
   * position from the bridge, re-ask the service until its applied LSN reaches it (comparing each
   * newer answer with the legacy's original one: equal means the difference was lag), then re-ask
   * both sides once more. Without an LSN: wait `recheckAfterMs` and re-ask both. Neither: no recheck.
   */
  async #recheck(route: ShadowRoute, asked: AskedRequest, primary: CapturedResponse, shadow: CapturedResponse, noise: ShadowComparisonNoise): Promise<Recheck | 'busy' | undefined> {
    const { rules } = route;
    const serviceIsShadow = route.shadow.name !== 'legacy';
    const service = serviceIsShadow ? route.shadow : route.primary;
    const startLsn = dataLsn((serviceIsShadow ? shadow : primary).headers);
    if (startLsn === null && rules.recheckAfterMs === undefined) return undefined;
    const busy = this.#rechecking.get(route.id) ?? 0;
    if (busy >= rules.maxConcurrent) return 'busy';
    this.#rechecking.set(route.id, busy + 1);
    try {
      let attempts = 1;
      let note: string;
      if (startLsn !== null) {
        let watermark = (await this.#deps.watermark?.()) ?? null;
        const deadline = performance.now() + rules.lsnWaitMs;
        let seen = startLsn;
        let delay = 10;
        while (!this.#closed && performance.now() < deadline) {
          if (watermark !== null && !seen.isBefore(watermark)) {
            // Caught up with the position read earlier; the legacy's commit may have reached the
            // bridge only after that read, so ask again and stop only when nothing newer is there.
            const next = (await this.#deps.watermark?.()) ?? null;
            if (next === null || !seen.isBefore(next)) break;
            watermark = next;
          }
          await sleep(Math.min(delay, Math.max(1, deadline - performance.now())));
          delay = Math.min(delay * 2, 200);
          const fresh = await this.ask(service, asked, rules);
          attempts++;
          if (!fresh.ok) continue;
          const lsn = dataLsn(fresh.response.headers);
          if (lsn === null || !lsn.isAfter(seen)) continue;
          seen = lsn;
          // The legacy's original answer against the service's newer one: equal means it was lag.
          const [a, b] = serviceIsShadow ? [primary, fresh.response] : [fresh.response, shadow];
          const comparison = compareResponses(a, b, rules, noise);
          if (comparison.equal) return { comparison, primary: a, shadow: b, attempts, note: `converged at LSN ${lsn.toString()}` };
        }
        note =
          watermark === null
            ? `no legacy WAL position known (CDC bridge unreachable or not configured); waited up to ${rules.lsnWaitMs} ms for X-Data-Lsn to move (last ${seen.toString()})`
            : seen.isBefore(watermark)
              ? `service stayed at LSN ${seen.toString()} below the legacy's ${watermark.toString()} for ${rules.lsnWaitMs} ms`
              : `service reached LSN ${seen.toString()} ≥ legacy's ${watermark.toString()}`;
      } else {
        await sleep(rules.recheckAfterMs ?? 0);
        note = `re-asked after ${rules.recheckAfterMs} ms`;
      }
      const [again, shadowAgain] = await Promise.all([this.ask(route.primary, asked, rules), this.ask(route.shadow, asked, rules)]);
      attempts++;
      if (!again.ok || !shadowAgain.ok) return { comparison: compareResponses(primary, shadow, rules, noise), primary, shadow, attempts, note: `${note}; the recheck failed` };
      return { comparison: compareResponses(again.response, shadowAgain.response, rules, noise), primary: again.response, shadow: shadowAgain.response, attempts, note };
    } finally {
      this.#rechecking.set(route.id, (this.#rechecking.get(route.id) ?? 1) - 1);
    }
  }

  #mismatch(route: ShadowRoute, asked: AskedRequest, primary: CapturedResponse, shadow: CapturedResponse, comparison: ShadowComparison, attempts: number, times: { primaryMs: number; shadowMs: number }, note?: string): void {
    const { rules } = route;
    const diffs: readonly Diff[] = redactDiffs(comparison.diffs, rules.redact);
    const record: MismatchRecord = {
      at: new Date().toISOString(),
      routeId: route.id,
      request: { method: asked.method, url: asked.url, headers: redactHeaders(asked.headers) },
      primary: sideRecord(primary, rules),
      shadow: sideRecord(shadow, rules),
      diffs,
      attempts,
      ...(note === undefined ? {} : { note }),
    };
    this.#record(route, { verdict: 'mismatch', diffs, mismatch: record, ...times });
  }

  #record(route: ShadowRoute, outcome: ComparisonOutcome): void {
    this.#deps.report.record(route.id, outcome, route.rules.keepMismatches);
    this.#deps.metrics?.verdict(route.id, outcome.verdict);
    if (outcome.primaryMs !== undefined) this.#deps.metrics?.duration(route.id, 'primary', outcome.primaryMs);
    if (outcome.shadowMs !== undefined) this.#deps.metrics?.duration(route.id, 'shadow', outcome.shadowMs);
    this.#deps.onOutcome?.(route.id, outcome);
  }

  /** Called by a MirroredRequest when its shadow request is over (the slot frees). */
  released(routeId: string): void {
    this.#setInFlight(routeId, (this.#inFlight.get(routeId) ?? 1) - 1);
  }

  /** Called by a MirroredRequest once its verdict is recorded. */
  settled(): void {
    this.#pending--;
    if (this.#pending > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  recordSkip(route: ShadowRoute, reason: string): void {
    this.#record(route, { verdict: 'skipped', reason });
  }

  logFailure(route: ShadowRoute, error: unknown): void {
    this.#log.error({ route: route.id, err: error instanceof Error ? error.stack : String(error) }, 'shadow comparison failed (the shopper was not affected)');
    this.#record(route, { verdict: 'error', reason: 'internal' });
  }

  #setInFlight(routeId: string, count: number): void {
    this.#inFlight.set(routeId, count);
    this.#deps.metrics?.inFlight(routeId, count);
  }
}

type ShadowComparisonNoise = Parameters<typeof compareResponses>[3];

interface Recheck {
  readonly comparison: ShadowComparison;
  readonly primary: CapturedResponse;
  readonly shadow: CapturedResponse;
  readonly attempts: number;
  readonly note: string;
}

/**
 * One mirrored request: the primary's bounded copy and, once the primary's answer is complete
 * (and so already handed to the shopper), the shadow request. Asking the shadow only then keeps
 * its send, its answer's parsing and the comparison out of the shopper's own round trip: asked
 * at the same time, a target as fast as the legacy answered at the same moment, and the event
 * loop handled its answer before or between the primary's (bench:shadow). The shadow therefore
 * sees the request one primary round trip later, which a replication-aware verdict tolerates.
 */
class MirroredRequest implements ShadowTap {
  readonly #mirror: ShadowMirror;
  readonly #route: ShadowRoute;
  readonly #started = performance.now();
  readonly #method: string;
  readonly #url: string;
  readonly #headers: IncomingHttpHeaders | (() => IncomingHttpHeaders);
  /** The request body copy (undefined: no body; null: still arriving). */
  #body: Buffer | undefined | null;
  #asked: AskedRequest | undefined;
  #primary: CapturedResponse | undefined | null;
  #result: ShadowResult | undefined;
  /** The primary's answer while it arrives. */
  #capture: BodyCapture | undefined;
  #status = 0;
  #primaryHeaders: IncomingHttpHeaders | (() => IncomingHttpHeaders) | undefined;
  #done = false;

  constructor(mirror: ShadowMirror, route: ShadowRoute, req: IncomingMessage, asked: IncomingHttpHeaders | (() => IncomingHttpHeaders), announced: boolean | undefined) {
    this.#mirror = mirror;
    this.#route = route;
    this.#method = req.method ?? 'GET';
    this.#url = req.url ?? '/';
    this.#headers = asked;
    const probe = typeof asked === 'function' ? req.headers : asked;
    const hasBody = announced ?? ((probe['content-length'] !== undefined && probe['content-length'] !== '0') || probe['transfer-encoding'] !== undefined);
    if (!hasBody) return;
    // A body (only with `unsafe: mirror`, or a GET with a body): copy it as the primary reads it.
    this.#body = null;
    const capture = new BodyCapture(route.rules.maxBodyBytes);
    req.on('data', (chunk: Buffer) => capture.add(chunk));
    req.once('end', () => {
      const copied = capture.finish(0, {}, 0);
      if (copied.body === null) this.#skip('request-oversize');
      else {
        this.#body = copied.body;
        this.send();
      }
    });
    req.once('aborted', () => this.#skip('client-aborted'));
  }

  primaryResponse(response: IncomingMessage): void {
    if (this.#done) return;
    // IncomingMessage builds its headers object on first read: read it only when the shadow
    // request is sent, after the shopper's answer.
    this.primaryStart(response.statusCode ?? 0, () => response.headers);
    response.on('data', (chunk: Buffer) => this.primaryData(chunk));
    // The forwarder ends the shopper's response on this same 'end' (its listener comes after
    // this one). 'end' and 'close' come once each: on() spares once()'s wrapper.
    response.on('end', () => this.primaryEnd());
    response.on('close', () => {
      if (this.#primary === undefined) this.primaryFailed('primary-incomplete');
    });
  }

  primaryStart(status: number, headers: IncomingHttpHeaders | (() => IncomingHttpHeaders)): void {
    if (this.#done) return;
    this.#status = status;
    this.#primaryHeaders = headers;
    this.#capture = new BodyCapture(this.#route.rules.maxBodyBytes);
  }

  primaryData(chunk: Buffer): void {
    this.#capture?.add(chunk);
  }

  primaryEnd(): void {
    const capture = this.#capture;
    if (this.#done || capture === undefined || this.#primary !== undefined) return;
    this.#capture = undefined;
    const headers = this.#primaryHeaders;
    this.#primary = capture.finish(this.#status, typeof headers === 'object' ? headers : NO_HEADERS, performance.now() - this.#started);
    // The shopper's answer is ended by the caller right after: the shadow request goes out once
    // that write is done and pending I/O is served.
    this.#mirror.sendSoon(this);
  }

  primaryFailed(reason: string): void {
    if (this.#primary !== undefined || this.#done) return;
    this.#primary = null;
    this.#skip(reason);
  }

  /** Sends the shadow request once the primary's answer and the request body are both complete. */
  send(): void {
    // The primary failed or the client left (and the slot was freed), or the request body or the
    // primary's answer is not complete yet.
    if (this.#done || !this.#primary || this.#body === null) return;
    this.#done = true;
    if (typeof this.#primaryHeaders === 'function') this.#primary = Object.freeze({ ...this.#primary, headers: this.#primaryHeaders() });
    const headers = typeof this.#headers === 'function' ? this.#headers() : this.#headers;
    this.#asked = { method: this.#method, url: this.#url, headers, body: this.#body };
    this.#mirror.send(this.#route.shadow, this.#asked, this.#route.rules, (result) => {
      this.#mirror.released(this.#route.id);
      this.#result = result;
      // Comparing waits for pending I/O, so shoppers' callbacks go first.
      setImmediate(judgeLater, this);
    });
  }

  judge(): void {
    const primary = this.#primary as CapturedResponse;
    const result = this.#result as ShadowResult;
    try {
      if (this.#mirror.judgeQuickly(this.#route, primary, result)) {
        this.#mirror.settled();
        return;
      }
    } catch (error) {
      this.#mirror.logFailure(this.#route, error);
      this.#mirror.settled();
      return;
    }
    this.#mirror
      .judge(this.#route, this.#asked as AskedRequest, primary, result)
      .catch((error: unknown) => this.#mirror.logFailure(this.#route, error))
      .finally(() => this.#mirror.settled());
  }

  #skip(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#mirror.released(this.#route.id);
    this.#mirror.recordSkip(this.#route, reason);
    this.#mirror.settled();
  }
}

const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});

function sendQueued(mirror: ShadowMirror): void {
  mirror.sendQueued();
}

function judgeLater(request: MirroredRequest): void {
  request.judge();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
