import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { comparePositions, parseReceivedBatch } from '../consumer/received-change.ts';
import type { RelationColumn, Row } from '../events/change-event.ts';
import { TypeOid, mapValue } from '../events/value-mapping.ts';
import { Lsn } from '../offsets/lsn.ts';
import type { SnapshotTable, TextValues } from './chunk-reader.ts';
import { buildBatches, rowsPositionAt, type SnapshotMessage } from './snapshot-message.ts';
import { BATCH_CONTENT_TYPE_V2 } from './snapshot-protocol.ts';

// The compact batch body (snapshot-protocol.ts, version 2) between buildBatches and the consumer
// kit: the changes it expands to are the ones the version 1 body (a whole envelope per row) gave.

const table: SnapshotTable = {
  schema: 'public',
  name: 'snap_mixed',
  qualified: 'public.snap_mixed',
  sql: '"public"."snap_mixed"',
  keyColumns: ['id', 'code'],
  keyTypes: ['integer', 'text'],
  keyTypeOids: [TypeOid.int4, TypeOid.text],
  keyTypeMods: [-1, -1],
};

const columns: RelationColumn[] = [
  { name: 'id', typeOid: TypeOid.int4, typeMod: -1 },
  { name: 'code', typeOid: TypeOid.text, typeMod: -1 },
  { name: 'price', typeOid: TypeOid.numeric, typeMod: -1 },
  { name: 'active', typeOid: TypeOid.bool, typeMod: -1 },
  { name: 'doc', typeOid: TypeOid.jsonb, typeMod: -1 },
  { name: 'updated', typeOid: TypeOid.timestamp, typeMod: -1 },
  { name: 'seen', typeOid: TypeOid.timestamptz, typeMod: -1 },
  { name: 'big', typeOid: TypeOid.int8, typeMod: -1 },
  { name: 'tags', typeOid: 1007, typeMod: -1 },
];

const rows: TextValues[] = [
  ['1', 'a "quoted" \\ code', '12.3400', 't', '{"n": 1, "tags": ["a", 1]}', '2024-01-01 00:00:00.123456', '2024-01-01 00:00:00+02', '9007199254740993', '{1,2,3}'],
  ['2', 'b', null, 'f', null, '2024-02-29 23:59:59', null, '-5', '{}'],
  ['3', 'ü', '0', null, '[]', null, '1999-12-31 23:59:59.5+00', null, null],
];

const highWatermark = Lsn.parse('1/2A3B4C');
const context = { serverName: 'legacy', database: 'legacy', snapshotId: 'snap-1', queue: 'pim.cdc', now: () => 1_764_000_000_000 };

function delivered(message: SnapshotMessage): ConsumeMessage {
  return { content: message.body, properties: { ...message.properties, headers: message.properties.headers ?? {} }, fields: {} } as unknown as ConsumeMessage;
}

function mapped(values: TextValues, types: RelationColumn[]): Row {
  const row: Row = {};
  types.forEach((column, index) => {
    row[column.name] = values[index] === null ? null : mapValue(values[index]!, column);
  });
  return row;
}

const source = {
  version: 'strangler-cdc-0.1.0',
  connector: 'postgresql',
  name: 'legacy',
  ts_ms: 1_764_000_000_000,
  snapshot: 'incremental',
  db: 'legacy',
  sequence: `["${highWatermark.toBigInt()}","${highWatermark.toBigInt()}"]`,
  schema: 'public',
  table: 'snap_mixed',
  txId: null,
  lsn: highWatermark.toNumber(),
  xmin: null,
};

describe('snapshot batch messages (compact body)', () => {
  it('expand in the consumer kit into the changes a whole envelope per row gave: values mapped as streamed, keys, positions, message ids, one shared source', () => {
    const messages = buildBatches(context, table, columns, rows, [{ id: '7', code: 'gone' }], highWatermark, 2);
    expect(messages.map((message) => [message.properties.contentType, message.properties.headers?.op, message.properties.headers?.position, message.rows])).toEqual([
      [BATCH_CONTENT_TYPE_V2, 'r', 0, 2],
      [BATCH_CONTENT_TYPE_V2, 'r', 2, 1],
      [BATCH_CONTENT_TYPE_V2, 'd', 3, 1],
    ]);
    const changes = messages.flatMap((message) => parseReceivedBatch(delivered(message)));
    expect(changes.map((change) => ({ ...change, position: { commitLsn: change.position.commitLsn.toString(), index: change.position.index } }))).toEqual([
      ...rows.map((values, index) => ({
        event: { before: null, after: mapped(values, columns), source, op: 'r', ts_ms: 1_764_000_000_000, transaction: null },
        table: 'public.snap_mixed',
        key: { id: Number(values[0]), code: values[1] },
        messageId: `legacy:1/2A3B4C:${index}`,
        position: { commitLsn: '1/2A3B4C', index },
        attempt: 1,
      })),
      {
        event: { before: { id: 7, code: 'gone' }, after: null, source, op: 'd', ts_ms: 1_764_000_000_000, transaction: null },
        table: 'public.snap_mixed',
        key: { id: 7, code: 'gone' },
        messageId: 'legacy:1/2A3B4C:3',
        position: { commitLsn: '1/2A3B4C', index: 3 },
        attempt: 1,
      },
    ]);
    expect(changes[0]!.event.after!.big).toBe('9007199254740993');
    expect(changes[0]!.event.source).toBe(changes[1]!.event.source);
    expect(Object.isFrozen(changes[0]!.event.source)).toBe(true);
    expect(Object.isFrozen(changes[0])).toBe(true);
  });

  it('are invalid as a whole when one row is: a wrong width, a value JSON cannot hold as a column, a null key, a bad shared part', () => {
    const [message] = buildBatches(context, table, columns, rows, [], highWatermark, 10);
    const body = JSON.parse(message!.body.toString('utf8')) as { rows: unknown[][]; source: Record<string, unknown>; key: string[] };
    const variant = (change: (copy: typeof body) => void): ConsumeMessage => {
      const copy = JSON.parse(JSON.stringify(body)) as typeof body;
      change(copy);
      return delivered({ ...message!, body: Buffer.from(JSON.stringify(copy)) });
    };
    expect(parseReceivedBatch(variant(() => undefined))).toHaveLength(3);
    expect(() => parseReceivedBatch(variant((copy) => copy.rows[2]!.pop()))).toThrow(/row 2: not an array of 9 values/);
    expect(() => parseReceivedBatch(variant((copy) => (copy.rows[1] = { id: 2 } as unknown as unknown[])))).toThrow(/row 1/);
    expect(() => parseReceivedBatch(variant((copy) => (copy.rows[1]![0] = null)))).toThrow(/row 1\.id: a key column is null/);
    expect(() => parseReceivedBatch(variant((copy) => (copy.key = ['id', 'nope'])))).toThrow(/key/);
    expect(() => parseReceivedBatch(variant((copy) => (copy.source.connector = 'mysql')))).toThrow(/source\.connector/);
    expect(() => parseReceivedBatch(variant((copy) => delete (copy as Partial<typeof copy>).rows))).toThrow(/rows/);
    expect(() => parseReceivedBatch(delivered({ ...message!, body: Buffer.from('{"op":') }))).toThrow(/not JSON/);
  });
});

describe('where a chunk\'s rows sit among the streamed changes', () => {
  it('when a transaction\'s commit record directly follows the high watermark (its commit LSN is the watermark\'s reported LSN), then its change sorts after every row of the chunk', () => {
    // PostgreSQL reports a logical message at the end of its record; a commit at the start of its own.
    const watermark = Lsn.parse('0/28B303E8');
    const row = { commitLsn: rowsPositionAt(watermark), index: 1899 };
    expect(comparePositions({ commitLsn: watermark, index: 0 }, row)).toBe(1);
    // A commit before the watermark's record (at least a record header, 24 bytes, earlier) sorts before the rows.
    expect(comparePositions({ commitLsn: Lsn.fromBigInt(watermark.toBigInt() - 24n), index: 5 }, { ...row, index: 0 })).toBe(-1);
  });
});
