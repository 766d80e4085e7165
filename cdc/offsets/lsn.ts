/**
 * A PostgreSQL log sequence number: a 64-bit byte position in the write-ahead log, written by
 * the server as two hex halves ("16/B374D848"). Kept as a value type (as Debezium does) so that
 * positions are compared as numbers, never as strings ("9/0" < "10/0" but not as text).
 */
export class Lsn {
  static readonly ZERO = new Lsn(0n);

  private constructor(readonly value: bigint) {}

  /** Parses "16/B374D848"; throws on anything else. */
  static parse(text: string): Lsn {
    // Every replication message carries its LSN as text: the common form (two 1–8 digit hex
    // halves, high half below 2^21 so the whole fits a double exactly) is read without a regex
    // or string BigInts; anything else takes the strict path below.
    const slash = text.indexOf('/');
    if (slash > 0 && slash <= 8 && text.length - slash - 1 >= 1 && text.length - slash - 1 <= 8) {
      const high = hexValue(text, 0, slash);
      const low = hexValue(text, slash + 1, text.length);
      if (high >= 0 && low >= 0 && high < 0x20_0000) return new Lsn(BigInt(high * 0x1_0000_0000 + low));
    }
    const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
    if (!match) throw new RangeError(`not a PostgreSQL LSN: ${JSON.stringify(text)}`);
    return new Lsn((BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`));
  }

  static fromBigInt(value: bigint): Lsn {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`LSN out of range: ${value}`);
    return new Lsn(value);
  }

  toBigInt(): bigint {
    return this.value;
  }

  /** As a JSON number, which is how Debezium writes `source.lsn` (an int64). */
  toNumber(): number {
    return Number(this.value);
  }

  compare(other: Lsn): -1 | 0 | 1 {
    return this.value < other.value ? -1 : this.value > other.value ? 1 : 0;
  }

  isAfter(other: Lsn): boolean {
    return this.value > other.value;
  }

  isBefore(other: Lsn): boolean {
    return this.value < other.value;
  }

  equals(other: Lsn): boolean {
    return this.value === other.value;
  }

  plus(bytes: bigint | number): Lsn {
    return Lsn.fromBigInt(this.value + BigInt(bytes));
  }

  minus(other: Lsn): bigint {
    return this.value - other.value;
  }

  /** The server's own notation, upper-case hex without leading zeros ("16/B374D848"). */
  toString(): string {
    const high = (this.value >> 32n).toString(16).toUpperCase();
    const low = (this.value & 0xffff_ffffn).toString(16).toUpperCase();
    return `${high}/${low}`;
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
