import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message: a proxy must
 * not forward them, nor any header the Connection header names. Transfer-Encoding is kept on
 * requests because Node re-frames a chunked body itself when it sees it, and dropped from
 * responses because Node chooses the framing towards the client.
 */
const REQUEST_HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'];
const RESPONSE_HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export function dropRequestHopByHop(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const name of connection.split(',')) {
      const trimmed = name.trim().toLowerCase();
      if (trimmed !== '' && trimmed !== 'close' && trimmed !== 'keep-alive') delete headers[trimmed];
    }
  }
  for (const name of REQUEST_HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
}

/**
 * The end-to-end response headers as a flat [name, value, ...] list, keeping the upstream's
 * spelling and every Set-Cookie line as sent.
 */
export function endToEndResponseHeaders(rawHeaders: readonly string[], connectionHeader: string | undefined): string[] {
  const named = connectionHeader ? new Set(connectionHeader.split(',').map((name) => name.trim().toLowerCase())) : undefined;
  const kept: string[] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    const lower = name.toLowerCase();
    if (RESPONSE_HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    kept.push(name, rawHeaders[index + 1] as string);
  }
  return kept;
}
