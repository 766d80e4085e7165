import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StranglerError } from '../platform/errors.ts';
import { CdcErrors, classifyBrokerError, classifyDatabaseError, isPermanent } from './errors.ts';

const readme = readFileSync(new URL('./README-cdc.md', import.meta.url), 'utf8');

describe('CDC error codes', () => {
  // Each factory called with plausible arguments (tableMissing takes a list).
  const errors = Object.entries(CdcErrors).map(([name, make]) =>
    (make as (...args: unknown[]) => StranglerError)(name === 'tableMissing' ? ['public.x'] : 'detail', new Error('cause')),
  );

  it('every code carries a remedy sentence', () => {
    for (const error of errors) {
      expect(error).toBeInstanceOf(StranglerError);
      expect(error.code).toMatch(/^CDC_[A-Z_]+$/);
      expect(error.remedy.length).toBeGreaterThan(20);
    }
  });

  it('every code is documented in the README, with whether it is permanent', () => {
    for (const error of errors) {
      const row = readme.split('\n').find((line) => line.startsWith(`  | \`${error.code}\``));
      expect(row, error.code).toBeDefined();
      if (isPermanent(error)) expect(row).toContain('| permanent |');
      else expect(row).not.toContain('| permanent |');
    }
  });

  it('a bad password, a missing database and a missing privilege are permanent; a refused connection is not', () => {
    const url = 'postgres://u:secret@127.0.0.1:5432/legacy';
    expect(classifyDatabaseError(url, Object.assign(new Error('password authentication failed'), { code: '28P01' }))?.code).toBe('CDC_DATABASE_AUTH');
    expect(classifyDatabaseError(url, Object.assign(new Error('database "x" does not exist'), { code: '3D000' }))?.code).toBe('CDC_DATABASE_MISSING');
    expect(classifyDatabaseError(url, Object.assign(new Error('permission denied'), { code: '42501' }))?.code).toBe('CDC_PERMISSION_DENIED');
    expect(classifyDatabaseError(url, new Error('logical decoding requires wal_level >= logical'))?.code).toBe('CDC_WAL_LEVEL');
    expect(classifyDatabaseError(url, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(classifyDatabaseError(url, Object.assign(new Error('replication slot is active'), { code: '55006' }))).toBeUndefined();
    expect(CdcErrors.authenticationFailed(url, new Error('x')).message).not.toContain('secret');
  });

  it('RabbitMQ refusing the login or a declaration is permanent; a lost connection is not', () => {
    const url = 'amqp://guest:guest@127.0.0.1:5672';
    expect(classifyBrokerError(url, new Error('Handshake terminated by server: 403 (ACCESS-REFUSED)'))?.code).toBe('CDC_BROKER_AUTH');
    expect(classifyBrokerError(url, Object.assign(new Error('PRECONDITION_FAILED - inequivalent arg'), { code: 406 }))?.code).toBe('CDC_TOPOLOGY_MISMATCH');
    expect(classifyBrokerError(url, new Error('Socket closed abruptly'))).toBeUndefined();
  });
});
