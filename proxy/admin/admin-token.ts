import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <token>` in constant time. Both sides are hashed first so the
 * comparison takes the same time whatever the presented token's length (timingSafeEqual alone
 * throws on, and so leaks, a length mismatch).
 */
export function createBearerCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (authorization) => {
    const presented = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : '';
    const actual = createHash('sha256').update(presented).digest();
    return timingSafeEqual(actual, expected) && presented.length > 0;
  };
}
