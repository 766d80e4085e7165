import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Customer password hashes: `scrypt$<salt hex>$<hash hex>` with node's scrypt (N=16384, r=8, p=1,
 * its defaults) and a 16-byte random salt. Magento itself uses Argon2id or salted SHA-256; scrypt
 * is what node ships with, and the prefix leaves room for another scheme later.
 */
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

/** true when `password` matches `hash`; false for a wrong password or a hash in another format. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const [scheme, saltHex, keyHex] = hash.split('$');
  if (scheme !== 'scrypt' || !saltHex || !keyHex || !/^[0-9a-f]+$/i.test(saltHex + keyHex)) return false;
  const expected = Buffer.from(keyHex, 'hex');
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await derive(password, Buffer.from(saltHex, 'hex'));
  return timingSafeEqual(actual, expected);
}
