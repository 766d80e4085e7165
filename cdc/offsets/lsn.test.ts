import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Lsn } from './lsn.ts';

describe('Lsn', () => {
  it('parses the server notation and prints it back the same way', () => {
    const lsn = Lsn.parse('16/B374D848');
    expect(lsn.toBigInt()).toBe((0x16n << 32n) | 0xb374d848n);
    expect(lsn.toString()).toBe('16/B374D848');
    expect(Lsn.parse('0/0').toString()).toBe('0/0');
    expect(Lsn.parse('00000000/016B3748').toString()).toBe('0/16B3748');
  });

  it('compares as numbers, not as text ("9/0" is before "10/0")', () => {
    expect(Lsn.parse('9/0').isBefore(Lsn.parse('10/0'))).toBe(true);
    expect(Lsn.parse('0/FFFFFFFF').compare(Lsn.parse('1/0'))).toBe(-1);
    expect(Lsn.parse('1/0').equals(Lsn.parse('1/00000000'))).toBe(true);
  });

  it('rejects text that is not an LSN', () => {
    for (const text of ['', '16', '16/', '/1', 'G/1', '1/2/3', '123456789/0']) expect(() => Lsn.parse(text)).toThrow(RangeError);
  });

  it('round-trips every 64-bit position', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }), (value) => {
        expect(Lsn.parse(Lsn.fromBigInt(value).toString()).toBigInt()).toBe(value);
      }),
    );
  });

  it('reads positions below 2^53 the same in either notation, zero-padded or not, upper or lower case', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 53n) - 1n }), fc.boolean(), fc.boolean(), (value, padded, lower) => {
        const high = (value >> 32n).toString(16);
        const low = (value & 0xffff_ffffn).toString(16);
        let text = padded ? `${high.padStart(8, '0')}/${low.padStart(8, '0')}` : `${high}/${low}`;
        text = lower ? text.toLowerCase() : text.toUpperCase();
        expect(Lsn.parse(text).toBigInt()).toBe(value);
      }),
    );
  });

  it('compares, prints and counts the same below and beyond 2^53, where it switches to 64-bit arithmetic', () => {
    const position = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 53n) + 5n }), fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }));
    fc.assert(
      fc.property(position, position, (a, b) => {
        const left = Lsn.fromHalves(Number(a >> 32n), Number(a & 0xffff_ffffn));
        const right = Lsn.fromBigInt(b);
        expect(left.compare(right)).toBe(a < b ? -1 : a > b ? 1 : 0);
        expect(left.toBigInt()).toBe(a);
        expect(left.toDecimal()).toBe(a.toString());
        expect(left.toString()).toBe(Lsn.fromBigInt(a).toString());
        expect(left.minus(right)).toBe(a - b);
      }),
    );
    expect(Lsn.fromNumber(2 ** 53 - 1).toDecimal()).toBe('9007199254740991');
    expect(() => Lsn.fromNumber(2 ** 53)).toThrow(RangeError);
  });
});
