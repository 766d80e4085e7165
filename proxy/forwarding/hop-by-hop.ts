/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message: a proxy must
 * not forward them, nor any header the Connection header names. Transfer-Encoding is dropped
 * both ways: undici frames the request body it streams upstream itself (chunked when no
 * Content-Length was declared, and it refuses the header), Node frames the response towards the
 * client.
 */
const RESPONSE_HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * The request headers as the forwarder needs them, read from `rawHeaders` in one pass (issue 3's
 * hot path: Node builds `req.headers` lazily, and an object that gains and loses properties per
 * request turns every later lookup megamorphic). `list` holds the end-to-end headers to pass on,
 * names as the client spelled them and repeated lines kept; Host, X-Forwarded-*, X-Request-Id
 * and Expect are taken out (the forwarder writes its own), as are the hop-by-hop headers,
 * Transfer-Encoding, and any header the Connection header names.
 */
export interface ScannedRequestHeaders {
  readonly list: string[];
  readonly host: string | undefined;
  readonly requestId: string | undefined;
  readonly forwardedFor: string | undefined;
  readonly forwardedProto: string | undefined;
  readonly forwardedHost: string | undefined;
  /** Content-Length or Transfer-Encoding present: the request has a body to relay. */
  readonly hasBody: boolean;
}

export function scanRequestHeaders(rawHeaders: readonly string[]): ScannedRequestHeaders {
  const list: string[] = [];
  let host: string | undefined;
  let requestId: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let connection: string | undefined;
  let hasBody = false;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    const value = rawHeaders[index + 1] as string;
    // Only names of these lengths can be special: the rest pass without being lower-cased.
    switch (name.length) {
      case 2: // te
      case 7: // trailer, upgrade
      case 19: // proxy-authorization
        if (REQUEST_DROPPED.has(name.toLowerCase())) continue;
        break;
      case 4:
        if (name.toLowerCase() === 'host') {
          host ??= value;
          continue;
        }
        break;
      case 6:
        if (name.toLowerCase() === 'expect') continue;
        break;
      case 10: {
        const lower = name.toLowerCase();
        if (lower === 'connection') {
          connection = connection === undefined ? value : `${connection}, ${value}`;
          continue;
        }
        if (lower === 'keep-alive') continue;
        break;
      }
      case 12:
        if (name.toLowerCase() === 'x-request-id') {
          requestId ??= value;
          continue;
        }
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') hasBody = true;
        break;
      case 15:
        if (name.toLowerCase() === 'x-forwarded-for') {
          forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
          continue;
        }
        break;
      case 16: {
        const lower = name.toLowerCase();
        if (lower === 'x-forwarded-host') {
          forwardedHost = forwardedHost === undefined ? value : `${forwardedHost}, ${value}`;
          continue;
        }
        if (lower === 'proxy-connection') continue;
        break;
      }
      case 17: {
        const lower = name.toLowerCase();
        if (lower === 'x-forwarded-proto') {
          forwardedProto = forwardedProto === undefined ? value : `${forwardedProto}, ${value}`;
          continue;
        }
        if (lower === 'transfer-encoding') {
          hasBody = true;
          continue;
        }
        break;
      }
    }
    list.push(name, value);
  }
  const named = connection === undefined ? undefined : connectionNamed(connection);
  if (named !== undefined) {
    // Rare: the client names its own hop-by-hop headers. Filter them out after the fact.
    for (let index = list.length - 2; index >= 0; index -= 2) {
      if (named.has((list[index] as string).toLowerCase())) list.splice(index, 2);
    }
  }
  return { list, host, requestId, forwardedFor, forwardedProto, forwardedHost, hasBody };
}

const REQUEST_DROPPED: ReadonlySet<string> = new Set(['te', 'trailer', 'upgrade', 'proxy-authorization']);

/** The header names a Connection header lists, beyond its own options (close, keep-alive). */
function connectionNamed(connection: string): Set<string> | undefined {
  // What nearly every upstream sends: nothing named.
  if (connection.length <= 10 && /^(?:keep-alive|close)$/i.test(connection)) return undefined;
  let named: Set<string> | undefined;
  for (const token of connection.split(',')) {
    const lower = token.trim().toLowerCase();
    if (lower === '' || lower === 'close' || lower === 'keep-alive') continue;
    (named ??= new Set()).add(lower);
  }
  return named;
}

/** An upstream answer's headers as the forwarder needs them, read from `rawHeaders` in one pass. */
export interface ScannedResponseHeaders {
  /** End-to-end headers as a flat list, the upstream's spelling and every Set-Cookie line kept. */
  readonly list: string[];
  readonly contentLength: string | undefined;
  /** Index in `list` of the Location value, or -1. */
  readonly locationAt: number;
  readonly hasRequestId: boolean;
}

export function scanResponseHeaders(rawHeaders: readonly string[]): ScannedResponseHeaders {
  const list: string[] = [];
  let contentLength: string | undefined;
  let locationAt = -1;
  let hasRequestId = false;
  let connection: string | undefined;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    const value = rawHeaders[index + 1] as string;
    switch (name.length) {
      case 2: // te
      case 7: // trailer, upgrade
      case 16: // proxy-connection
      case 17: // transfer-encoding
      case 18: // proxy-authenticate
        if (RESPONSE_HOP_BY_HOP.has(name.toLowerCase())) continue;
        break;
      case 8:
        if (locationAt === -1 && name.toLowerCase() === 'location') locationAt = list.length + 1;
        break;
      case 10: {
        const lower = name.toLowerCase();
        if (lower === 'connection') {
          connection = connection === undefined ? value : `${connection}, ${value}`;
          continue;
        }
        if (lower === 'keep-alive') continue;
        break;
      }
      case 12:
        if (name.toLowerCase() === 'x-request-id') hasRequestId = true;
        break;
      case 14:
        if (contentLength === undefined && name.toLowerCase() === 'content-length') contentLength = value;
        break;
    }
    list.push(name, value);
  }
  const named = connection === undefined ? undefined : connectionNamed(connection);
  if (named === undefined) return { list, contentLength, locationAt, hasRequestId };
  // Rare: the upstream names further hop-by-hop headers; filter them and find Location again.
  const kept: string[] = [];
  let keptLocationAt = -1;
  for (let index = 0; index < list.length; index += 2) {
    const lower = (list[index] as string).toLowerCase();
    if (named.has(lower)) continue;
    if (keptLocationAt === -1 && lower === 'location') keptLocationAt = kept.length + 1;
    kept.push(list[index] as string, list[index + 1] as string);
  }
  return { list: kept, contentLength: named.has('content-length') ? undefined : contentLength, locationAt: keptLocationAt, hasRequestId: hasRequestId && !named.has('x-request-id') };
}
