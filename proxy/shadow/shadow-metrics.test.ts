import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ShadowMetrics } from './shadow-metrics.ts';

describe('shadow metrics', () => {
  it('counts verdicts per route and shows the requests in flight as last set, when /metrics is scraped', async () => {
    const registry = new Registry();
    const metrics = new ShadowMetrics(registry);
    metrics.verdict('final-price', 'match');
    metrics.verdict('final-price', 'match');
    metrics.verdict('final-price', 'mismatch');
    metrics.verdict('product-by-sku', 'skipped');
    metrics.inFlight('final-price', 3);
    metrics.inFlight('final-price', 1);
    const text = await registry.metrics();
    expect(text).toContain('strangler_shadow_comparisons_total{route="final-price",verdict="match"} 2');
    expect(text).toContain('strangler_shadow_comparisons_total{route="final-price",verdict="mismatch"} 1');
    expect(text).toContain('strangler_shadow_comparisons_total{route="product-by-sku",verdict="skipped"} 1');
    expect(text).toContain('strangler_shadow_in_flight{route="final-price"} 1');
    metrics.verdict('final-price', 'match');
    expect(await registry.metrics()).toContain('strangler_shadow_comparisons_total{route="final-price",verdict="match"} 3');
  });
});
