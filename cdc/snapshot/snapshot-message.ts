import type { Options } from 'amqplib';
import { BRIDGE_VERSION, routingKeyOf, type ChangeEvent, type RelationColumn, type Row } from '../events/change-event.ts';
import { mapValue } from '../events/value-mapping.ts';
import type { Lsn } from '../offsets/lsn.ts';
import type { SnapshotTable, TextRow } from './chunk-reader.ts';
import {
  BATCH_CONTENT_TYPE,
  BATCH_HEADER,
  CONTROL_HEADER,
  SNAPSHOT_ID_HEADER,
  type ControlKind,
  type SnapshotBatchItem,
  type SnapshotProgress,
} from './snapshot-protocol.ts';

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

/** Maps a text row with the streamed events' value mapping (cdc/events/value-mapping.ts). */
export function mapRow(row: TextRow, columns: RelationColumn[]): Row {
  const mapped: Row = {};
  for (const column of columns) {
    const raw = row[column.name];
    mapped[column.name] = raw === null || raw === undefined ? null : mapValue(raw, column);
  }
  return mapped;
}

function keyOf(table: SnapshotTable, row: TextRow): Row {
  const key: Row = {};
  table.keyColumns.forEach((column, index) => {
    const raw = row[column];
    key[column] = raw === null || raw === undefined ? null : mapValue(raw, { typeOid: table.keyTypeOids[index]!, typeMod: table.keyTypeMods[index]! });
  });
  return key;
}

/**
 * The rows of one chunk (and the deletes of requested keys that no longer exist) as batch
 * messages: op "r" / "d", source.snapshot "incremental", positioned at the high watermark —
 * commit_lsn = `highWatermark`, row i at index i — so the consumer kit's position guard puts
 * them after every change the window dropped them for, and before any change that follows.
 */
export function buildBatches(
  context: SnapshotEventContext,
  table: SnapshotTable,
  columns: RelationColumn[],
  rows: TextRow[],
  deleted: TextRow[],
  highWatermark: Lsn,
  batchRows: number,
): SnapshotMessage[] {
  const lsnDecimal = highWatermark.toBigInt().toString();
  const lsnText = highWatermark.toString();
  const now = context.now();
  const routingKey = routingKeyOf(context.serverName, table.schema, table.name);
  const envelope = (op: 'r' | 'd', before: Row | null, after: Row | null): ChangeEvent => ({
    before,
    after,
    source: {
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
    },
    op,
    ts_ms: now,
    transaction: null,
  });
  const items: Array<{ op: 'r' | 'd'; item: SnapshotBatchItem }> = [];
  for (const row of rows) {
    const after = mapRow(row, columns);
    items.push({ op: 'r', item: { key: keyOf(table, row), value: envelope('r', null, after) as unknown as Record<string, unknown> } });
  }
  for (const row of deleted) {
    const key = keyOf(table, row);
    items.push({ op: 'd', item: { key, value: envelope('d', key, null) as unknown as Record<string, unknown> } });
  }
  const messages: SnapshotMessage[] = [];
  let start = 0;
  while (start < items.length) {
    // One op per message (the `op` header), at most `batchRows` rows.
    const op = items[start]!.op;
    let end = start;
    while (end < items.length && end - start < batchRows && items[end]!.op === op) end += 1;
    const batch = items.slice(start, end).map((entry) => entry.item);
    messages.push({
      routingKey: context.queue,
      rows: batch.length,
      body: Buffer.from(JSON.stringify(batch)),
      properties: {
        persistent: true,
        contentType: BATCH_CONTENT_TYPE,
        messageId: `${context.serverName}:${lsnText}:${start}`,
        timestamp: Math.floor(now / 1000),
        type: `${routingKey}.${op}`,
        headers: {
          [BATCH_HEADER]: batch.length,
          [SNAPSHOT_ID_HEADER]: context.snapshotId,
          table: table.qualified,
          op,
          server: context.serverName,
          commit_lsn: lsnText,
          position: start,
        },
      },
    });
    start = end;
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
