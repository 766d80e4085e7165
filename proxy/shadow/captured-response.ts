import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * What the shadow side keeps of one answer: status, headers and either the body (up to
 * maxBodyBytes) or, past that, only its size and sha256. The copy never grows beyond the limit,
 * whatever the upstream sends.
 */
export interface CapturedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The whole body, or null when it was larger than the limit. */
  readonly body: Buffer | null;
  readonly bodyBytes: number;
  /** sha256 (hex) of the whole body, present only for an oversize body. */
  readonly hash: string | undefined;
  /** Time to the end of the body, milliseconds. */
  readonly ms: number;
}

export class BodyCapture {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #hash: Hash | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#hash) {
      this.#hash.update(chunk);
      return;
    }
    if (this.#bytes <= this.#limit) {
      this.#chunks.push(chunk);
      return;
    }
    // Past the limit: fold what we held into a hash and keep only the hash from now on.
    this.#hash = createHash('sha256');
    for (const held of this.#chunks) this.#hash.update(held);
    this.#hash.update(chunk);
    this.#chunks = [];
  }

  get bytes(): number {
    return this.#bytes;
  }

  finish(status: number, headers: IncomingHttpHeaders, ms: number): CapturedResponse {
    const oversize = this.#hash !== undefined;
    return Object.freeze({
      status,
      headers,
      body: oversize ? null : this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks),
      bodyBytes: this.#bytes,
      hash: this.#hash?.digest('hex'),
      ms,
    });
  }
}

/** For tests and for building a CapturedResponse from a whole body at once. */
export function captureWhole(status: number, headers: IncomingHttpHeaders, body: string | Buffer, limit: number, ms = 0): CapturedResponse {
  const capture = new BodyCapture(limit);
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  if (buffer.length > 0) capture.add(buffer);
  return capture.finish(status, headers, ms);
}
