/**
 * Prices and quantities as exact integers of millionths, in a BigInt.
 *
 * Why not numbers: the store keeps numeric(20,6) and the CDC events carry decimal strings; the
 * answers must match the legacy's to the last digit, and 0.1 + 0.2 !== 0.3 in floating point.
 * Six decimals is the scale of the legacy's price columns, so every stored value is exact.
 */
export type Millionths = bigint;

const DIGITS = 6;
const UNIT = 1_000_000n;
const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/** "12", "-3.5", "+0.000001" — plain decimals only, no exponents, no spaces. */
export function isDecimalText(text: string): boolean {
  return DECIMAL_TEXT.test(text);
}

/**
 * Reads a decimal string; digits after the sixth decimal round half-up (away from zero), which is
 * how PostgreSQL stores a longer value into numeric(20,6).
 */
export function parseAmount(text: string): Millionths {
  const match = DECIMAL_TEXT.exec(text.trim());
  if (!match) throw new RangeError(`not a decimal number: ${JSON.stringify(text)}`);
  const negative = match[1] === '-';
  const fraction = match[3] ?? '';
  let magnitude = BigInt(match[2]!) * UNIT + BigInt(fraction.slice(0, DIGITS).padEnd(DIGITS, '0'));
  if (fraction.length > DIGITS && fraction.charCodeAt(DIGITS) >= 53 /* '5' */) magnitude += 1n;
  return negative ? -magnitude : magnitude;
}

/** Shortest exact text: "9.5", "10", "0.000001". */
export function amountText(amount: Millionths): string {
  const sign = amount < 0n ? '-' : '';
  const magnitude = amount < 0n ? -amount : amount;
  const whole = (magnitude / UNIT).toString();
  const fraction = (magnitude % UNIT).toString().padStart(DIGITS, '0').replace(/0+$/, '');
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** The JSON number an answer carries: the double nearest to the exact decimal. */
export function amountNumber(amount: Millionths): number {
  return Number(amountText(amount));
}

/** `amount` less `percent` per cent, rounded half away from zero to the millionth. */
export function discounted(amount: Millionths, percent: Millionths): Millionths {
  const hundredPercent = 100n * UNIT;
  const product = amount * (hundredPercent - percent);
  const negative = product < 0n;
  const magnitude = negative ? -product : product;
  const rounded = (2n * magnitude + hundredPercent) / (2n * hundredPercent);
  return negative ? -rounded : rounded;
}
