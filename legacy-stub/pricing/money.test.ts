import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatMicros, isDecimal, microsToNumber, multiply, percentOff, toMicros } from './money.ts';

describe('money in micro-units', () => {
  it.each([
    ['19.990000', 19_990_000n],
    ['0.1', 100_000n],
    ['-3.5', -3_500_000n],
    ['7', 7_000_000n],
    ['0.0000004', 0n],
    ['0.0000005', 1n],
    ['1.9999995', 2_000_000n],
  ])('parses %s exactly', (text, micros) => {
    expect(toMicros(text)).toBe(micros);
  });

  it('parses numbers through their shortest text, so 0.1 + 0.2 style drift never enters', () => {
    expect(toMicros(0.1)).toBe(100_000n);
    expect(toMicros(1e-7)).toBe(0n);
    expect(toMicros(12)).toBe(12_000_000n);
  });

  it.each(['', 'abc', '1e5', '1,5', '.5', '1.', ' - 1'])('refuses %j', (text) => {
    expect(isDecimal(text)).toBe(false);
    expect(() => toMicros(text)).toThrow(RangeError);
  });

  it('formats canonically and round-trips every value', () => {
    expect(formatMicros(19_990_000n)).toBe('19.99');
    expect(formatMicros(-1n)).toBe('-0.000001');
    expect(formatMicros(0n)).toBe('0');
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (micros) => toMicros(formatMicros(micros)) === micros));
  });

  it('sums that drift as floats stay exact', () => {
    expect(formatMicros(toMicros('0.1') + toMicros('0.2'))).toBe('0.3');
    expect(microsToNumber(toMicros('0.1') + toMicros('0.2'))).toBe(0.3);
  });

  it('takes a percentage off and multiplies by a quantity, rounding half-up to the micro-unit', () => {
    expect(formatMicros(percentOff(toMicros('100'), toMicros('12.5')))).toBe('87.5');
    expect(formatMicros(percentOff(toMicros('0.000015'), toMicros('10')))).toBe('0.000014');
    expect(formatMicros(multiply(toMicros('19.99'), toMicros('3')))).toBe('59.97');
    expect(formatMicros(multiply(toMicros('0.000003'), toMicros('0.5')))).toBe('0.000002');
  });
});
