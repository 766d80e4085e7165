/**
 * Money and quantities as exact integers of micro-units (1 = 0.000001), held in a BigInt.
 *
 * Why: the catalog stores prices as numeric(20,6) and node-postgres hands them over as strings.
 * Parsing them into floats and comparing or multiplying them drifts (0.1 + 0.2 !== 0.3), and the
 * extracted pricing service will be property-tested against this module, so two implementations
 * must agree to the last digit. Six decimals is the scale of the database columns, so every value
 * the shop stores is represented exactly; the only rounding anywhere is a percentage tier price
 * (base × (1 − pct/100)), which is rounded half-up to the micro-unit — see `percentOff`.
 */
export type Micros = bigint;

const SCALE = 6;
const ONE = 10n ** BigInt(SCALE);
const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** True when `text` is a plain decimal number ("12", "-3.5", "0.000001"); no exponents, no spaces. */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/**
 * Parses a decimal string (or a finite number, via its shortest round-trip text) into micro-units.
 * Digits beyond the sixth decimal are rounded half-up, as PostgreSQL rounds into numeric(20,6).
 */
export function toMicros(value: string | number): Micros {
  const text = typeof value === 'number' ? numberText(value) : value.trim();
  const match = DECIMAL.exec(text);
  if (!match) throw new RangeError(`not a decimal number: ${JSON.stringify(value)}`);
  const [, sign, whole = '0', fraction = ''] = match;
  const kept = fraction.slice(0, SCALE).padEnd(SCALE, '0');
  let micros = BigInt(whole) * ONE + BigInt(kept);
  if ((fraction[SCALE] ?? '0') >= '5') micros += 1n;
  return sign === '-' ? -micros : micros;
}

/** The canonical decimal text: no trailing zeros, no trailing point ("9.5", "10", "0.000001"). */
export function formatMicros(micros: Micros): string {
  const negative = micros < 0n;
  const magnitude = negative ? -micros : micros;
  const whole = magnitude / ONE;
  const fraction = (magnitude % ONE).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** For JSON answers: the nearest double to the exact decimal (parsed once, never computed with). */
export function microsToNumber(micros: Micros): number {
  return Number(formatMicros(micros));
}

/** `amount` × (1 − percent/100), rounded half-up (away from zero) to the micro-unit. */
export function percentOff(amount: Micros, percent: Micros): Micros {
  const numerator = amount * (100n * ONE - percent);
  const denominator = 100n * ONE;
  return divideRoundHalfUp(numerator, denominator);
}

/** `amount` × `quantity`, both in micro-units, rounded half-up to the micro-unit (a cart's row total). */
export function multiply(amount: Micros, quantity: Micros): Micros {
  return divideRoundHalfUp(amount * quantity, ONE);
}

export function minMicros(first: Micros, ...rest: Micros[]): Micros {
  return rest.reduce((lowest, value) => (value < lowest ? value : lowest), first);
}

function divideRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const quotient = (n + d / 2n) / d;
  return negative ? -quotient : quotient;
}

function numberText(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  // toFixed keeps small and large magnitudes out of exponent notation; 6+ decimals then get rounded above.
  const shortest = String(value);
  return /e/i.test(shortest) ? value.toFixed(SCALE + 1) : shortest;
}
