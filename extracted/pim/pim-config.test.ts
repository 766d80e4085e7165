import { describe, expect, it } from 'vitest';
import { parsePimConfig } from './pim-config.ts';

describe('the PIM configuration', () => {
  it('takes the defaults of the brief: port 8083, queue pim.cdc, the bridge health URL, PostgreSQL store', () => {
    const config = parsePimConfig({ PIM_DATABASE_URL: 'postgres://u:p@127.0.0.1:5433/pim' });
    expect(config).toMatchObject({
      port: 8083,
      queue: 'pim.cdc',
      exchange: 'legacy.cdc',
      signalQueue: 'legacy.cdc.signals',
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      bridgeHealthUrl: 'http://127.0.0.1:8084/healthz',
      elasticsearchUrl: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('finds the bridge health endpoint at CDC_PORT unless CDC_URL, the bridge\'s base URL, says otherwise ("off" disables it)', () => {
    expect(parsePimConfig({ PIM_DATABASE_URL: 'postgres://x/pim', CDC_PORT: '9184' }).bridgeHealthUrl).toBe('http://127.0.0.1:9184/healthz');
    expect(parsePimConfig({ PIM_DATABASE_URL: 'postgres://x/pim', CDC_URL: 'http://cdc:8084' }).bridgeHealthUrl).toBe('http://cdc:8084/healthz');
    expect(() => parsePimConfig({ PIM_DATABASE_URL: 'postgres://x/pim', CDC_URL: 'http://cdc:8084/healthz' })).toThrow(/CDC_URL.*without \/healthz/);
    expect(() => parsePimConfig({ PIM_DATABASE_URL: 'postgres://x/pim', CDC_URL: 'not a url' })).toThrow(/CDC_URL/);
    expect(parsePimConfig({ PIM_DATABASE_URL: 'postgres://x/pim', CDC_URL: 'off' }).bridgeHealthUrl).toBeUndefined();
  });

  it('when ELASTICSEARCH_URL is set, then it is the store', () => {
    expect(parsePimConfig({ PIM_DATABASE_URL: 'postgres://x/pim', ELASTICSEARCH_URL: 'http://es:9200' }).elasticsearchUrl).toBe('http://es:9200');
  });

  it('when a variable is missing or invalid, then PIM_CONFIG_INVALID names it', () => {
    expect(() => parsePimConfig({})).toThrow(expect.objectContaining({ code: 'PIM_CONFIG_INVALID', message: expect.stringContaining('PIM_DATABASE_URL') }));
    expect(() => parsePimConfig({ PIM_DATABASE_URL: 'postgres://x/pim', PIM_PORT: 'eighty' })).toThrow(/PIM_PORT/);
  });
});
