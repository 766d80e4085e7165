/**
 * The one spelling of a request path that routes are matched against and that the upstream
 * receives, so a path cannot say one thing to the matcher and another to the upstream
 * (`/rest/V1/products/../carts`, `/rest/V1/products/%2e%2e/carts`, `//rest/V1/carts`).
 *
 * RFC 3986 §6.2.2: percent-encoded unreserved characters are decoded (§2.3), the hex digits of
 * the remaining escapes are upper-cased, and dot-segments are removed (§5.2.4). Duplicate
 * slashes are merged because legacy PHP routers and most frameworks treat them as one.
 * `%2F` stays encoded: it is data inside a segment, not a separator.
 */
export function normalisePath(rawPath: string): string {
  // Fast path: most storefront paths need nothing done (no escapes, dots after a slash, or //).
  if (!needsWork(rawPath)) return rawPath;

  const decoded = rawPath.includes('%') ? decodeUnreserved(rawPath) : rawPath;
  const segments = (decoded.startsWith('/') ? decoded : `/${decoded}`).split('/');
  const output: string[] = [];
  const last = segments.length - 1;
  for (let index = 1; index <= last; index += 1) {
    const segment = segments[index] as string;
    if (segment === '.' || segment === '') {
      // "/a/./b" and "/a//b" → "/a/b"; a trailing "/" or "/." keeps the directory form.
      if (index === last) output.push('');
      continue;
    }
    if (segment === '..') {
      output.pop();
      if (index === last) output.push('');
      continue;
    }
    output.push(segment);
  }
  return `/${output.join('/')}`;
}

function needsWork(path: string): boolean {
  if (path.charCodeAt(0) !== 47 /* / */) return true;
  for (let index = 0; index < path.length; index += 1) {
    const code = path.charCodeAt(index);
    if (code === 37 /* % */) return true;
    if (code === 47 /* / */) {
      const next = path.charCodeAt(index + 1);
      if (next === 47 || next === 46 /* . */) return true;
    }
  }
  return false;
}

function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})?/g, (escape: string, hex: string | undefined) => {
    // A "%" that starts no escape is data: "%25", as browsers send it. Left bare, it would make a
    // new escape of what follows once decoded ("%%32%65" → "%2e"), which an upstream decoding
    // once more would read as a dot.
    if (hex === undefined) return '%25';
    const code = Number.parseInt(hex, 16);
    const isUnreserved =
      (code >= 0x41 && code <= 0x5a) || // A-Z
      (code >= 0x61 && code <= 0x7a) || // a-z
      (code >= 0x30 && code <= 0x39) || // 0-9
      code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e; // - . _ ~
    return isUnreserved ? String.fromCharCode(code) : escape.toUpperCase();
  });
}
