import type { IncomingHttpHeaders } from 'node:http';

/**
 * Canary split: `percent`% of requests go to the target, the rest to legacy. With `stickyBy`, the
 * side is a pure function of (route id, cookie or header value), so one shopper's session stays
 * on one side for the whole visit and raising the percentage only moves shoppers *to* the target
 * (bucket < percent keeps holding for those already there). Without the value it is per request.
 */
export interface CanarySplit {
  /** Requests per 10,000 that go to the target. */
  readonly basisPoints: number;
  readonly sticky: { readonly kind: 'cookie' | 'header'; readonly name: string } | null;
  readonly salt: string;
}

export function createCanarySplit(routeId: string, percent: number, stickyBy: string | undefined): CanarySplit {
  let sticky: CanarySplit['sticky'] = null;
  if (stickyBy !== undefined) {
    const separator = stickyBy.indexOf(':');
    const kind = stickyBy.slice(0, separator) === 'cookie' ? 'cookie' : 'header';
    const name = stickyBy.slice(separator + 1);
    sticky = { kind, name: kind === 'header' ? name.toLowerCase() : name };
  }
  return Object.freeze({ basisPoints: Math.round(percent * 100), sticky, salt: `${routeId}\u0000` });
}

/** True when this request goes to the canary target. `random` is injectable for tests. */
export function choosesTarget(split: CanarySplit, headers: IncomingHttpHeaders, random: () => number = Math.random): boolean {
  if (split.basisPoints <= 0) return false;
  if (split.basisPoints >= 10_000) return true;
  const value = split.sticky === null ? undefined : stickyValue(split.sticky, headers);
  const bucket = value === undefined ? Math.floor(random() * 10_000) : fnv1a(split.salt + value) % 10_000;
  return bucket < split.basisPoints;
}

function stickyValue(sticky: NonNullable<CanarySplit['sticky']>, headers: IncomingHttpHeaders): string | undefined {
  if (sticky.kind === 'header') {
    const value = headers[sticky.name];
    return Array.isArray(value) ? value[0] : value || undefined;
  }
  return cookieValue(headers.cookie, sticky.name);
}

/** The value of one cookie, without parsing the others. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const equals = header.indexOf('=', start);
    if (equals !== -1 && equals < end && header.slice(start, equals).trim() === name) {
      const value = header.slice(equals + 1, end).trim();
      return value === '' ? undefined : value;
    }
    start = end + 1;
  }
  return undefined;
}

/** FNV-1a, 32 bits, finalised: stable across processes and restarts (unlike a seeded hash), and cheap. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  // MurmurHash3's finaliser: FNV's low bits are weak for ids that differ only at the end.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
