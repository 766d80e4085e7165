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
