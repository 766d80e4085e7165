import type { Options } from 'amqplib';
import { BRIDGE_VERSION, routingKeyOf, type RelationColumn } from '../events/change-event.ts';
import { jsonTextEncoderFor, type ColumnType } from '../events/value-mapping.ts';
import { Lsn } from '../offsets/lsn.ts';
import type { SnapshotTable, TextRow, TextValues } from './chunk-reader.ts';
import { BATCH_CONTENT_TYPE_V2, BATCH_HEADER, CONTROL_HEADER, SNAPSHOT_ID_HEADER, type ControlKind, type SnapshotProgress } from './snapshot-protocol.ts';

/** A message for the default exchange: routing key = the target queue. */
export interface SnapshotMessage {
  routingKey: string;
  body: Buffer;
  properties: Options.Publish;
  rows: number;
}

export interface SnapshotEventContext {
  serverName: string;
  database: string;
  snapshotId: string;
  queue: string;
  now: () => number;
}

/**
 * Writes a chunk row's values as the JSON text of an array, each value as streamed events carry it
 * (events/value-mapping.ts `jsonTextEncoderFor`, the encoders of the bridge's hot path): the text
 * is concatenated, never an object per row or value.
 */
function rowEncoder(columns: readonly ColumnType[]): (values: ReadonlyArray<string | null | undefined>) => string {
  const encoders = columns.map((column) => jsonTextEncoderFor(column));
  const count = encoders.length;
  return (values) => {
    let json = '[';
    for (let index = 0; index < count; index += 1) {
      const value = values[index];
      if (index > 0) json += ',';
      json += value === null || value === undefined ? 'null' : encoders[index]!(value);
    }
    return `${json}]`;
  };
}

/**
 * The commit LSN a chunk's rows are positioned at, from the LSN the stream reports for its high
 * watermark: one byte before it. PostgreSQL reports a logical decoding message at the END of its
 * WAL record (decode.c passes `buf->endptr`), and a transaction's commit LSN is the START of its
 * commit record — so a transaction whose commit record directly follows the watermark has exactly
 * the watermark's LSN. Its change is not in the chunk's window (it commits after the watermark)
 * and is newer than the chunk's read, but (lsn, 0) sorted before the rows' (lsn, i): the row's
 * older value won (bench:seed 100k, 05:31 UTC: one product's weight stayed 0.17 while the legacy
 * said 0.18). Every commit before the watermark ends before its record starts, far below this.
 */
export function rowsPositionAt(watermarkLsn: Lsn): Lsn {
  return Lsn.fromBigInt(watermarkLsn.toBigInt() - 1n);
}

/**
 * The rows of one chunk (and the deletes of requested keys that no longer exist) as batch
 * messages (snapshot-protocol.ts, `BATCH_CONTENT_TYPE_V2`): op "r" / "d", source.snapshot
 * "incremental", positioned at the high watermark — commit_lsn = `highWatermark` (the caller
 * passes `rowsPositionAt(watermark)`), row i at index i — so the consumer kit's position guard
 * puts them after every change the window dropped them for, and before any change that follows.
 */
export function buildBatches(
  context: SnapshotEventContext,
  table: SnapshotTable,
  columns: RelationColumn[],
  rows: TextValues[],
  deleted: TextRow[],
  highWatermark: Lsn,
  batchRows: number,
): SnapshotMessage[] {
  const lsnDecimal = highWatermark.toBigInt().toString();
  const lsnText = highWatermark.toString();
  const now = context.now();
  const routingKey = routingKeyOf(context.serverName, table.schema, table.name);
  const source = JSON.stringify({
    version: BRIDGE_VERSION,
    connector: 'postgresql',
    name: context.serverName,
    ts_ms: now,
    snapshot: 'incremental',
    db: context.database,
    sequence: `["${lsnDecimal}","${lsnDecimal}"]`,
    schema: table.schema,
    table: table.name,
    txId: null,
    lsn: highWatermark.toNumber(),
    xmin: null,
  });
  const key = JSON.stringify(table.keyColumns);
  const keyTypes = table.keyColumns.map((_, index) => ({ typeOid: table.keyTypeOids[index]!, typeMod: table.keyTypeMods[index]! }));
  const messages: SnapshotMessage[] = [];
  // One op per message (the `op` header), at most `batchRows` rows; rows first, then deletes.
  const emit = (op: 'r' | 'd', names: readonly string[], texts: string[], start: number): void => {
    messages.push({
      routingKey: context.queue,
      rows: texts.length,
      body: Buffer.from(`{"op":"${op}","ts_ms":${now},"source":${source},"columns":${JSON.stringify(names)},"key":${key},"rows":[${texts.join(',')}]}`),
      properties: {
        persistent: true,
        contentType: BATCH_CONTENT_TYPE_V2,
        messageId: `${context.serverName}:${lsnText}:${start}`,
        timestamp: Math.floor(now / 1000),
        type: `${routingKey}.${op}`,
        headers: {
          [BATCH_HEADER]: texts.length,
          [SNAPSHOT_ID_HEADER]: context.snapshotId,
          table: table.qualified,
          op,
          server: context.serverName,
          commit_lsn: lsnText,
          position: start,
        },
      },
    });
  };
  const names = columns.map((column) => column.name);
  const encodeRow = rowEncoder(columns);
  for (let start = 0; start < rows.length; start += batchRows) {
    const end = Math.min(rows.length, start + batchRows);
    const texts: string[] = new Array<string>(end - start);
    for (let index = start; index < end; index += 1) texts[index - start] = encodeRow(rows[index]!);
    emit('r', names, texts, start);
  }
  const encodeKey = rowEncoder(keyTypes);
  for (let start = 0; start < deleted.length; start += batchRows) {
    const texts = deleted.slice(start, start + batchRows).map((row) => encodeKey(table.keyColumns.map((column) => row[column])));
    emit('d', table.keyColumns, texts, rows.length + start);
  }
  return messages;
}

/** A control message (progress, completed, cancelled, failed) for the target's queue. */
export function buildControl(context: SnapshotEventContext, kind: ControlKind, progress: SnapshotProgress, sequence: number): SnapshotMessage {
  return {
    routingKey: context.queue,
    rows: 0,
    body: Buffer.from(JSON.stringify(progress)),
    properties: {
      persistent: true,
      contentType: 'application/json',
      messageId: `${context.serverName}:snapshot:${context.snapshotId}:${kind}:${sequence}`,
      timestamp: Math.floor(context.now() / 1000),
      type: `strangler.snapshot.${kind}`,
      headers: {
        [CONTROL_HEADER]: `snapshot.${kind}`,
        [SNAPSHOT_ID_HEADER]: context.snapshotId,
        server: context.serverName,
      },
    },
  };
}
