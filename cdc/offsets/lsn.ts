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
