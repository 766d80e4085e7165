import { pino } from 'pino';
import type { Logger } from '../../platform/logger.ts';

/** What one request line says (issue 3: route, target, mode, status, duration, bytes, request id). */
export interface RequestLine {
  readonly reqId: string;
  readonly method: string | undefined;
  readonly path: string;
  readonly route: string;
  readonly target: string;
  readonly mode: string;
  readonly status: number;
  readonly ms: number;
  readonly bytes: number;
  readonly fallback: string | undefined;
  readonly err: string | undefined;
}

const symbols = pino.symbols as unknown as Record<string, symbol>;
type PinoInternals = Record<symbol, unknown>;

/**
 * The per-request log line. Written by pino in pino's own format, but serialised here: the line
 * is a fixed set of scalars (never headers or cookies, so redaction has nothing to find), and
 * pino's generic object walk was a tenth of the proxy's per-request CPU under load (--cpu-prof).
 * The level check, the time, the bindings (pid, name, component) and the destination stream are
 * pino's; a logger configured beyond what this file reproduces (a mixin, another message key, a
 * nested key, a stream write hook, a multistream) gets the ordinary `logger.info()` call instead.
 *
 * Lines are handed to the stream in batches (up to `BATCH_CHARS`, and at most `flushMs` late —
 * as late as pino's own buffered destination keeps them): sonic-boom measures the byte length of
 * its whole pending buffer on every write, which made one line cost ~5 KB of garbage under load.
 * `flush()` hands over what is pending (the forwarder calls it when the proxy closes). Lines
 * written by other components meanwhile may therefore precede request lines of the same
 * second; every line carries its own time.
 */
export class RequestLog {
  readonly #logger: Logger;
  readonly #fast: boolean;
  readonly #flushMs: number;
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  /** pino's time function (`,"time":<epoch ms>` by default), bound once. */
  readonly #time: () => string;

  constructor(logger: Logger, options: { flushMs?: number } = {}) {
    this.#flushMs = options.flushMs ?? 1000;
    // A child without redaction: the line carries no secret (see above).
    this.#logger = logger.child({}, { redact: { paths: [] } });
    const internals = this.#logger as unknown as PinoInternals;
    const hooks = internals[symbols.hooksSym as symbol] as { streamWrite?: unknown } | undefined;
    const stream = internals[symbols.streamSym as symbol] as Record<symbol, unknown> | undefined;
    this.#fast =
      internals[symbols.mixinSym as symbol] === undefined &&
      internals[symbols.messageKeySym as symbol] === 'msg' &&
      !internals[symbols.nestedKeySym as symbol] &&
      !internals[symbols.msgPrefixSym as symbol] &&
      hooks?.streamWrite === undefined &&
      typeof (internals[symbols.timeSym as symbol]) === 'function' &&
      typeof (internals[symbols.lsCacheSym as symbol] as Record<number, string> | undefined)?.[30] === 'string' &&
      typeof internals[symbols.chindingsSym as symbol] === 'string' &&
      typeof internals[symbols.endSym as symbol] === 'string' &&
      stream !== undefined && typeof (stream as { write?: unknown }).write === 'function' &&
      stream[symbols.needsMetadataGsym as symbol] !== true;
    const time = internals[symbols.timeSym as symbol];
    this.#time = typeof time === 'function' ? (time as () => string) : () => '';
  }

  write(line: RequestLine): void {
    const logger = this.#logger;
    if (!logger.isLevelEnabled('info')) return;
    if (!this.#fast) {
      logger.info({ ...line }, 'request');
      return;
    }
    const internals = logger as unknown as PinoInternals;
    // Strings a client controls (request id, path, method) go through JSON.stringify; the rest
    // come from the validated route table and are stringified too, for the odd character. The
    // level, bindings and line end are read per line: a child's are fixed, but cheap to read.
    let text = `${(internals[symbols.lsCacheSym as symbol] as Record<number, string>)[30]}${this.#time()}${internals[symbols.chindingsSym as symbol] as string}`;
    text += `,"reqId":${JSON.stringify(line.reqId)}`;
    if (line.method !== undefined) text += `,"method":${JSON.stringify(line.method)}`;
    text += `,"path":${JSON.stringify(line.path)},"route":${JSON.stringify(line.route)},"target":${JSON.stringify(line.target)},"mode":${JSON.stringify(line.mode)},"status":${line.status},"ms":${line.ms},"bytes":${Number.isFinite(line.bytes) ? line.bytes : null}`;
    if (line.fallback !== undefined) text += `,"fallback":${JSON.stringify(line.fallback)}`;
    if (line.err !== undefined) text += `,"err":${JSON.stringify(line.err)}`;
    text += `,"msg":"request"${internals[symbols.endSym as symbol] as string}`;
    this.#pending += text;
    if (this.#pending.length >= BATCH_CHARS) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.flush, this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Hands the pending lines to the logger's stream in one write. */
  readonly flush = (): void => {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    ((this.#logger as unknown as PinoInternals)[symbols.streamSym as symbol] as { write(text: string): void }).write(text);
  };
}

/** About 30 request lines: one stream write (and one byte-length pass over it) per batch. */
const BATCH_CHARS = 8192;
