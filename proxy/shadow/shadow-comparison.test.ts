import { describe, expect, it } from 'vitest';
import { captureWhole } from './captured-response.ts';
import { parsePathPattern, parseConcretePath, generalisePath } from './json-path.ts';
import { compareResponses } from './shadow-comparison.ts';
import { compileShadowRules, type ShadowDefinition } from './shadow-rules.ts';

const JSON_TYPE = { 'content-type': 'application/json' };
const json = (value: unknown, status = 200, headers: Record<string, string> = JSON_TYPE) => captureWhole(status, headers, JSON.stringify(value), 1_048_576);
const compare = (a: unknown, b: unknown, rules: Partial<ShadowDefinition> = {}) => compareResponses(json(a), json(b), compileShadowRules(rules));
const paths = (result: ReturnType<typeof compare>) => result.diffs.map((diff) => diff.path);

describe('ShadowComparison', () => {
  it('when both answers are the same JSON with keys in another order, then they are equal', () => {
    expect(compare({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }).equal).toBe(true);
  });

  it('when one field differs deep inside an array, then the diff names it by JSON path', () => {
    const result = compare({ items: [{ sku: 'A', price: 1 }, { sku: 'B', price: 2 }] }, { items: [{ sku: 'A', price: 1 }, { sku: 'B', price: 3 }] });
    expect(result.diffs).toEqual([{ path: '$.items[1].price', kind: 'changed', primary: 2, shadow: 3 }]);
  });

  it('when a field is missing, added or of another type, then each is its own kind', () => {
    const result = compare({ gone: 1, kind: '1', odd: { 'a b': true } }, { kind: 1, extra: null, odd: { 'a b': false } });
    expect(result.diffs).toEqual([
      { path: '$.gone', kind: 'removed', primary: 1 },
      { path: '$.kind', kind: 'type', primary: '1', shadow: 1 },
      { path: '$.odd["a b"]', kind: 'changed', primary: true, shadow: false },
      { path: '$.extra', kind: 'added', shadow: null },
    ]);
  });

  it('when the status differs, then @status is reported', () => {
    const result = compareResponses(json({}), json({}, 404), compileShadowRules());
    expect(result.diffs).toEqual([{ path: '@status', kind: 'status', primary: 200, shadow: 404 }]);
  });

  it('when content-type differs, then the header is reported; other headers are not compared unless chosen', () => {
    const a = captureWhole(200, { 'content-type': 'application/json', etag: '1' }, '{}', 1000);
    const b = captureWhole(200, { 'content-type': 'text/plain', etag: '2' }, '{}', 1000);
    expect(paths(compareResponses(a, b, compileShadowRules()))).toEqual(['@header.content-type']);
    expect(paths(compareResponses(a, b, compileShadowRules({ headers: ['content-type', 'ETag'] })))).toEqual(['@header.content-type', '@header.etag']);
  });

  it('when a header differs only in case or spacing, then it is equal', () => {
    const a = captureWhole(200, { 'content-type': 'application/json;charset=UTF-8' }, '{}', 1000);
    const b = captureWhole(200, { 'content-type': 'application/json; charset=utf-8' }, '{}', 1000);
    expect(compareResponses(a, b, compileShadowRules()).equal).toBe(true);
  });

  it('when an array is reordered, then it differs, unless the path is unordered by a key', () => {
    const a = { items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 2 }] };
    const b = { items: [{ sku: 'B', qty: 2 }, { sku: 'A', qty: 1 }] };
    expect(paths(compare(a, b))).toEqual(['$.items[0].sku', '$.items[0].qty', '$.items[1].sku', '$.items[1].qty']);
    expect(compare(a, b, { unordered: [{ path: '$.items', key: 'sku' }] }).equal).toBe(true);
  });

  it('when an unordered array pairs by key, then a changed element is named by the primary index and a missing one as removed', () => {
    const a = { items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 2 }, { sku: 'C', qty: 3 }] };
    const b = { items: [{ sku: 'D', qty: 4 }, { sku: 'B', qty: 5 }, { sku: 'A', qty: 1 }] };
    const result = compare(a, b, { unordered: [{ path: '$.items', key: 'sku' }] });
    expect(result.diffs).toEqual([
      { path: '$.items[1].qty', kind: 'changed', primary: 2, shadow: 5 },
      { path: '$.items[2]', kind: 'removed', primary: { sku: 'C', qty: 3 } },
      { path: '$.items[0]', kind: 'added', shadow: { sku: 'D', qty: 4 } },
    ]);
  });

  it('when an array of scalars is unordered without a key, then it compares as a multiset', () => {
    expect(compare({ tags: ['a', 'b', 'b'] }, { tags: ['b', 'a', 'b'] }, { unordered: [{ path: '$.tags' }] }).equal).toBe(true);
    expect(paths(compare({ tags: ['a', 'b', 'b'] }, { tags: ['b', 'a', 'a'] }, { unordered: [{ path: '$.tags' }] }))).toEqual(['$.tags[2]', '$.tags[2]']);
  });

  it('when a path is ignored with a wildcard, then differences under it are counted as ignored, not reported', () => {
    const a = { items: [{ price: 1, updated_at: 't1' }, { price: 2, updated_at: 't2' }], meta: { etag: 'x' } };
    const b = { items: [{ price: 1, updated_at: 't3' }, { price: 2, updated_at: 't4' }], meta: { etag: 'y' } };
    const result = compare(a, b, { ignore: ['$.items[*].updated_at', '$..etag'] });
    expect(result.equal).toBe(true);
    expect(result.ignored).toBe(3);
  });

  it('when an ignored field exists on one side only, then it is not reported either', () => {
    expect(compare({ a: 1, trace: 'x' }, { a: 1 }, { ignore: ['$.trace'] }).equal).toBe(true);
  });

  it('when numbers differ within the tolerance, then they are equal; beyond it they differ', () => {
    expect(compare({ price: 10.0 }, { price: 10.004 }, { tolerance: 0.005 }).equal).toBe(true);
    expect(paths(compare({ price: 10.0 }, { price: 10.01 }, { tolerance: 0.005 }))).toEqual(['$.price']);
  });

  it('when a tolerance is given per path, then it applies to that path only', () => {
    const rules = { tolerance: { '$.items[*].price': 0.01 } };
    expect(paths(compare({ items: [{ price: 1 }], total: 1 }, { items: [{ price: 1.005 }], total: 1.005 }, rules))).toEqual(['$.total']);
  });

  it('when a float went through another serialiser, then it is not a difference', () => {
    expect(compare({ x: 0.1 + 0.2 }, { x: 0.3 }).equal).toBe(true);
  });

  it('when the bodies are HTML differing only in whitespace, then they are equal', () => {
    const a = captureWhole(200, { 'content-type': 'text/html' }, '<ul>\n  <li>A</li>\n  <li>B</li>\n</ul>\n', 1000);
    const b = captureWhole(200, { 'content-type': 'text/html' }, '<ul><li>A</li> <li>B</li></ul>', 1000);
    expect(compareResponses(a, b, compileShadowRules()).equal).toBe(true);
  });

  it('when text bodies differ, then the diff shows both excerpts at the first difference', () => {
    const a = captureWhole(200, { 'content-type': 'text/html' }, '<p>Price 10.00</p>', 1000);
    const b = captureWhole(200, { 'content-type': 'text/html' }, '<p>Price 12.00</p>', 1000);
    expect(compareResponses(a, b, compileShadowRules()).diffs).toEqual([{ path: '$', kind: 'text', primary: '<p>Price 10.00</p>', shadow: '<p>Price 12.00</p>' }]);
  });

  it('when a body is larger than maxBodyBytes, then only its hash is kept and compared', () => {
    const big = 'x'.repeat(5000);
    const a = captureWhole(200, { 'content-type': 'text/plain' }, big, 1000);
    const b = captureWhole(200, { 'content-type': 'text/plain' }, big, 1000);
    const c = captureWhole(200, { 'content-type': 'text/plain' }, `${big}y`, 1000);
    expect(a.body).toBeNull();
    expect(compareResponses(a, b, compileShadowRules()).equal).toBe(true);
    const differs = compareResponses(a, c, compileShadowRules());
    expect(differs.oversize).toBe(true);
    expect(differs.diffs.map((diff) => diff.kind)).toEqual(['hash']);
  });

  it('when one side is not valid JSON, then the bodies are compared as text', () => {
    const a = captureWhole(200, JSON_TYPE, '{"a":1}', 1000);
    const b = captureWhole(200, JSON_TYPE, '{"a":1', 1000);
    expect(compareResponses(a, b, compileShadowRules()).diffs[0]?.kind).toBe('text');
  });

  it('when answers differ in hundreds of places, then the diff list is capped and says so', () => {
    const a = { list: Array.from({ length: 500 }, (_, index) => index) };
    const b = { list: Array.from({ length: 500 }, (_, index) => index + 1) };
    const result = compare(a, b);
    expect(result.diffs).toHaveLength(100);
    expect(result.truncated).toBe(true);
  });
});

describe('JSON path patterns', () => {
  it('match keys, indexes, wildcards and any depth', () => {
    expect(parsePathPattern('$.items[*].updated_at').matches(['items', 4, 'updated_at'])).toBe(true);
    expect(parsePathPattern('$.items[*].updated_at').matches(['items', 4, 'price'])).toBe(false);
    expect(parsePathPattern('$..etag').matches(['a', 1, 'b', 'etag'])).toBe(true);
    expect(parsePathPattern('$["a b"][0]').matches(['a b', 0])).toBe(true);
    expect(parsePathPattern('$.*').matches(['x'])).toBe(true);
    expect(parsePathPattern('$.*').matches(['x', 'y'])).toBe(false);
  });

  it('refuse what they cannot read, saying where', () => {
    expect(() => parsePathPattern('items.price')).toThrow(/starts with "\$"/);
    expect(() => parsePathPattern('$.items[')).toThrow(/at character 8/);
  });

  it('round-trip a reported path and generalise its indexes for the report', () => {
    expect(parseConcretePath('$.items[3]["a b"].price')).toEqual(['items', 3, 'a b', 'price']);
    expect(generalisePath('$.items[3].tiers[12].qty')).toBe('$.items[*].tiers[*].qty');
  });
});
