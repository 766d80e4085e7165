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

  it('shows the durations of both sides as a histogram by route and side, when /metrics is scraped', async () => {
    const registry = new Registry();
    const metrics = new ShadowMetrics(registry);
    metrics.duration('final-price', 'primary', 2);
    metrics.duration('final-price', 'shadow', 3);
    metrics.duration('final-price', 'shadow', 30);
    metrics.duration('final-price', 'shadow', 60_000);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE strangler_shadow_upstream_duration_seconds histogram');
    expect(text).toContain('strangler_shadow_upstream_duration_seconds_bucket{route="final-price",side="primary",le="0.0025"} 1');
    expect(text).toContain('strangler_shadow_upstream_duration_seconds_bucket{route="final-price",side="shadow",le="0.001"} 0');
    expect(text).toContain('strangler_shadow_upstream_duration_seconds_bucket{route="final-price",side="shadow",le="0.005"} 1');
    expect(text).toContain('strangler_shadow_upstream_duration_seconds_bucket{route="final-price",side="shadow",le="0.05"} 2');
    expect(text).toContain('strangler_shadow_upstream_duration_seconds_bucket{route="final-price",side="shadow",le="5"} 2');
    expect(text).toContain('strangler_shadow_upstream_duration_seconds_bucket{route="final-price",side="shadow",le="+Inf"} 3');
    expect(text).toContain('strangler_shadow_upstream_duration_seconds_sum{route="final-price",side="shadow"} 60.033');
    expect(text).toContain('strangler_shadow_upstream_duration_seconds_count{route="final-price",side="shadow"} 3');
  });
});
