import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { StranglerError } from '../platform/errors.ts';
import { ProxyErrors, RoutesInvalidError } from './errors.ts';

// Like fastify's FST_ERR_* registry test: every code the proxy can raise is documented.
const documentation = ['../README.md', './README-routes.md']
  .map((path) => new URL(path, import.meta.url))
  .filter((url) => existsSync(url))
  .map((url) => readFileSync(url, 'utf8'))
  .join('\n');

describe('proxy error codes', () => {
  const errors: StranglerError[] = [
    new RoutesInvalidError('routes.yaml', [{ line: 3, column: 5, message: 'x', field: 'routes.0' }]),
    ProxyErrors.routesUnreadable('routes.yaml', new Error('ENOENT')),
    ProxyErrors.badGateway('pim', new Error('ECONNREFUSED')),
    ProxyErrors.serviceUnavailable('pim'),
    ProxyErrors.gatewayTimeout('pim', 2000),
    ProxyErrors.adminTokenMissing(),
    ProxyErrors.adminUnreachable('http://127.0.0.1:8090/routes', new Error('ECONNREFUSED')),
    ProxyErrors.adminUnauthorized('http://127.0.0.1:8090/routes'),
  ];

  it('covers every ProxyErrors factory', () => {
    expect(errors.length - 1).toBe(Object.keys(ProxyErrors).length);
  });

  it.each(errors.map((error) => [error.code, error] as const))('%s is documented and carries a remedy', (code, error) => {
    expect(documentation).toContain(`\`${code}\``);
    expect(error.remedy.length).toBeGreaterThan(20);
  });

  it('the upstream failures carry the status of @fastify/reply-from and their cause', () => {
    const cause = new Error('connect ECONNREFUSED');
    expect(ProxyErrors.badGateway('pim', cause)).toMatchObject({ status: 502, cause });
    expect(ProxyErrors.serviceUnavailable('pim').status).toBe(503);
    expect(ProxyErrors.gatewayTimeout('pim', 2000, cause)).toMatchObject({ status: 504, cause });
  });

  it('an invalid table points at its first problem in the message', () => {
    expect(errors[0]?.message).toBe('routes.yaml:3:5: x');
  });
});
