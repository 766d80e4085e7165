import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nock from 'nock';

/**
 * Elasticsearch 8 request/response pairs kept as JSON (recordings/*.json), replayed with nock.
 * A recorded request body is a SUBSET the real one must contain (action lines of a bulk in
 * full, the identifying fields of each source), so a recording stays readable while still
 * pinning what matters: index, ids, versions, version_type, query, sort, paging.
 * Every request must also carry the 8.x compatibility headers (see ES8_JSON).
 */
export interface RecordedExchange {
  note?: string;
  request: {
    method: 'GET' | 'POST' | 'PUT' | 'HEAD' | 'DELETE';
    path: string;
    body?: unknown;
    /** For _bulk: one entry per NDJSON line. */
    ndjson?: unknown[];
  };
  response: { status: number; headers?: Record<string, string>; body?: unknown };
}

export interface Recording {
  /** Where the shapes come from (Elasticsearch docs, the client's test fixtures). */
  source: string;
  exchanges: RecordedExchange[];
}

// Spelled out here rather than imported from the store, so a change of the store's headers shows.
const ES8_JSON = 'application/vnd.elasticsearch+json; compatible-with=8';
const ES8_NDJSON = 'application/vnd.elasticsearch+x-ndjson; compatible-with=8';

const RECORDINGS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'recordings');

export function loadRecording(name: string): Recording {
  return JSON.parse(readFileSync(path.join(RECORDINGS, `${name}.json`), 'utf8')) as Recording;
}

/** ES 8 answers every request with these (x-elastic-product is what the client's product check reads). */
const SERVER_HEADERS = { 'x-elastic-product': 'Elasticsearch', 'content-type': 'application/vnd.elasticsearch+json;compatible-with=8' };

/** Registers the exchanges, in order, on `baseUrl`; answers the nock scope (check `isDone()`). */
export function replayRecording(baseUrl: string, recording: Recording): nock.Scope {
  let scope = nock(baseUrl);
  for (const exchange of recording.exchanges) {
    const { request, response } = exchange;
    const matcher = (body: unknown): boolean => {
      if (request.ndjson) return ndjsonMatches(request.ndjson, body);
      if (request.body !== undefined) return contains(typeof body === 'string' ? JSON.parse(body) : body, request.body);
      return true;
    };
    let interceptor = scope.intercept(request.path, request.method, request.body !== undefined || request.ndjson ? matcher : undefined).query(true);
    interceptor = interceptor.matchHeader('accept', ES8_JSON);
    if (request.ndjson) interceptor = interceptor.matchHeader('content-type', ES8_NDJSON);
    else if (request.body !== undefined) interceptor = interceptor.matchHeader('content-type', ES8_JSON);
    scope = interceptor.reply(response.status, response.body === undefined ? '' : JSON.stringify(response.body), {
      ...SERVER_HEADERS,
      ...(response.headers ?? {}),
    });
  }
  return scope;
}

function ndjsonMatches(expected: unknown[], body: unknown): boolean {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const lines = text.split('\n').filter((line) => line !== '');
  if (lines.length !== expected.length) return false;
  return lines.every((line, i) => contains(JSON.parse(line), expected[i]));
}

/** Deep "actual contains expected": objects by the expected keys, arrays element by element, scalars equal. */
export function contains(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((item, i) => contains(actual[i], item));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([key, value]) => contains((actual as Record<string, unknown>)[key], value));
  }
  return actual === expected;
}
