import { describe, expect, it } from 'vitest';
import { pricingConfigFromEnv } from './pricing-config.ts';

describe('the pricing service configuration from the environment', () => {
  it('when only the database URL is set, then the documented defaults apply', () => {
    expect(pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://localhost/pricing' })).toEqual({
      port: 8082,
      host: '127.0.0.1',
      databaseUrl: 'postgres://localhost/pricing',
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      cdcHealthUrl: 'http://127.0.0.1:8084/healthz',
      exchange: 'legacy.cdc',
      signalQueue: 'legacy.cdc.signals',
      serverName: 'legacy',
      queue: 'pricing.cdc',
      cacheTtlSeconds: 60,
      poolSize: 10,
      brokerWaitSeconds: 30,
      logLevel: 'info',
    });
  });

  it('finds the bridge through CDC_PORT unless CDC_URL, the bridge\'s base URL as for the proxy, says otherwise', () => {
    expect(pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://x/y', CDC_PORT: '9999' }).cdcHealthUrl).toBe('http://127.0.0.1:9999/healthz');
    expect(pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://x/y', CDC_PORT: '9999', CDC_URL: 'http://cdc:8084' }).cdcHealthUrl).toBe('http://cdc:8084/healthz');
    expect(pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://x/y', CDC_URL: 'http://cdc:8084/' }).cdcHealthUrl).toBe('http://cdc:8084/healthz');
  });

  it('when CDC_URL still names the /healthz endpoint (its old meaning), then it is refused, naming the variable', () => {
    expect(() => pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://x/y', CDC_URL: 'http://cdc:8084/healthz' })).toThrow(/CDC_URL.*base URL.*without \/healthz/);
  });

  it('when PRICING_DATABASE_URL is missing, then PRICING_CONFIG_INVALID names it', () => {
    expect(() => pricingConfigFromEnv({ PRICING_PORT: '8082' })).toThrow(expect.objectContaining({ code: 'PRICING_CONFIG_INVALID', message: expect.stringContaining('PRICING_DATABASE_URL is not set') }));
  });

  it('when a port or a number is not one, then the error names the variable', () => {
    expect(() => pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://x/y', PRICING_PORT: 'eighty' })).toThrow(/PRICING_PORT/);
    expect(() => pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://x/y', PRICING_CACHE_TTL_SECONDS: '0' })).toThrow(/PRICING_CACHE_TTL_SECONDS/);
    expect(() => pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://x/y', CDC_URL: 'not a url' })).toThrow(/CDC_URL/);
  });

  it('treats an empty variable as unset, as a shell or compose file often leaves it', () => {
    expect(pricingConfigFromEnv({ PRICING_DATABASE_URL: 'postgres://x/y', PRICING_PORT: '' }).port).toBe(8082);
  });
});
