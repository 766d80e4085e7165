import { describe, expect, it } from 'vitest';
import { scanRequestHeaders, scanResponseHeaders } from './hop-by-hop.ts';

describe('scanRequestHeaders (the request headers in one pass over rawHeaders)', () => {
  it('passes end-to-end headers on as the client spelled them, repeated lines kept', () => {
    const scanned = scanRequestHeaders(['Accept', 'text/html', 'Cookie', 'a=1', 'X-Custom', 'one', 'x-custom', 'two']);
    expect(scanned.list).toEqual(['Accept', 'text/html', 'Cookie', 'a=1', 'X-Custom', 'one', 'x-custom', 'two']);
    expect(scanned.hasBody).toBe(false);
  });

  it('takes out Host, X-Request-Id and X-Forwarded-* in any letter case, joining repeated forwarding lines', () => {
    const scanned = scanRequestHeaders(['HOST', 'shop.example.com', 'X-Request-ID', 'edge-1', 'X-Forwarded-For', '203.0.113.7', 'x-forwarded-for', '198.51.100.2', 'X-FORWARDED-PROTO', 'https', 'X-Forwarded-Host', 'www.example.com', 'Accept', '*/*']);
    expect(scanned).toMatchObject({ host: 'shop.example.com', requestId: 'edge-1', forwardedFor: '203.0.113.7, 198.51.100.2', forwardedProto: 'https', forwardedHost: 'www.example.com' });
    expect(scanned.list).toEqual(['Accept', '*/*']);
  });

  it('drops hop-by-hop headers, Expect, and the headers the Connection header names', () => {
    const scanned = scanRequestHeaders(['Connection', 'keep-alive, X-Hop-Secret', 'X-Hop-Secret', 'only-for-the-proxy', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Trailer', 'x', 'Upgrade', 'h2c', 'Proxy-Authorization', 'Basic Zm9v', 'Proxy-Connection', 'keep-alive', 'Expect', '100-continue', 'X-End-To-End', 'kept']);
    expect(scanned.list).toEqual(['X-End-To-End', 'kept']);
  });

  it('says a request has a body when it declares Content-Length or Transfer-Encoding (Content-Length is forwarded; the upstream client frames a chunked body itself)', () => {
    expect(scanRequestHeaders(['Content-Length', '12']).hasBody).toBe(true);
    expect(scanRequestHeaders(['Content-Length', '12']).list).toEqual(['Content-Length', '12']);
    expect(scanRequestHeaders(['transfer-encoding', 'chunked']).list).toEqual([]);
    expect(scanRequestHeaders(['Transfer-Encoding', 'chunked']).hasBody).toBe(true);
  });
});

describe('scanResponseHeaders (an upstream answer in one pass over rawHeaders)', () => {
  it('keeps end-to-end headers and every Set-Cookie line, drops hop-by-hop ones and Transfer-Encoding', () => {
    const scanned = scanResponseHeaders(['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Transfer-Encoding', 'chunked', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Content-Encoding', 'gzip']);
    expect(scanned.list).toEqual(['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Encoding', 'gzip']);
  });

  it('finds Content-Length, Location (by index into the kept list) and X-Request-Id in any letter case', () => {
    const scanned = scanResponseHeaders(['Connection', 'keep-alive', 'LOCATION', 'http://a/b', 'Content-Length', '0', 'X-Request-ID', 'r1']);
    expect(scanned.contentLength).toBe('0');
    expect(scanned.list[scanned.locationAt]).toBe('http://a/b');
    expect(scanned.hasRequestId).toBe(true);
    expect(scanResponseHeaders(['Content-Type', 'text/plain'])).toMatchObject({ contentLength: undefined, locationAt: -1, hasRequestId: false });
  });

  it('drops the headers the Connection header names, and finds Location again in what is left', () => {
    const scanned = scanResponseHeaders(['X-Internal', 'secret', 'Connection', 'close, x-internal', 'Location', '/next']);
    expect(scanned.list).toEqual(['Location', '/next']);
    expect(scanned.list[scanned.locationAt]).toBe('/next');
  });
});
