import { describe, expect, it } from 'vitest';
import { parseStackConfig } from './stack-config.ts';
import { STACK_PROCESSES, childEnvironment } from './stack-launcher.ts';

describe('what the launcher hands each process', () => {
  const config = parseStackConfig({ LEGACY_PORT: '18081', LOG_LEVEL: 'debug', STRANGLER_ADMIN_TOKEN: 'from-env' }, { cwd: '/srv/shop' });
  const urls = { legacy: 'postgres://u:p@127.0.0.1:5433/legacy', pricing: 'postgres://u:p@127.0.0.1:5433/pricing', pim: 'postgres://u:p@127.0.0.1:5433/pim' };

  it('when a process starts, then its environment carries the contract variables on top of the launcher’s own', () => {
    const env = childEnvironment({ PATH: '/usr/bin', HOME: '/root', LEGACY_DATABASE_URL: 'postgres://stale', CDC_URL: 'http://other-bridge:1' }, config, urls, 'token-1');
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      HOME: '/root',
      LEGACY_DATABASE_URL: urls.legacy,
      PRICING_DATABASE_URL: urls.pricing,
      PIM_DATABASE_URL: urls.pim,
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      DATA_DIR: '/srv/shop/.data',
      ROUTES_FILE: '/srv/shop/routes.yaml',
      STRANGLER_ADMIN_TOKEN: 'token-1',
      LOG_LEVEL: 'debug',
      PROXY_PORT: '8080',
      LEGACY_PORT: '18081',
      PRICING_PORT: '8082',
      PIM_PORT: '8083',
      CDC_PORT: '8084',
      ADMIN_PORT: '8090',
    });
    // CDC_URL is the bridge's base URL for the proxy and the services alike: the launcher's own bridge.
    expect(env.CDC_URL).toBe('http://127.0.0.1:8084');
    expect(env.ELASTICSEARCH_URL).toBeUndefined();
  });

  it('when ELASTICSEARCH_URL is set, then it is passed on', () => {
    const withSearch = parseStackConfig({ ELASTICSEARCH_URL: 'http://127.0.0.1:9200' }, { cwd: '/x' });
    expect(childEnvironment({}, withSearch, urls, 't').ELASTICSEARCH_URL).toBe('http://127.0.0.1:9200');
  });

  it('knows every process of the stack, each with its own ports and a health URL on one of them', () => {
    expect(STACK_PROCESSES.map((process) => process.entry)).toEqual([
      'legacy-stub/main.ts',
      'cdc/main.ts',
      'extracted/pricing/main.ts',
      'extracted/pim/main.ts',
      'proxy/main.ts',
    ]);
    for (const process of STACK_PROCESSES) {
      const health = new URL(process.health(config.ports));
      expect(process.ports.map((variable) => String(config.ports[variable]))).toContain(health.port);
      expect(health.hostname).toBe('127.0.0.1');
    }
  });
});
