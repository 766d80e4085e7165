import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Lsn } from '../offsets/lsn.ts';
import { buildChangeEvent, changeEventSchema, type ChangeInput, type RelationInfo } from './change-event.ts';
import { TypeOid } from './value-mapping.ts';

// The bridge writes event bodies by concatenating pre-serialised parts (RelationEncoder,
// TransactionEncoder). Consumers read them as Debezium's envelope, so the text must stay exactly
// what JSON.stringify writes for the event object mapped value by value.

const relation: RelationInfo = {
  schema: 'public',
  table: 'every_type',
  columns: [
    { name: 'id', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'big', typeOid: TypeOid.int8, typeMod: -1 },
    { name: 'small', typeOid: TypeOid.int2, typeMod: -1 },
    { name: 'price', typeOid: TypeOid.numeric, typeMod: -1 },
    { name: 'flag', typeOid: TypeOid.bool, typeMod: -1 },
    { name: 'name', typeOid: TypeOid.varchar, typeMod: -1 },
    { name: 'at', typeOid: TypeOid.timestamp, typeMod: -1 },
    { name: 'at_ms', typeOid: TypeOid.timestamp, typeMod: 3 },
    { name: 'doc', typeOid: TypeOid.jsonb, typeMod: -1 },
    { name: 'ratio', typeOid: TypeOid.float8, typeMod: -1 },
    { name: 'day', typeOid: TypeOid.date, typeMod: -1 },
    { name: 'tags', typeOid: 1009, typeMod: -1 },
  ],
  keyColumns: ['id', 'small'],
};

const texts = {
  id: fc.integer({ min: -2147483648, max: 2147483647 }).map(String),
  big: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  small: fc.integer({ min: -32768, max: 32767 }).map(String),
  price: fc.oneof(fc.constant('NaN'), fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.nat({ max: 999999 })).map(([whole, fraction]) => `${whole}.${String(fraction).padStart(6, '0')}`)),
  flag: fc.constantFrom('t', 'f'),
  name: fc.string({ unit: 'grapheme', maxLength: 30 }),
  at: fc.oneof(fc.constant('infinity'), fc.date({ min: new Date('0100-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((date) => `${date.toISOString().replace('T', ' ').replace('Z', '')}123`)),
  at_ms: fc.date({ min: new Date('1000-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }).map((date) => date.toISOString().replace('T', ' ').replace('Z', '')),
  doc: fc.json(),
  ratio: fc.oneof(fc.constantFrom('NaN', 'Infinity', '-Infinity', '-0'), fc.double({ noNaN: true, noDefaultInfinity: true }).map(String)),
  day: fc.date({ min: new Date('0001-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)),
  tags: fc.array(fc.oneof(fc.constant('NULL'), fc.stringMatching(/^[a-z0-9]{1,8}$/)), { maxLength: 4 }).map((items) => `{${items.join(',')}}`),
};

/** A tuple: each column a value, NULL, or (for `sent: false` columns) not sent at all. */
const tuple = fc.record(
  Object.fromEntries(Object.entries(texts).map(([name, text]) => [name, fc.oneof({ weight: 6, arbitrary: text }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant(undefined) })])),
  { noNullPrototype: true },
) as fc.Arbitrary<Record<string, string | null | undefined>>;

describe('change event body', () => {
  it('is byte for byte JSON.stringify of the event object, for every op, type, NULL and unsent column', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ChangeInput['op']>('c', 'u', 'd', 't'),
        tuple,
        tuple,
        fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
        fc.nat({ max: 100_000 }),
        fc.boolean(),
        (op, oldTuple, newTuple, lsn, position, transactionMetadata) => {
          const commitLsn = Lsn.fromBigInt(lsn);
          const published = buildChangeEvent(
            {
              op,
              relation,
              oldTuple: op === 'c' || op === 't' ? null : oldTuple,
              newTuple: op === 'd' || op === 't' ? null : newTuple,
              lsn: commitLsn,
              position,
              dataCollectionOrder: position + 1,
            },
            { xid: 4711, commitLsn, commitTimeMs: 1_763_771_234_567 },
            { serverName: 'legacy', database: 'légacy "db"', transactionMetadata, now: () => 1_763_771_234_999 },
          );
          expect(published.body.toString('utf8')).toBe(JSON.stringify(published.event));
          expect(published.keyJson).toBe(published.key === null ? null : JSON.stringify(published.key));
          // (zod's int() stops at 2^53; real LSNs are far below it.)
          if (lsn < 2n ** 53n) expect(changeEventSchema.safeParse(JSON.parse(published.body.toString('utf8'))).success).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('keeps the row key of a table without a primary key as the whole row, in column order', () => {
    const keyless: RelationInfo = { ...relation, keyColumns: [] };
    const commitLsn = Lsn.parse('0/16B3748');
    const published = buildChangeEvent(
      { op: 'd', relation: keyless, oldTuple: { id: '1', name: 'a' }, newTuple: null, lsn: commitLsn, position: 0, dataCollectionOrder: 1 },
      { xid: 1, commitLsn, commitTimeMs: 0 },
      { serverName: 'legacy', database: 'legacy', transactionMetadata: true, now: () => 0 },
    );
    expect(published.keyJson).toBe('{"id":1,"big":null,"small":null,"price":null,"flag":null,"name":"a","at":null,"at_ms":null,"doc":null,"ratio":null,"day":null,"tags":null}');
    expect(published.body.toString()).toBe(JSON.stringify(published.event));
  });
});
