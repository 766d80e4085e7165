import type { ConsumeMessage } from 'amqplib';
import { changeEventSchema, type ChangeEvent, type Row } from '../events/change-event.ts';
import { CdcErrors } from '../errors.ts';
import { Lsn } from '../offsets/lsn.ts';

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

/** Parses and validates one AMQP message; throws CDC_MESSAGE_INVALID with the failing field. */
export function parseReceivedChange(message: ConsumeMessage): ReceivedChange {
  let json: unknown;
  try {
    json = JSON.parse(message.content.toString('utf8'));
  } catch (error) {
    throw CdcErrors.messageInvalid('the body is not JSON', error);
  }
  const parsed = changeEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw CdcErrors.messageInvalid(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, parsed.error);
  }
  const event = parsed.data as ChangeEvent;
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
  const attempt = Number(headers[ATTEMPT_HEADER] ?? 1);
  return Object.freeze({
    event,
    table: `${event.source.schema}.${event.source.table}`,
    key,
    messageId,
    position,
    attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
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
