import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password.ts';

describe('customer passwords', () => {
  it('verifies the password a hash was made from, and no other', async () => {
    const hash = await hashPassword('password123');
    expect(hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(await verifyPassword('password123', hash)).toBe(true);
    expect(await verifyPassword('Password123', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('salts every hash, so equal passwords give different hashes', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('answers false, without throwing, for a hash in another format', async () => {
    for (const hash of ['', 'plain', 'scrypt$zz$00', 'md5$00$00', 'scrypt$00$0011']) {
      expect(await verifyPassword('password123', hash)).toBe(false);
    }
  });
});
