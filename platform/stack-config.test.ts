import { describe, expect, it } from 'vitest';
import { StranglerError } from './errors.ts';
import { parseStackConfig } from './stack-config.ts';

describe('the stack configuration', () => {
  it('when nothing is set, then it runs the embedded PostgreSQL under .data with the documented ports', () => {
    const config = parseStackConfig({}, { cwd: '/srv/shop' });
    expect(config).toMatchObject({
      dataDir: '/srv/shop/.data',
      pgPort: 5433,
      legacyDatabaseUrl: undefined,
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      seedProducts: 2000,
      routesFile: '/srv/shop/routes.yaml',
      adminToken: undefined,
      logLevel: 'info',
      ports: { PROXY_PORT: 8080, LEGACY_PORT: 8081, PRICING_PORT: 8082, PIM_PORT: 8083, CDC_PORT: 8084, ADMIN_PORT: 8090 },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when the command line gives --products and --data-dir, then they win over the environment', () => {
    const config = parseStackConfig({ SEED_PRODUCTS: '10', DATA_DIR: 'a' }, { cwd: '/x', overrides: { seedProducts: 7, dataDir: '/tmp/b' } });
    expect(config.seedProducts).toBe(7);
    expect(config.dataDir).toBe('/tmp/b');
  });

  it('when a variable is empty, then it counts as unset', () => {
    const config = parseStackConfig({ LEGACY_DATABASE_URL: '', STRANGLER_ADMIN_TOKEN: '', DATA_DIR: '' }, { cwd: '/x' });
    expect(config.legacyDatabaseUrl).toBeUndefined();
    expect(config.adminToken).toBeUndefined();
    expect(config.dataDir).toBe('/x/.data');
  });

  it.each([
    ['PG_PORT', 'abc'],
    ['LEGACY_PORT', '70000'],
    ['SEED_PRODUCTS', '-1'],
    ['LEGACY_DATABASE_URL', 'mysql://shop'],
    ['AMQP_URL', 'http://rabbit'],
    ['LOG_LEVEL', 'loud'],
  ])('when %s=%s, then the error names the variable and its value', (name, value) => {
    let error: unknown;
    try {
      parseStackConfig({ [name]: value }, { cwd: '/x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StranglerError);
    expect((error as StranglerError).code).toBe('PLATFORM_CONFIG_INVALID');
    expect((error as StranglerError).message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('when two processes are given the same port, then it refuses and names both variables', () => {
    expect(() => parseStackConfig({ PROXY_PORT: '9000', CDC_PORT: '9000' }, { cwd: '/x' })).toThrow(/CDC_PORT and PROXY_PORT are both 9000/);
    expect(() => parseStackConfig({ LEGACY_PORT: '5433' }, { cwd: '/x' })).toThrow(/LEGACY_PORT and PG_PORT/);
  });
});

describe('the CDC names the launcher prepares before the seed', () => {
  it('when CDC_SLOT, CDC_PUBLICATION and CDC_TABLES are set, then the launcher prepares exactly those, as the bridge will read them', () => {
    const config = parseStackConfig({ CDC_SLOT: 'shop_slot', CDC_PUBLICATION: 'shop_pub', CDC_TABLES: ' catalog_product_entity, public.eav_attribute ,' }, { cwd: '/x' });
    expect(config.capture).toEqual({ slot: 'shop_slot', publication: 'shop_pub', tables: ['catalog_product_entity', 'public.eav_attribute'] });
  });

  it('when they are unset, then nothing is said and the bridge’s defaults apply', () => {
    expect(parseStackConfig({}, { cwd: '/x' }).capture).toEqual({});
  });
});
