/** 2^32, the weight of the high half. */
const HIGH = 0x1_0000_0000;
/** High halves below this keep the whole position below 2^53, where a double is exact. */
const EXACT_HIGH_LIMIT = 0x20_0000;

/**
 * A PostgreSQL log sequence number: a 64-bit byte position in the write-ahead log, written by
 * the server as two hex halves ("16/B374D848"). Kept as a value type (as Debezium does) so that
 * positions are compared as numbers, never as strings ("9/0" < "10/0" but not as text).
 *
 * Held as a double while it is below 2^53 (8 PiB of WAL: every real server), which is exact
 * there and costs no BigInt per change on the hot path; the 64-bit value is made only when asked
 * (`value`, `toBigInt`) and is what holds positions beyond 2^53.
 */
export class Lsn {
  static readonly ZERO = new Lsn(0, 0n);

  /** NaN when the position is beyond 2^53 (then `big` holds it). */
  private readonly exact: number;
  private big: bigint | undefined;

  private constructor(exact: number, big: bigint | undefined) {
    this.exact = exact;
    this.big = big;
  }

  /** Parses "16/B374D848"; throws on anything else. */
  static parse(text: string): Lsn {
    // The common form (two 1–8 digit hex halves) is read without a regex or string BigInts;
    // anything else takes the strict path below.
    const slash = text.indexOf('/');
    if (slash > 0 && slash <= 8 && text.length - slash - 1 >= 1 && text.length - slash - 1 <= 8) {
      const high = hexValue(text, 0, slash);
      const low = hexValue(text, slash + 1, text.length);
      if (high >= 0 && low >= 0) return Lsn.fromHalves(high, low);
    }
    const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
    if (!match) throw new RangeError(`not a PostgreSQL LSN: ${JSON.stringify(text)}`);
    return Lsn.fromHalves(Number.parseInt(match[1]!, 16), Number.parseInt(match[2]!, 16));
  }

  /** From the two unsigned 32-bit halves, as the replication protocol carries it. */
  static fromHalves(high: number, low: number): Lsn {
    if (high < EXACT_HIGH_LIMIT) return new Lsn(high * HIGH + low, undefined);
    return new Lsn(Number.NaN, (BigInt(high) << 32n) | BigInt(low));
  }

  /** From a position below 2^53 (a decoded protocol field); larger values take `fromBigInt`. */
  static fromNumber(value: number): Lsn {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`LSN out of range: ${value}`);
    return new Lsn(value, undefined);
  }

  static fromBigInt(value: bigint): Lsn {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`LSN out of range: ${value}`);
    return value < 2n ** 53n ? new Lsn(Number(value), value) : new Lsn(Number.NaN, value);
  }

  /** The 64-bit position. */
  get value(): bigint {
    return (this.big ??= BigInt(this.exact));
  }

  toBigInt(): bigint {
    return this.value;
  }

  /** As a JSON number, which is how Debezium writes `source.lsn` (an int64). */
  toNumber(): number {
    return Number.isNaN(this.exact) ? Number(this.value) : this.exact;
  }

  /** The position as a decimal string (exact at any size): `source.sequence`, `transaction.id`. */
  toDecimal(): string {
    return Number.isNaN(this.exact) ? this.value.toString() : String(this.exact);
  }

  compare(other: Lsn): -1 | 0 | 1 {
    if (!Number.isNaN(this.exact) && !Number.isNaN(other.exact)) return this.exact < other.exact ? -1 : this.exact > other.exact ? 1 : 0;
    const a = this.value;
    const b = other.value;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  isAfter(other: Lsn): boolean {
    return this.compare(other) > 0;
  }

  isBefore(other: Lsn): boolean {
    return this.compare(other) < 0;
  }

  equals(other: Lsn): boolean {
    return this.compare(other) === 0;
  }

  plus(bytes: bigint | number): Lsn {
    return Lsn.fromBigInt(this.value + BigInt(bytes));
  }

  minus(other: Lsn): bigint {
    return this.value - other.value;
  }

  /** The server's own notation, upper-case hex without leading zeros ("16/B374D848"). */
  toString(): string {
    if (!Number.isNaN(this.exact)) {
      const high = Math.floor(this.exact / HIGH);
      return `${high.toString(16).toUpperCase()}/${(this.exact - high * HIGH).toString(16).toUpperCase()}`;
    }
    const value = this.value;
    return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffff_ffffn).toString(16).toUpperCase()}`;
  }

  toJSON(): string {
    return this.toString();
  }

  static max(a: Lsn, b: Lsn): Lsn {
    return a.isAfter(b) ? a : b;
  }
}

/** The hex digits text[from, to) as a number, or -1 when any character is not a hex digit. */
function hexValue(text: string, from: number, to: number): number {
  let value = 0;
  for (let index = from; index < to; index += 1) {
    const code = text.charCodeAt(index);
    let digit: number;
    if (code >= 48 && code <= 57) digit = code - 48;
    else if (code >= 65 && code <= 70) digit = code - 55;
    else if (code >= 97 && code <= 102) digit = code - 87;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}
