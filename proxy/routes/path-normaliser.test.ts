import { describe, expect, it } from 'vitest';
import { normalisePath } from './path-normaliser.ts';

describe('normalisePath', () => {
  it('leaves an ordinary storefront path alone', () => {
    expect(normalisePath('/rest/V1/products/24-MB01')).toBe('/rest/V1/products/24-MB01');
    expect(normalisePath('/')).toBe('/');
  });

  it('when a path climbs out with dot-segments, then it is resolved before matching', () => {
    expect(normalisePath('/rest/V1/products/../carts')).toBe('/rest/V1/carts');
    expect(normalisePath('/rest/V1/products/./x/../../carts/mine')).toBe('/rest/V1/carts/mine');
    expect(normalisePath('/../../etc/passwd')).toBe('/etc/passwd');
  });

  it('when dots are percent-encoded, then they are decoded and still resolved', () => {
    expect(normalisePath('/rest/V1/products/%2e%2e/carts')).toBe('/rest/V1/carts');
    expect(normalisePath('/rest/V1/products/%2E%2E/carts')).toBe('/rest/V1/carts');
    expect(normalisePath('/rest/V1/products/.%2e/carts')).toBe('/rest/V1/carts');
  });

  it('decodes unreserved characters but keeps reserved escapes, upper-cased', () => {
    expect(normalisePath('/rest/V1/%70roducts/a%7eb')).toBe('/rest/V1/products/a~b');
    expect(normalisePath('/rest/V1/products/a%2fb')).toBe('/rest/V1/products/a%2Fb');
    expect(normalisePath('/search/%e2%82%ac')).toBe('/search/%E2%82%AC');
  });

  it('when a % starts no escape, then it is sent as %25, so decoding cannot build a new escape such as %2e', () => {
    expect(normalisePath('/rest/V1/products/%%32%65%%32%65/carts')).toBe('/rest/V1/products/%252e%252e/carts');
    expect(normalisePath('/a/%3%30')).toBe('/a/%2530');
    expect(normalisePath('/a/100%')).toBe('/a/100%25');
  });

  it('merges duplicate slashes so //rest cannot dodge /rest/*', () => {
    expect(normalisePath('//rest///V1//carts')).toBe('/rest/V1/carts');
  });

  it('keeps a trailing slash and does not decode %2e%2e inside a longer segment into a climb', () => {
    expect(normalisePath('/catalog/')).toBe('/catalog/');
    expect(normalisePath('/catalog/a..b')).toBe('/catalog/a..b');
    expect(normalisePath('/a/b/..')).toBe('/a/');
  });

  it('makes a relative or empty path absolute', () => {
    expect(normalisePath('')).toBe('/');
    expect(normalisePath('rest/V1')).toBe('/rest/V1');
  });
});

describe('normalisePath, for any input', () => {
  it('yields an absolute path with no dot-segment or empty segment left, and is idempotent', async () => {
    const fc = await import('fast-check');
    const segment = fc.oneof(fc.constantFrom('..', '.', '', '%2e%2e', '%2E.', '.%2e', 'a', 'V1', '%2F', '%41'), fc.stringMatching(/^[A-Za-z0-9._~%-]{0,6}$/));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 12 }), (segments) => {
        const normalised = normalisePath(`/${segments.join('/')}`);
        expect(normalised.startsWith('/')).toBe(true);
        const inner = normalised.slice(1, normalised.endsWith('/') ? -1 : undefined).split('/');
        for (const part of inner) expect(normalised === '/' || (part !== '' && part !== '.' && part !== '..')).toBe(true);
        expect(normalisePath(normalised)).toBe(normalised);
      }),
      { numRuns: 500 },
    );
  });
});
