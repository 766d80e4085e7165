import { describe, expect, it } from 'vitest';
import { PgoutputPlugin } from 'pg-logical-replication';
import { PgoutputDecoder, type PgoutputMessage } from './pgoutput-decoder.ts';

// pgoutput protocol 1 messages written byte by byte from PostgreSQL's documentation
// (protocol-logicalrep-message-formats), decoded by our decoder and, as a second opinion, by
// pg-logical-replication's parser (which the bridge used before) with its value parsers off.

const cstr = (text: string) => Buffer.concat([Buffer.from(text), Buffer.from([0])]);
const int8 = (value: number) => Buffer.from([value]);
const int16 = (value: number) => { const buffer = Buffer.alloc(2); buffer.writeInt16BE(value); return buffer; };
const int32 = (value: number) => { const buffer = Buffer.alloc(4); buffer.writeInt32BE(value); return buffer; };
const int64 = (value: bigint) => { const buffer = Buffer.alloc(8); buffer.writeBigInt64BE(value); return buffer; };
const tag = (letter: string) => Buffer.from(letter);

type Column = string | null | 'unchanged';
const tuple = (values: Column[]) =>
  Buffer.concat([int16(values.length), ...values.map((value) => (value === null ? tag('n') : value === 'unchanged' ? tag('u') : Buffer.concat([tag('t'), int32(Buffer.byteLength(value)), Buffer.from(value)])))]);

const relation = (oid: number, name: string, identity: string, columns: Array<[number, string, number, number]>) =>
  Buffer.concat([tag('R'), int32(oid), cstr('public'), cstr(name), tag(identity), int16(columns.length), ...columns.flatMap(([flags, column, type, mod]) => [int8(flags), cstr(column), int32(type), int32(mod)])]);

const PRICE = relation(16400, 'price', 'f', [[1, 'id', 23, -1], [1, 'value', 1700, 1310730], [1, 'note', 25, -1]]);
const KEYED = relation(16401, 'keyed', 'd', [[1, 'id', 23, -1], [0, 'body', 25, -1], [0, 'extra', 25, -1]]);
const COMMIT_TIME = 817_000_000_123_456n; // µs since 2000-01-01

const messages: Array<[string, Buffer]> = [
  ['relation (REPLICA IDENTITY FULL)', PRICE],
  ['relation (default identity)', KEYED],
  ['begin', Buffer.concat([tag('B'), int64(0x1_6b37_48n), int64(COMMIT_TIME), int32(4711)])],
  ['insert with NULL and UTF-8 text', Buffer.concat([tag('I'), int32(16400), tag('N'), tuple(['1', '19.990000', 'ünïcødé ✓ and a longer text past twenty-four bytes'])])],
  ['insert with a NULL', Buffer.concat([tag('I'), int32(16400), tag('N'), tuple(['2', null, 'x'])])],
  ['update with the old row and an unchanged TOAST value', Buffer.concat([tag('U'), int32(16400), tag('O'), tuple(['1', '19.990000', 'big text']), tag('N'), tuple(['1', '17.500000', 'unchanged'])])],
  ['update without old row, unchanged TOAST', Buffer.concat([tag('U'), int32(16401), tag('N'), tuple(['3', 'unchanged', 'e'])])],
  ['update with the old key', Buffer.concat([tag('U'), int32(16401), tag('K'), tuple(['3', null, null]), tag('N'), tuple(['4', 'b', null])])],
  ['delete with the old row', Buffer.concat([tag('D'), int32(16400), tag('O'), tuple(['2', null, 'x'])])],
  ['delete with the key', Buffer.concat([tag('D'), int32(16401), tag('K'), tuple(['4', null, null])])],
  ['truncate', Buffer.concat([tag('T'), int32(2), int8(3), int32(16400), int32(16401)])],
  ['logical message', Buffer.concat([tag('M'), int8(0), int64(0x2_0000_0010n), cstr('strangler.snapshot'), int32(5), Buffer.from('{"a":')])],
  ['type', Buffer.concat([tag('Y'), int32(70000), cstr('public'), cstr('mood')])],
  ['origin', Buffer.concat([tag('O'), int64(0x10n), cstr('node_a')])],
  ['commit', Buffer.concat([tag('C'), int8(0), int64(0x1_6b37_48n), int64(0x1_6b37_80n), int64(COMMIT_TIME)])],
];

class RawTextPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer) {
    const message = super.parse(buffer);
    if (message.tag === 'relation') for (const column of message.columns) column.parser = (raw: unknown) => raw;
    return message;
  }
}

/** The library-shaped view of a message: its enumerable fields plus the compatibility getters. */
function libraryView(message: PgoutputMessage): Record<string, unknown> {
  const view: Record<string, unknown> = { tag: message.tag };
  const fields: Record<string, string[]> = {
    begin: ['commitLsn', 'commitTime', 'xid'],
    commit: ['flags', 'commitLsn', 'commitEndLsn', 'commitTime'],
    insert: ['new'],
    update: ['key', 'old', 'new'],
    delete: ['key', 'old'],
    truncate: ['cascade', 'restartIdentity'],
    message: ['flags', 'transactional', 'messageLsn', 'prefix', 'content'],
    type: ['typeOid', 'typeSchema', 'typeName'],
    origin: ['originLsn', 'originName'],
    relation: ['relationOid', 'schema', 'name', 'replicaIdentity', 'keyColumns'],
  };
  for (const field of fields[message.tag] ?? []) view[field] = (message as unknown as Record<string, unknown>)[field];
  if ('relation' in message) view.relation = message.relation.name;
  if (message.tag === 'truncate') view.relations = message.relations.map((relation) => relation.name);
  if (message.tag === 'relation') view.columns = message.columns.map(({ flags, name, typeOid, typeMod }) => ({ flags, name, typeOid, typeMod }));
  return JSON.parse(JSON.stringify(view, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))) as Record<string, unknown>;
}

describe('pgoutput decoder', () => {
  it('decodes every message type as pg-logical-replication did, values kept as text', () => {
    const ours = new PgoutputDecoder();
    const theirs = new RawTextPlugin({ protoVersion: 1, publicationNames: ['p'] });
    for (const [what, bytes] of messages) {
      const expected = libraryView(theirs.parse(bytes) as unknown as PgoutputMessage);
      // Inside a replication CopyData message, after the 25-byte XLogData header.
      const framed = Buffer.concat([Buffer.alloc(25, 0x77), bytes]);
      expect(libraryView(ours.decode(framed, 25)), what).toEqual(expected);
    }
  });

  it('hands out tuples as arrays in column order: NULL as null, unsent (unchanged TOAST, non-key) as undefined', () => {
    const decoder = new PgoutputDecoder();
    decoder.decode(PRICE);
    decoder.decode(KEYED);
    const update = decoder.decode(messages[5]![1]);
    expect(update.tag === 'update' && [update.oldValues, update.newValues]).toEqual([['1', '19.990000', 'big text'], ['1', '17.500000', 'big text']]);
    const withoutOld = decoder.decode(messages[6]![1]);
    expect(withoutOld.tag === 'update' && withoutOld.newValues).toEqual(['3', undefined, 'e']);
    const keyDelete = decoder.decode(messages[9]![1]);
    expect(keyDelete.tag === 'delete' && keyDelete.keyValues).toEqual(['4', undefined, undefined]);
    const begin = decoder.decode(messages[2]![1]);
    expect(begin.tag === 'begin' && [begin.finalLsn?.toString(), begin.commitTimeMs]).toEqual(['0/16B3748', Number(COMMIT_TIME / 1000n) + 946_684_800_000]);
  });

  it('copies a logical message out of the read buffer, which the connection reuses', () => {
    const bytes = Buffer.from(messages[11]![1]);
    const message = new PgoutputDecoder().decode(bytes);
    bytes.fill(0);
    expect(message.tag === 'message' && message.content.toString()).toBe('{"a":');
  });

  it('refuses a change of a relation it was never told about, and a message cut short', () => {
    expect(() => new PgoutputDecoder().decode(messages[3]![1])).toThrow(/before its Relation message/);
    const decoder = new PgoutputDecoder();
    decoder.decode(PRICE);
    expect(() => decoder.decode(messages[3]![1].subarray(0, 20))).toThrow(/ends early/);
  });
});
