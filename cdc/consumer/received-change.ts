import type { ConsumeMessage } from 'amqplib';
import { changeEventSchema, type ChangeEvent, type Row } from '../events/change-event.ts';
import { CdcErrors } from '../errors.ts';
import { Lsn } from '../offsets/lsn.ts';
import {
  BATCH_CONTENT_TYPE,
  BATCH_HEADER,
  CONTROL_HEADER,
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
  if (headers[BATCH_HEADER] !== undefined || message.properties.contentType === BATCH_CONTENT_TYPE) return 'batch';
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
 * Unpacks a snapshot batch message (snapshot-protocol.ts, BATCH_HEADER): a JSON array of
 * `{ key, value }` in primary-key order, row i positioned at (commit_lsn, position + i), with
 * message id `<server>:<commit_lsn>:<position + i>` — the id the row would have had alone. Every
 * row is validated like a single change; one invalid row makes the whole message invalid.
 */
export function parseReceivedBatch(message: ConsumeMessage): ReceivedChange[] {
  const json = parseJson(message);
  if (!Array.isArray(json)) throw CdcErrors.messageInvalid('a batch body is not a JSON array');
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const messageId = typeof message.properties.messageId === 'string' ? message.properties.messageId : '';
  const first = positionOf(headers, messageId);
  if (!first) throw CdcErrors.messageInvalid(`batch ${JSON.stringify(messageId)} carries no commit LSN and position`);
  const server = messageId.includes(':') ? messageId.slice(0, messageId.indexOf(':')) : 'legacy';
  const lsnText = first.commitLsn.toString();
  const attempt = attemptOf(headers);
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
