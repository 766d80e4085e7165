import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cutoverRoute, DEFAULT_CUTOVER_POLICY, missingEvidence, rollbackRoute } from './route-cutover.ts';

const shipped = readFileSync(new URL('../../routes.yaml', import.meta.url), 'utf8');
// The shipped file with one route put in shadow, as an operator would write it.
const inShadow = shipped.replace(
  '    mode: legacy               # later: extracted → pim, with fallback: legacy\n',
  '    mode: shadow               # later: extracted → pim, with fallback: legacy\n    target: pim\n    shadow: { sampleRate: 0.5, ignore: ["$.updated_at"] }   # half the traffic\n',
);

describe('cutover on evidence', () => {
  const summary = (compared: number, mismatches: number, lastMismatchAt: string | null) => ({
    compared,
    matchRate: compared === 0 ? null : (compared - mismatches) / compared,
    lastMismatchAt,
    counts: { match: compared - mismatches, converged: 0, mismatch: mismatches, error: 0, skipped: 0 },
  });
  const now = new Date('2026-11-22T12:00:00Z');

  it('refuses with every reason that applies', () => {
    expect(missingEvidence(summary(0, 0, null), DEFAULT_CUTOVER_POLICY, now)).toEqual(['only 0 compared requests, at least 1000 needed', 'match rate unknown is below 99.90% (0 mismatches)']);
    expect(missingEvidence(summary(5000, 10, '2026-11-22T11:55:00Z'), DEFAULT_CUTOVER_POLICY, now)).toEqual([
      'match rate 99.80% is below 99.90% (10 mismatches)',
      'last mismatch 5.0 min ago, needs 10 min without one',
    ]);
  });

  it('accepts 99.9% over 1,000 samples with the last mismatch 11 minutes ago', () => {
    expect(missingEvidence(summary(2000, 2, '2026-11-22T11:49:00Z'), DEFAULT_CUTOVER_POLICY, now)).toEqual([]);
  });
});

describe('routes.yaml edits', () => {
  it('when a route is cut over, then only its mode changes and a fallback line appears: every other byte is as it was', () => {
    const edit = cutoverRoute(inShadow, 'routes.yaml', 'product-by-sku', {});
    expect(edit.text).toBe(inShadow.replace('    mode: shadow               #', '    mode: extracted               #').replace('    target: pim\n', '    fallback: legacy\n    target: pim\n'));
  });

  it('when it is rolled back, then the file is byte for byte what it was before the cutover', () => {
    const cut = cutoverRoute(inShadow, 'routes.yaml', 'product-by-sku', {}).text;
    expect(rollbackRoute(cut, 'routes.yaml', 'product-by-sku', 'shadow', {}).text).toBe(inShadow);
  });

  it('when rolled back to legacy, then target and fallback go and the shipped comments stay', () => {
    const cut = cutoverRoute(inShadow, 'routes.yaml', 'product-by-sku', {}).text;
    const text = rollbackRoute(cut, 'routes.yaml', 'product-by-sku', 'legacy', {}).text;
    const route = text.slice(text.indexOf('  - id: product-by-sku'), text.indexOf('  - id: products-search'));
    expect(route).toBe('  - id: product-by-sku\n    match: { method: [GET, HEAD], path: "/rest/V1/products/:sku" }\n    mode: legacy               # later: extracted → pim, with fallback: legacy\n    shadow: { sampleRate: 0.5, ignore: ["$.updated_at"] }   # half the traffic\n');
    for (const line of shipped.split('\n').filter((line) => line.startsWith('#'))) expect(text).toContain(line);
  });

  it('refuses a route that is not in shadow, an unknown route, and a route without a target', () => {
    expect(() => cutoverRoute(shipped, 'routes.yaml', 'product-by-sku', {})).toThrow(/is in mode legacy, not shadow/);
    expect(() => cutoverRoute(shipped, 'routes.yaml', 'nope', {})).toThrow(/has no route "nope"/);
    expect(() => rollbackRoute(shipped, 'routes.yaml', 'product-by-sku', 'shadow', {})).toThrow(/has no target/);
  });
});
