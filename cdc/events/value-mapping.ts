/**
 * Column values as Debezium's PostgreSQL connector writes them through the Kafka Connect JSON
 * converter with schemas disabled, with these settings (the defaults unless noted):
 *
 * - `decimal.handling.mode=string` (NOT the default `precise`, which writes base64 bytes whose
 *   scale lives only in the schema we do not send): numeric and money become decimal strings
 *   and never lose precision ("12345678901234.123456").
 * - `time.precision.mode=adaptive`: date → days since the epoch; timestamp → milliseconds
 *   (precision 0–3, io.debezium.time.Timestamp) or microseconds (4–6, MicroTimestamp, the
 *   default precision); time → milliseconds or microseconds since midnight likewise;
 *   timestamptz → ISO-8601 string in UTC (ZonedTimestamp); timetz → ISO string (ZonedTime).
 * - `interval.handling.mode=numeric`: microseconds, a month counted as 30.4375 days.
 * - `binary.handling.mode=bytes`: bytea as base64, which is how the JSON converter writes bytes.
 * - json/jsonb as the JSON text in a string (io.debezium.data.Json); uuid, inet, xml, enums and
 *   unknown types as their text.
 * - int8 as a JSON number; outside ±2^53 (where a JSON number read by JavaScript would silently
 *   change value) as a decimal string. float NaN/±Infinity, which JSON cannot carry, as strings.
 * - arrays as JSON arrays of the mapped element values.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export const TypeOid = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  money: 790,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Array type oid → element type oid, for the built-in types above. */
const ARRAY_ELEMENT: Record<number, number> = {
  1000: TypeOid.bool,
  1001: TypeOid.bytea,
  1002: TypeOid.char,
  1003: TypeOid.name,
  1005: TypeOid.int2,
  1007: TypeOid.int4,
  1009: TypeOid.text,
  1014: TypeOid.bpchar,
  1015: TypeOid.varchar,
  1016: TypeOid.int8,
  1021: TypeOid.float4,
  1022: TypeOid.float8,
  1028: TypeOid.oid,
  1115: TypeOid.timestamp,
  1182: TypeOid.date,
  1183: TypeOid.time,
  1185: TypeOid.timestamptz,
  1187: TypeOid.interval,
  1231: TypeOid.numeric,
  1270: TypeOid.timetz,
  199: TypeOid.json,
  2951: TypeOid.uuid,
  3807: TypeOid.jsonb,
  791: TypeOid.money,
};

export interface ColumnType {
  typeOid: number;
  /** atttypmod: for timestamp/time the fractional precision, -1 when unspecified (= 6). */
  typeMod: number;
}

/** Maps one column value in PostgreSQL's text output format to its Debezium JSON value. */
export function mapValue(text: string | null, type: ColumnType): JsonValue {
  if (text === null) return null;
  const element = ARRAY_ELEMENT[type.typeOid];
  if (element !== undefined) {
    return mapArray(parseArrayLiteral(text), { typeOid: element, typeMod: type.typeMod });
  }
  return mapScalar(text, type);
}

/** A column value in PostgreSQL's text format → the JSON text of its Debezium value. */
export type JsonTextEncoder = (text: string) => string;

const encodeGenerically = (type: ColumnType): JsonTextEncoder => (text) => JSON.stringify(mapValue(text, type));

/**
 * The JSON text of `mapValue(text, type)` — always exactly `JSON.stringify(mapValue(text, type))`
 * (value-mapping.test.ts checks it per type) — picked once per column so that the hot path writes
 * an event body by concatenation instead of building objects and serialising them. The common
 * types skip the intermediate value: PostgreSQL's output of integers is already canonical JSON,
 * and a numeric's (digits, sign, point, NaN, Infinity) needs only quotes.
 */
export function jsonTextEncoderFor(type: ColumnType): JsonTextEncoder {
  if (ARRAY_ELEMENT[type.typeOid] !== undefined) return encodeGenerically(type);
  switch (type.typeOid) {
    case TypeOid.int2:
    case TypeOid.int4:
    case TypeOid.oid:
      // int2out/int4out/oidout: an optional minus and digits without leading zeros.
      return (text) => text;
    case TypeOid.int8:
      // Up to 15 characters the value is below 10^15 < 2^53: a number, written as PostgreSQL did.
      return (text) => (text.length <= 15 ? text : JSON.stringify(mapValue(text, type)));
    case TypeOid.numeric:
      return (text) => `"${text}"`;
    case TypeOid.bool:
      return (text) => (text === 't' || text === 'true' ? 'true' : 'false');
    case TypeOid.timestamp: {
      const generic = encodeGenerically(type);
      const milliseconds = precisionOf(type) <= 3;
      return (text) => {
        const micros = fastTimestampMicros(text);
        if (micros === undefined) return generic(text);
        return String(milliseconds ? Math.floor(micros / 1000) : micros);
      };
    }
    case TypeOid.float4:
    case TypeOid.float8:
    case TypeOid.money:
    case TypeOid.bytea:
    case TypeOid.date:
    case TypeOid.timestamptz:
    case TypeOid.time:
    case TypeOid.timetz:
    case TypeOid.interval:
    case TypeOid.bit:
      return encodeGenerically(type);
    default:
      // Text and everything mapScalar passes through as text.
      return (text) => JSON.stringify(text);
  }
}

function mapArray(items: ArrayItem[], type: ColumnType): JsonValue[] {
  return items.map((item) => (Array.isArray(item) ? mapArray(item, type) : mapScalar(item, type)));
}

function mapScalar(text: string | null, type: ColumnType): JsonValue {
  if (text === null) return null;
  switch (type.typeOid) {
    case TypeOid.bool:
      return text === 't' || text === 'true';
    case TypeOid.int2:
    case TypeOid.int4:
    case TypeOid.oid:
      return Number(text);
    case TypeOid.int8: {
      const value = Number(text);
      return Number.isSafeInteger(value) ? value : text;
    }
    case TypeOid.float4:
    case TypeOid.float8: {
      const value = Number(text);
      return Number.isFinite(value) ? value : text;
    }
    case TypeOid.numeric:
      return text;
    case TypeOid.money:
      return text.replace(/[^0-9.-]/g, '');
    case TypeOid.bytea:
      return byteaToBase64(text);
    case TypeOid.date:
      return dateToEpochDays(text) ?? text;
    case TypeOid.timestamp: {
      const fast = fastTimestampMicros(text);
      if (fast !== undefined) return precisionOf(type) <= 3 ? Math.floor(fast / 1000) : fast;
      const micros = timestampToEpochMicros(text);
      if (micros === undefined) return text;
      return precisionOf(type) <= 3 ? Number(micros / 1000n) : Number(micros);
    }
    case TypeOid.timestamptz:
      return timestamptzToIso(text) ?? text;
    case TypeOid.time: {
      const micros = timeToMicros(text);
      if (micros === undefined) return text;
      return precisionOf(type) <= 3 ? Math.trunc(micros / 1000) : micros;
    }
    case TypeOid.timetz:
      return timetzToIso(text) ?? text;
    case TypeOid.interval:
      return intervalToMicros(text) ?? text;
    case TypeOid.bit:
      // bit(1) is a boolean in Debezium; longer bit strings stay text here.
      return text.length === 1 ? text === '1' : text;
    default:
      // text, varchar, char, name, uuid, json(b), xml, inet, enums and anything unknown.
      return text;
  }
}

function precisionOf(type: ColumnType): number {
  return type.typeMod < 0 ? 6 : type.typeMod;
}

const EPOCH_DAY_MS = 86_400_000;

function parseYear(text: string, bc: boolean): number {
  const year = Number(text);
  // PostgreSQL has no year 0: 1 BC is astronomical year 0.
  return bc ? 1 - year : year;
}

function utcDate(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(0, 0, 0, 0);
  return date.getTime();
}

export function dateToEpochDays(text: string): number | undefined {
  const match = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/.exec(text);
  if (!match) return undefined;
  const year = parseYear(match[1]!, Boolean(match[4]));
  return Math.round(utcDate(year, Number(match[2]), Number(match[3])) / EPOCH_DAY_MS);
}

/**
 * The common case without a regex or BigInt: "YYYY-MM-DD HH:MM:SS[.ffffff]" for years 1000–2200,
 * whose microseconds fit a double exactly. Anything else takes the general path below.
 */
function fastTimestampMicros(text: string): number | undefined {
  const length = text.length;
  if (length < 19 || length > 26 || text.charCodeAt(4) !== 45 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58) return undefined;
  const year = Number(text.slice(0, 4));
  if (!(year >= 1000 && year <= 2200)) return undefined;
  const ms = Date.UTC(year, Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10)), Number(text.slice(11, 13)), Number(text.slice(14, 16)), Number(text.slice(17, 19)));
  if (!Number.isFinite(ms)) return undefined;
  let fraction = 0;
  if (length > 19) {
    if (text.charCodeAt(19) !== 46) return undefined;
    const digits = text.slice(20);
    fraction = Number(digits) * 10 ** (6 - digits.length);
    if (!Number.isInteger(fraction)) return undefined;
  }
  return ms * 1000 + fraction;
}

/** "2024-03-01 12:34:56.123456" → microseconds since the epoch, the timestamp read as UTC. */
export function timestampToEpochMicros(text: string): bigint | undefined {
  const match = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?( BC)?$/.exec(text);
  if (!match) return undefined;
  const year = parseYear(match[1]!, Boolean(match[8]));
  const dayMs = utcDate(year, Number(match[2]), Number(match[3]));
  const seconds = Number(match[4]) * 3600 + Number(match[5]) * 60 + Number(match[6]);
  const fraction = BigInt((match[7] ?? '').padEnd(6, '0'));
  return BigInt(dayMs) * 1000n + BigInt(seconds) * 1_000_000n + fraction;
}

/** "2024-03-01 12:34:56.5+02" → "2024-03-01T10:34:56.5Z", as Debezium's ZonedTimestamp. */
export function timestamptzToIso(text: string): string | undefined {
  const match = /^(\d{4,}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?( BC)?$/.exec(text);
  if (!match) return undefined;
  const local = timestampToEpochMicros(match[1]! + (match[6] ?? ''));
  if (local === undefined) return undefined;
  const offsetSeconds = Number(match[3]) * 3600 + Number(match[4] ?? 0) * 60 + Number(match[5] ?? 0);
  const utc = local - BigInt((match[2] === '-' ? -1 : 1) * offsetSeconds) * 1_000_000n;
  return isoFromMicros(utc);
}

function isoFromMicros(micros: bigint): string {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const subMillis = Number(micros - millis * 1000n);
  const date = new Date(Number(millis));
  const base = date.toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ (or ±yyyyyy for far years)
  const [withoutFraction] = base.split('.');
  const fraction = (String(date.getUTCMilliseconds()).padStart(3, '0') + String(subMillis).padStart(3, '0')).replace(/0+$/, '');
  return `${withoutFraction}${fraction ? `.${fraction}` : ''}Z`;
}

/** "12:34:56.789" → microseconds since midnight. */
export function timeToMicros(text: string): number | undefined {
  const match = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
  return seconds * 1_000_000 + Number((match[4] ?? '').padEnd(6, '0'));
}

/** "12:34:56+02" → "10:34:56Z", as Debezium's ZonedTime (normalised to UTC). */
export function timetzToIso(text: string): string | undefined {
  const match = /^(\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(text);
  if (!match) return undefined;
  const micros = timeToMicros(match[1]!);
  if (micros === undefined) return undefined;
  const offset = (Number(match[3]) * 3600 + Number(match[4] ?? 0) * 60 + Number(match[5] ?? 0)) * 1_000_000;
  const day = 86_400_000_000;
  const utc = (((micros - (match[2] === '-' ? -offset : offset)) % day) + day) % day;
  const seconds = Math.floor(utc / 1_000_000);
  const fraction = String(utc % 1_000_000).padStart(6, '0').replace(/0+$/, '');
  const hh = String(Math.floor(seconds / 3600)).padStart(2, '0');
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}${fraction ? `.${fraction}` : ''}Z`;
}

const MICROS_PER_DAY = 86_400_000_000;
const DAYS_PER_MONTH = 365.25 / 12;

/** IntervalStyle=postgres output ("1 year 2 mons 3 days 04:05:06.5", "-00:00:01") → microseconds. */
export function intervalToMicros(text: string): number | undefined {
  const pattern = /(-?\d+) (year|years|mon|mons|day|days)|([+-]?)(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?/g;
  let total = 0;
  let matched = false;
  for (const match of text.matchAll(pattern)) {
    matched = true;
    if (match[2]) {
      const amount = Number(match[1]);
      if (match[2].startsWith('year')) total += amount * 12 * DAYS_PER_MONTH * MICROS_PER_DAY;
      else if (match[2].startsWith('mon')) total += amount * DAYS_PER_MONTH * MICROS_PER_DAY;
      else total += amount * MICROS_PER_DAY;
    } else {
      const micros =
        (Number(match[4]) * 3600 + Number(match[5]) * 60 + Number(match[6])) * 1_000_000 +
        Number((match[7] ?? '').padEnd(6, '0'));
      total += match[3] === '-' ? -micros : micros;
    }
  }
  return matched ? Math.round(total) : undefined;
}

function byteaToBase64(text: string): string {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex').toString('base64');
  return Buffer.from(text, 'latin1').toString('base64');
}

type ArrayItem = string | null | ArrayItem[];

/** Parses a PostgreSQL array literal ('{1,2,NULL,"a b"}', nested '{{1,2},{3,4}}'). */
export function parseArrayLiteral(text: string): ArrayItem[] {
  let position = 0;
  // A literal may start with dimensions ("[0:1]={1,2}").
  const equals = text.startsWith('[') ? text.indexOf('=') : -1;
  if (equals >= 0) position = equals + 1;

  function parseLevel(): ArrayItem[] {
    if (text[position] !== '{') throw new RangeError(`not an array literal: ${text}`);
    position += 1;
    const items: ArrayItem[] = [];
    if (text[position] === '}') {
      position += 1;
      return items;
    }
    for (;;) {
      const char = text[position];
      if (char === '{') {
        items.push(parseLevel());
      } else if (char === '"') {
        position += 1;
        let value = '';
        while (position < text.length && text[position] !== '"') {
          if (text[position] === '\\') position += 1;
          value += text[position];
          position += 1;
        }
        position += 1;
        items.push(value);
      } else {
        let end = position;
        while (end < text.length && text[end] !== ',' && text[end] !== '}') end += 1;
        const raw = text.slice(position, end);
        position = end;
        items.push(raw === 'NULL' ? null : raw);
      }
      if (text[position] === ',') {
        position += 1;
        continue;
      }
      if (text[position] === '}') {
        position += 1;
        return items;
      }
      throw new RangeError(`malformed array literal: ${text}`);
    }
  }
  return parseLevel();
}
