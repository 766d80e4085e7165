import { describe, expect, it } from 'vitest';
import { normalisePath } from './path-normaliser.ts';
import { findRoute } from './route-matcher.ts';
import { parseRouteTable } from './route-table.ts';

const table = parseRouteTable(
  `upstreams:
  legacy: { url: "http://127.0.0.1:8081" }
  pim: { url: "http://127.0.0.1:8083" }
routes:
  - id: price
    match: { method: GET, path: "/rest/V1/products/:sku/final-price" }
    mode: extracted
    target: pim
  - id: product
    match: { method: [GET, HEAD], path: "/rest/V1/products/:sku" }
    mode: extracted
    target: pim
  - id: beta-search
    match: { path: "/rest/V1/products", query: { "searchCriteria[pageSize]": "*" }, headers: { X-Beta: "yes" } }
    mode: extracted
    target: pim
  - id: static
    match: { path: "/static/*" }
  - id: carts
    match: { path: "/rest/V1/carts/*" }
`,
  { file: 'routes.yaml', env: {} },
);

function routeFor(method: string, url: string, headers: Record<string, string> = {}): string | undefined {
  const [path = '', query = ''] = url.split('?');
  return findRoute(table.routes, method, normalisePath(path), query, { headers })?.id;
}

describe('findRoute', () => {
  it('matches method and :params, first match in file order wins', () => {
    expect(routeFor('GET', '/rest/V1/products/24-MB01/final-price')).toBe('price');
    expect(routeFor('GET', '/rest/V1/products/24-MB01')).toBe('product');
    expect(routeFor('HEAD', '/rest/V1/products/24-MB01')).toBe('product');
    expect(routeFor('PUT', '/rest/V1/products/24-MB01')).toBeUndefined();
    expect(routeFor('GET', '/rest/V1/products/24-MB01/extra')).toBeUndefined();
  });

  it('a trailing * matches the prefix itself and anything below, but not a longer name', () => {
    expect(routeFor('GET', '/static')).toBe('static');
    expect(routeFor('GET', '/static/css/a.css')).toBe('static');
    expect(routeFor('GET', '/staticfoo')).toBeUndefined();
  });

  it('query and header predicates must all hold', () => {
    expect(routeFor('GET', '/rest/V1/products?searchCriteria[pageSize]=5', { 'x-beta': 'yes' })).toBe('beta-search');
    expect(routeFor('GET', '/rest/V1/products?searchCriteria%5BpageSize%5D=5', { 'x-beta': 'yes' })).toBe('beta-search');
    expect(routeFor('GET', '/rest/V1/products?searchCriteria[pageSize]=5', { 'x-beta': 'no' })).toBeUndefined();
    expect(routeFor('GET', '/rest/V1/products', { 'x-beta': 'yes' })).toBeUndefined();
  });

  it('path-normalisation attacks land on the route of the resolved path', () => {
    expect(routeFor('GET', '/rest/V1/products/../carts/mine')).toBe('carts');
    expect(routeFor('GET', '/rest/V1/products/%2e%2e/carts/mine')).toBe('carts');
    expect(routeFor('GET', '/rest/V1/products/.%2E/carts/mine')).toBe('carts');
    expect(routeFor('GET', '//rest//V1/products/24-MB01')).toBe('product');
    expect(routeFor('GET', '/rest/V1/%70roducts/24-MB01')).toBe('product');
    expect(routeFor('GET', '/static/../rest/V1/products/x')).toBe('product');
  });
});
