import { describe, expect, it } from 'vitest';
import { ProxyMetrics } from './proxy-metrics.ts';

describe('ProxyMetrics', () => {
  it('exposes requests and a cumulative latency histogram in Prometheus text format', async () => {
    const metrics = new ProxyMetrics();
    metrics.request('final-price', 'pricing', 'canary', 200, 0.0008);
    metrics.request('final-price', 'pricing', 'canary', 200, 0.004);
    metrics.request('final-price', 'pricing', 'canary', 504, 30);
    metrics.request('final-price', 'legacy', 'canary', 200, 0.002);
    const text = await metrics.registry.metrics();
    expect(text).toContain('strangler_proxy_requests_total{route="final-price",target="pricing",mode="canary",status="200"} 2');
    expect(text).toContain('strangler_proxy_requests_total{route="final-price",target="pricing",mode="canary",status="504"} 1');
    expect(text).toContain('strangler_proxy_request_duration_seconds_bucket{route="final-price",target="pricing",le="0.001"} 1');
    expect(text).toContain('strangler_proxy_request_duration_seconds_bucket{route="final-price",target="pricing",le="0.005"} 2');
    expect(text).toContain('strangler_proxy_request_duration_seconds_bucket{route="final-price",target="pricing",le="10"} 2');
    expect(text).toContain('strangler_proxy_request_duration_seconds_bucket{route="final-price",target="pricing",le="+Inf"} 3');
    expect(text).toContain('strangler_proxy_request_duration_seconds_count{route="final-price",target="pricing"} 3');
    expect(text).toMatch(/strangler_proxy_request_duration_seconds_sum\{route="final-price",target="pricing"\} 30\.0048/);
  });

  it('reports the share of traffic per upstream and the migrated share in one number', async () => {
    const metrics = new ProxyMetrics();
    for (let index = 0; index < 3; index += 1) metrics.request('r', 'legacy', 'canary', 200, 0.001);
    metrics.request('r', 'pricing', 'canary', 200, 0.001);
    const text = await metrics.registry.metrics();
    expect(text).toContain('strangler_proxy_upstream_traffic_share{upstream="legacy"} 0.75');
    expect(text).toContain('strangler_proxy_upstream_traffic_share{upstream="pricing"} 0.25');
    expect(text).toContain('strangler_proxy_migrated_share 0.25');
  });
});
