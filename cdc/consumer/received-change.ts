import type { ConsumeMessage } from 'amqplib';
import { changeEventSchema, type ChangeEvent, type Row } from '../events/change-event.ts';
import { CdcErrors } from '../errors.ts';
import { Lsn } from '../offsets/lsn.ts';
import type { JsonValue } from '../events/value-mapping.ts';
import {
  BATCH_CONTENT_TYPE,
  BATCH_CONTENT_TYPE_V2,
  BATCH_HEADER,
  CONTROL_HEADER,
  CompactBatchHeaderSchema,
  ControlKindSchema,
  SnapshotProgressSchema,
  type ControlKind,
  type SnapshotProgress,
} from '../snapshot/snapshot-protocol.ts';

/**
 * Where a change sits in the source's history: its transaction's commit LSN, then its position in
 * that transaction. Transactions commit in LSN order and changes within one in WAL order, so
 * this pair totally orders every change the bridge publishes — a duplicate has an equal
 * position, an out-of-order delivery a smaller one.
 */
export interface ChangePosition {
  commitLsn: Lsn;
  index: number;
}

export function comparePositions(a: ChangePosition, b: ChangePosition): number {
  return a.commitLsn.compare(b.commitLsn) || Math.sign(a.index - b.index);
}

/** A validated message from the CDC exchange, as the consumer kit hands it to a handler. */
export interface ReceivedChange {
  event: ChangeEvent;
  /** `schema.table` of the source row. */
  table: string;
  /** The row's primary key as the bridge sent it (null for a truncate). */
  key: Row | null;
  /** Stable idempotency key (same on every re-delivery and re-publish). */
  messageId: string;
  position: ChangePosition;
  /** 1 on the first delivery, growing with each retry. */
  attempt: number;
}

export const ATTEMPT_HEADER = 'x-cdc-attempt';

/** What kind of message the kit holds: one change, a snapshot batch of rows, or a control message. */
export type MessageKind = 'change' | 'batch' | 'control';

export function messageKindOf(message: ConsumeMessage): MessageKind {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  if (headers[CONTROL_HEADER] !== undefined) return 'control';
  const contentType = message.properties.contentType;
  if (headers[BATCH_HEADER] !== undefined || contentType === BATCH_CONTENT_TYPE_V2 || contentType === BATCH_CONTENT_TYPE) return 'batch';
  return 'change';
}

/** A snapshot's control message (snapshot-protocol.ts): `progress`, `completed`, `cancelled` or `failed`. */
export interface ReceivedControl {
  kind: ControlKind;
  progress: SnapshotProgress;
}

/** Parses a control message (header `x-strangler-control: snapshot.<kind>`, body SnapshotProgress). */
export function parseReceivedControl(message: ConsumeMessage): ReceivedControl {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const raw = String(headers[CONTROL_HEADER] ?? '');
  const kind = ControlKindSchema.safeParse(raw.startsWith('snapshot.') ? raw.slice('snapshot.'.length) : raw);
  if (!kind.success) throw CdcErrors.messageInvalid(`${CONTROL_HEADER} ${JSON.stringify(raw)} is not snapshot.<progress|completed|cancelled|failed>`);
  const progress = SnapshotProgressSchema.safeParse(parseJson(message));
  if (!progress.success) {
    const issue = progress.error.issues[0];
    throw CdcErrors.messageInvalid(`control ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, progress.error);
  }
  return Object.freeze({ kind: kind.data, progress: progress.data });
}

/**
 * Unpacks a snapshot batch message (snapshot-protocol.ts, BATCH_HEADER) into one change per row,
 * in primary-key order, row i positioned at (commit_lsn, position + i), with message id
 * `<server>:<commit_lsn>:<position + i>` — the id the row would have had alone. Reads both bodies:
 * version 2 (`BATCH_CONTENT_TYPE_V2`, what the bridge writes: the shared part once, rows as value
 * arrays) and version 1 (a JSON array of `{ key, value }`, messages written before, still in
 * queues). One invalid row makes the whole message invalid.
 */
export function parseReceivedBatch(message: ConsumeMessage): ReceivedChange[] {
  const json = parseJson(message);
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const messageId = typeof message.properties.messageId === 'string' ? message.properties.messageId : '';
  const first = positionOf(headers, messageId);
  if (!first) throw CdcErrors.messageInvalid(`batch ${JSON.stringify(messageId)} carries no commit LSN and position`);
  const server = messageId.includes(':') ? messageId.slice(0, messageId.indexOf(':')) : 'legacy';
  const attempt = attemptOf(headers);
  if (message.properties.contentType === BATCH_CONTENT_TYPE_V2) return expandCompactBatch(json, first, `${server}:${first.commitLsn.toString()}:`, attempt);
  if (!Array.isArray(json)) throw CdcErrors.messageInvalid('a batch body is not a JSON array');
  const lsnText = first.commitLsn.toString();
  return json.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || !('value' in item)) throw CdcErrors.messageInvalid(`batch row ${i}: not { key, value }`);
    const event = parseEvent((item as { value: unknown }).value, `row ${i}.`);
    const key = (item as { key?: unknown }).key;
    return Object.freeze({
      event,
      table: `${event.source.schema}.${event.source.table}`,
      key: typeof key === 'object' && key !== null ? (key as Row) : null,
      messageId: `${server}:${lsnText}:${first.index + i}`,
      position: { commitLsn: first.commitLsn, index: first.index + i },
      attempt,
    });
  });
}

/**
 * A version 2 body: the shared part validated once (zod), each row by hand — an array of one
 * JSON value per column, key columns neither null nor nested — and expanded into the envelope a
 * version 1 row carries, every row sharing one frozen `source`.
 */
function expandCompactBatch(json: unknown, first: ChangePosition, messageIdPrefix: string, attempt: number): ReceivedChange[] {
  const parsed = CompactBatchHeaderSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw CdcErrors.messageInvalid(`batch ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, parsed.error);
  }
  const rows = (json as { rows?: unknown }).rows;
  if (!Array.isArray(rows)) throw CdcErrors.messageInvalid('batch rows: not an array');
  const { op, ts_ms: tsMs, columns, key: keyColumns } = parsed.data;
  const source = Object.freeze(parsed.data.source);
  const table = `${source.schema}.${source.table}`;
  const width = columns.length;
  const keyIndexes = keyColumns.map((column) => columns.indexOf(column));
  const changes = new Array<ReceivedChange>(rows.length);
  for (let i = 0; i < rows.length; i += 1) {
    const values: unknown = rows[i];
    if (!Array.isArray(values) || values.length !== width) throw CdcErrors.messageInvalid(`batch row ${i}: not an array of ${width} values`);
    const row: Row = {};
    for (let column = 0; column < width; column += 1) {
      const value: unknown = values[column];
      if (!isJsonValue(value)) throw CdcErrors.messageInvalid(`batch row ${i}.${columns[column]}: not a JSON value`);
      row[columns[column]!] = value;
    }
    const key: Row = {};
    for (let k = 0; k < keyIndexes.length; k += 1) {
      const value: unknown = values[keyIndexes[k]!];
      if (value === null || typeof value === 'object') throw CdcErrors.messageInvalid(`batch row ${i}.${keyColumns[k]}: a key column is null or not a scalar`);
      key[keyColumns[k]!] = value as JsonValue;
    }
    const index = first.index + i;
    changes[i] = Object.freeze({
      event: { before: op === 'd' ? row : null, after: op === 'd' ? null : row, source, op, ts_ms: tsMs, transaction: null },
      table,
      key,
      messageId: messageIdPrefix + index,
      position: { commitLsn: first.commitLsn, index },
      attempt,
    });
  }
  return changes;
}

/** A value JSON.parse made (so no undefined, function, NaN): a scalar, or an array or object of such. */
function isJsonValue(value: unknown): value is JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      if (value === null) return true;
      if (Array.isArray(value)) return value.every(isJsonValue);
      return Object.values(value).every(isJsonValue);
    default:
      return false;
  }
}

function parseJson(message: ConsumeMessage): unknown {
  try {
    return JSON.parse(message.content.toString('utf8'));
  } catch (error) {
    throw CdcErrors.messageInvalid('the body is not JSON', error);
  }
}

function parseEvent(json: unknown, where = ''): ChangeEvent {
  const parsed = changeEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw CdcErrors.messageInvalid(`${where}${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, parsed.error);
  }
  return parsed.data as ChangeEvent;
}

function attemptOf(headers: Record<string, unknown>): number {
  const attempt = Number(headers[ATTEMPT_HEADER] ?? 1);
  return Number.isInteger(attempt) && attempt > 0 ? attempt : 1;
}

/** Parses and validates one AMQP message; throws CDC_MESSAGE_INVALID with the failing field. */
export function parseReceivedChange(message: ConsumeMessage): ReceivedChange {
  const event = parseEvent(parseJson(message));
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const messageId = typeof message.properties.messageId === 'string' ? message.properties.messageId : '';
  const position = positionOf(headers, messageId);
  if (!position) throw CdcErrors.messageInvalid(`message_id ${JSON.stringify(messageId)} carries no commit LSN and position`);
  let key: Row | null = null;
  if (typeof headers.key === 'string') {
    try {
      key = JSON.parse(headers.key) as Row;
    } catch (error) {
      throw CdcErrors.messageInvalid('the key header is not JSON', error);
    }
  }
  return Object.freeze({
    event,
    table: `${event.source.schema}.${event.source.table}`,
    key,
    messageId,
    position,
    attempt: attemptOf(headers),
  });
}

function positionOf(headers: Record<string, unknown>, messageId: string): ChangePosition | undefined {
  try {
    if (typeof headers.commit_lsn === 'string' && typeof headers.position === 'number') {
      return { commitLsn: Lsn.parse(headers.commit_lsn), index: headers.position };
    }
    // message_id = <server>:<commit LSN>:<position>
    const match = /:([0-9A-Fa-f]+\/[0-9A-Fa-f]+):(\d+)$/.exec(messageId);
    if (match) return { commitLsn: Lsn.parse(match[1]!), index: Number(match[2]) };
  } catch {
    return undefined;
  }
  return undefined;
}
