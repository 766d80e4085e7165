import { mkdtempSync, readFileSync, appendFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../platform/logger.ts';
import { ShadowJournal } from './shadow-journal.ts';
import { MAX_PATHS, ShadowReport, type MismatchRecord } from './shadow-report.ts';

const dir = mkdtempSync(join(tmpdir(), 'strangler-shadow-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mismatch(index: number, routeId = 'final-price'): MismatchRecord {
  return {
    at: new Date(1_700_000_000_000 + index).toISOString(),
    routeId,
    request: { method: 'GET', url: `/rest/V1/products/SKU-${index}/final-price`, headers: { accept: 'application/json' } },
    primary: { status: 200, headers: { 'content-type': 'application/json' }, body: `{"price":${index}}`, bodyBytes: 14 },
    shadow: { status: 200, headers: { 'content-type': 'application/json' }, body: `{"price":${index + 1}}`, bodyBytes: 14 },
    diffs: [{ path: `$.field${index}`, kind: 'changed', primary: index, shadow: index + 1 }, { path: '$.price', kind: 'changed', primary: index, shadow: index + 1 }],
    attempts: 1,
  };
}

describe('ShadowReport', () => {
  it('counts verdicts, match rate over compared requests only, and latency quantiles of both sides', () => {
    const report = new ShadowReport();
    for (let index = 0; index < 97; index++) report.record('r', { verdict: 'match', primaryMs: 10, shadowMs: 20 });
    report.record('r', { verdict: 'converged', primaryMs: 10, shadowMs: 20 });
    report.record('r', { verdict: 'mismatch', primaryMs: 10, shadowMs: 200, diffs: [{ path: '$.items[3].price', kind: 'changed' }] });
    report.record('r', { verdict: 'mismatch', primaryMs: 10, shadowMs: 200, diffs: [{ path: '$.items[7].price', kind: 'changed' }] });
    report.record('r', { verdict: 'error', reason: 'timeout' });
    report.record('r', { verdict: 'skipped', reason: 'max-concurrent' });
    const summary = report.route('r').summary();
    expect(summary.counts).toEqual({ match: 97, converged: 1, mismatch: 2, error: 1, skipped: 1 });
    expect(summary.compared).toBe(100);
    expect(summary.matchRate).toBeCloseTo(0.98);
    expect(summary.reasons).toEqual({ 'error:timeout': 1, 'skipped:max-concurrent': 1 });
    expect(summary.topPaths).toEqual([{ path: '$.items[*].price', count: 2 }]);
    expect(summary.latencyMs.primary.p50).toBeGreaterThanOrEqual(10);
    expect(summary.latencyMs.primary.p50).toBeLessThan(11);
    expect(summary.latencyMs.shadow.p99).toBeGreaterThanOrEqual(200);
    expect(summary.latencyMs.shadow.p99).toBeLessThan(221);
  });

  it('when 100,000 requests mismatch, each on a new path, then memory stays bounded: the same structure size as after 10,000', () => {
    const report = new ShadowReport();
    const sizeAfter = (count: number, from: number) => {
      for (let index = from; index < count; index++) report.record('final-price', { verdict: 'mismatch', diffs: mismatch(index).diffs, mismatch: mismatch(index), primaryMs: 1, shadowMs: 2 });
      return JSON.stringify(report.toState()).length;
    };
    const at10k = sizeAfter(10_000, 0);
    const heapBefore = process.memoryUsage().heapUsed;
    const at100k = sizeAfter(100_000, 10_000);
    const route = report.route('final-price');
    expect(route.summary().counts.mismatch).toBe(100_000);
    expect(route.size()).toEqual({ paths: MAX_PATHS + 1, mismatches: 20, reasons: 0 });
    // The serialised state differs only by the digits of counters and the newest records.
    expect(Math.abs(at100k - at10k)).toBeLessThan(2_000);
    expect(route.mismatches().map((record) => record.request.url).at(-1)).toBe('/rest/V1/products/SKU-99999/final-price');
    expect(route.summary().topPaths[0]).toEqual({ path: '$.price', count: 100_000 });
    // Heap: garbage from 90,000 records may or may not be collected yet, so the bound is loose;
    // retained records would be ~90,000 × 1 KB = 90 MB.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(60 * 1024 * 1024);
  });
});

describe('ShadowJournal', () => {
  it('when the proxy restarts, then counts, paths and last mismatches come back, including mismatches after the last snapshot', async () => {
    const file = join(dir, 'restart', 'shadow-report.jsonl');
    const first = await ShadowJournal.open({ file, logger: silentLogger() });
    const report = new ShadowReport({ restored: first.restored, onMismatch: (record) => first.journal.appendMismatch(record) });
    first.journal.start(() => report.toState());
    for (let index = 0; index < 5; index++) report.record('final-price', { verdict: 'match', primaryMs: 3, shadowMs: 4 });
    report.record('final-price', { verdict: 'mismatch', diffs: mismatch(1).diffs, mismatch: mismatch(1) });
    await first.journal.snapshot();
    // After the snapshot: two more mismatches, journaled as their own lines, then a "crash"
    // (no close, no snapshot) that tears the last line.
    report.record('final-price', { verdict: 'mismatch', diffs: mismatch(2).diffs, mismatch: mismatch(2) });
    report.record('final-price', { verdict: 'mismatch', diffs: mismatch(3).diffs, mismatch: mismatch(3) });
    await first.journal.flush();
    appendFileSync(file, '{"type":"mismatch","rec');
    expect(readFileSync(file, 'utf8').split('\n').map((line) => line.slice(0, 20))).toEqual(['{"type":"mismatch","', '{"type":"snapshot","', '{"type":"mismatch","', '{"type":"mismatch","', '{"type":"mismatch","']);

    const second = await ShadowJournal.open({ file, logger: silentLogger() });
    const restored = new ShadowReport({ restored: second.restored });
    const summary = restored.route('final-price').summary();
    expect(summary.counts).toEqual({ match: 5, converged: 0, mismatch: 3, error: 0, skipped: 0 });
    expect(summary.topPaths[0]).toEqual({ path: '$.price', count: 3 });
    expect(restored.route('final-price').mismatches().map((record) => record.request.url)).toEqual([1, 2, 3].map((index) => `/rest/V1/products/SKU-${index}/final-price`));
    expect(summary.latencyMs.primary.p50).toBeGreaterThanOrEqual(3);
    await first.journal.close();
    await second.journal.close();
  });

  it('when mismatches keep coming, then the file is compacted and stays under its limit', async () => {
    const file = join(dir, 'compact', 'shadow-report.jsonl');
    const { journal, restored } = await ShadowJournal.open({ file, logger: silentLogger(), maxBytes: 64 * 1024 });
    const report = new ShadowReport({ restored, onMismatch: (record) => journal.appendMismatch(record) });
    journal.start(() => report.toState());
    for (let round = 0; round < 20; round++) {
      for (let index = 0; index < 50; index++) report.record('r', { verdict: 'mismatch', diffs: mismatch(index, 'r').diffs, mismatch: mismatch(round * 50 + index, 'r') });
      await journal.snapshot();
    }
    await journal.close();
    expect(statSync(file).size).toBeLessThan(64 * 1024 + 40 * 1024);
    const again = await ShadowJournal.open({ file, logger: silentLogger() });
    expect(new ShadowReport({ restored: again.restored }).route('r').summary().counts.mismatch).toBe(1000);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean).length).toBeLessThan(60);
  });
});
