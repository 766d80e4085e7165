import { describe, expect, it } from 'vitest';
import {
  TypeOid,
  dateToEpochDays,
  intervalToMicros,
  mapValue,
  parseArrayLiteral,
  timestamptzToIso,
  timestampToEpochMicros,
  timetzToIso,
} from './value-mapping.ts';

const type = (typeOid: number, typeMod = -1) => ({ typeOid, typeMod });

describe('value mapping (Debezium JSON, decimal.handling.mode=string, time.precision.mode=adaptive)', () => {
  it('keeps numeric values as exact decimal strings', () => {
    expect(mapValue('12345678901234.123456', type(TypeOid.numeric))).toBe('12345678901234.123456');
    expect(mapValue('NaN', type(TypeOid.numeric))).toBe('NaN');
  });

  it('writes int8 as a number while JavaScript can hold it exactly, else as a decimal string', () => {
    expect(mapValue('9007199254740991', type(TypeOid.int8))).toBe(9007199254740991);
    expect(mapValue('9007199254740993', type(TypeOid.int8))).toBe('9007199254740993');
  });

  it('maps dates to days since the epoch, also before 1970 and BC', () => {
    expect(dateToEpochDays('1970-01-01')).toBe(0);
    expect(dateToEpochDays('1969-12-31')).toBe(-1);
    expect(dateToEpochDays('2024-01-02')).toBe(19724);
    expect(dateToEpochDays('0001-01-01')).toBe(-719162);
    // 1 BC is the astronomical year 0, a leap year: 366 days earlier.
    expect(dateToEpochDays('0001-01-01 BC')).toBe(-719528);
  });

  it('maps timestamps to epoch microseconds (MicroTimestamp) or milliseconds for precision ≤ 3', () => {
    expect(timestampToEpochMicros('1970-01-01 00:00:00.000001')).toBe(1n);
    expect(mapValue('2024-01-02 03:04:05.678901', type(TypeOid.timestamp))).toBe(Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 678901);
    expect(mapValue('2024-01-02 03:04:05.678', type(TypeOid.timestamp, 3))).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    expect(mapValue('infinity', type(TypeOid.timestamp))).toBe('infinity');
  });

  it('maps timestamptz to an ISO-8601 UTC string without trailing zeros (ZonedTimestamp)', () => {
    expect(timestamptzToIso('2024-01-02 03:04:05.25+02')).toBe('2024-01-02T01:04:05.25Z');
    expect(timestamptzToIso('2024-01-02 03:04:05+05:30')).toBe('2024-01-01T21:34:05Z');
    expect(timestamptzToIso('2024-01-02 03:04:05.000001-01')).toBe('2024-01-02T04:04:05.000001Z');
  });

  it('maps time to microseconds since midnight and timetz to an ISO UTC time', () => {
    expect(mapValue('00:00:01.5', type(TypeOid.time))).toBe(1_500_000);
    expect(mapValue('00:00:01.5', type(TypeOid.time, 3))).toBe(1500);
    expect(timetzToIso('01:00:00+02')).toBe('23:00:00Z');
  });

  it('maps intervals to microseconds with 30.4375-day months (MicroDuration)', () => {
    expect(intervalToMicros('1 day 02:00:00')).toBe(26 * 3600 * 1_000_000);
    expect(intervalToMicros('-00:00:01.5')).toBe(-1_500_000);
    expect(intervalToMicros('1 mon')).toBe(30.4375 * 86_400_000_000);
  });

  it('maps booleans, floats (non-finite as strings), bytea (base64), json (as text) and nulls', () => {
    expect(mapValue('t', type(TypeOid.bool))).toBe(true);
    expect(mapValue('f', type(TypeOid.bool))).toBe(false);
    expect(mapValue('1.25', type(TypeOid.float8))).toBe(1.25);
    expect(mapValue('NaN', type(TypeOid.float8))).toBe('NaN');
    expect(mapValue('\\xdeadbeef', type(TypeOid.bytea))).toBe(Buffer.from('deadbeef', 'hex').toString('base64'));
    expect(mapValue('{"a": 1}', type(TypeOid.jsonb))).toBe('{"a": 1}');
    expect(mapValue(null, type(TypeOid.numeric))).toBeNull();
  });

  it('parses array literals with quotes, escapes, NULLs and nesting, mapping each element', () => {
    expect(parseArrayLiteral('{a,"b c","d\\"e",NULL}')).toEqual(['a', 'b c', 'd"e', null]);
    expect(parseArrayLiteral('{}')).toEqual([]);
    expect(mapValue('{{1,2},{3,NULL}}', type(1007))).toEqual([[1, 2], [3, null]]);
    expect(mapValue('{1.10,2.20}', type(1231))).toEqual(['1.10', '2.20']);
    expect(mapValue('[0:1]={7,8}', type(1007))).toEqual([7, 8]);
  });
});

describe('JSON text encoders (the bridge writes bodies with them)', () => {
  it('write exactly JSON.stringify(mapValue(text)) for every type they shortcut', async () => {
    const { jsonTextEncoderFor } = await import('./value-mapping.ts');
    const cases: Array<[number, number, string[]]> = [
      [TypeOid.int2, -1, ['0', '-32768', '32767', '7']],
      [TypeOid.int4, -1, ['0', '-2147483648', '2147483647', '42']],
      [TypeOid.oid, -1, ['0', '4294967295']],
      [TypeOid.int8, -1, ['0', '-999999999999999', '999999999999999', '9007199254740991', '9007199254740993', '-9223372036854775808']],
      [TypeOid.numeric, -1, ['0', '-1.50', '12345678901234.123456', 'NaN', 'Infinity', '-Infinity']],
      [TypeOid.bool, -1, ['t', 'f']],
      [TypeOid.timestamp, -1, ['2024-01-02 03:04:05.678901', '2024-01-02 03:04:05', '1970-01-01 00:00:00.000001', '0999-01-01 00:00:00', 'infinity', '2024-01-02 03:04:05.6 BC']],
      [TypeOid.timestamp, 3, ['2024-01-02 03:04:05.678', '1969-12-31 23:59:59.999', '-infinity']],
      [TypeOid.varchar, -1, ['', 'plain', 'quote " and \\ backslash', 'tab\tnewline\n', 'ünïcødé ✓ 😀', '\u0001']],
      [TypeOid.jsonb, -1, ['{"a": [1, "x"]}']],
      [TypeOid.float8, -1, ['1.25', '-0', 'NaN', 'Infinity', '1e+300']],
      [TypeOid.date, -1, ['2024-01-02', '0001-01-01 BC']],
      [TypeOid.timestamptz, -1, ['2024-01-02 03:04:05.25+02']],
      [TypeOid.interval, -1, ['1 day 02:00:00']],
      [1007, -1, ['{1,2,NULL}']],
      [99999, -1, ['an enum label']],
    ];
    for (const [typeOid, typeMod, values] of cases) {
      const encode = jsonTextEncoderFor({ typeOid, typeMod });
      for (const text of values) expect(encode(text), `${typeOid} ${text}`).toBe(JSON.stringify(mapValue(text, { typeOid, typeMod })));
    }
  });
});
