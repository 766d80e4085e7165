import type { Lsn } from '../offsets/lsn.ts';
import {
  RelationEncoder,
  TransactionEncoder,
  encodeChange,
  type ColumnTexts,
  type EventContext,
  type Operation,
  type PublishableEvent,
  type RelationInfo,
  type TransactionInfo,
} from '../events/change-event.ts';
import type { PgoutputMessage, RelationMessage } from './pgoutput-decoder.ts';

export type TransactionOutput =
  | { kind: 'event'; event: PublishableEvent }
  | { kind: 'commit'; endLsn: Lsn; commitLsn: Lsn; commitTimeMs: number; events: number };

/** What a relation needs on the hot path, made once per Relation message. */
interface RelationState {
  encoder: RelationEncoder;
  /** The transaction (by sequence number) `changes` counts for: no per-transaction map to clear. */
  transaction: number;
  changes: number;
}

const NOTHING: TransactionOutput[] = [];

/**
 * Turns the pgoutput messages of one transaction into change events as they arrive. Nothing is
 * held back until the commit: pgoutput (protocol 1) only sends a transaction once it committed,
 * and BEGIN already carries the commit LSN, so each change can be published at once with its
 * final idempotency key — a 100,000-row transaction streams through in constant memory.
 */
export class TransactionContext {
  private current: TransactionInfo | undefined;
  private encoder: TransactionEncoder | undefined;
  private position = 0;
  private sequence = 0;
  /** Relation messages are decoded once per connection and per ALTER, so their state is cached by identity. */
  private readonly relations = new WeakMap<RelationMessage, RelationState>();

  constructor(
    private readonly context: EventContext,
    /** Primary key columns of a relation (looked up once per relation by the caller). */
    private readonly keyColumnsOf: (relation: RelationMessage) => string[],
  ) {}

  get inTransaction(): boolean {
    return this.current !== undefined;
  }

  /**
   * Maps one message; returns what to publish (events) or to record (the commit). The returned
   * array is the caller's to read, never to change (messages without output share one).
   */
  accept(lsn: Lsn, message: PgoutputMessage): TransactionOutput[] {
    switch (message.tag) {
      case 'begin': {
        this.current = { xid: message.xid, commitLsn: message.finalLsn ?? lsn, commitTimeMs: message.commitTimeMs };
        this.encoder = new TransactionEncoder(this.current, this.context);
        this.position = 0;
        this.sequence += 1;
        return NOTHING;
      }
      case 'insert':
        return [this.event('c', message.relation, null, message.newValues, lsn)];
      case 'update':
        return [this.event('u', message.relation, message.oldValues ?? message.keyValues, message.newValues, lsn)];
      case 'delete':
        return [this.event('d', message.relation, message.oldValues ?? message.keyValues, null, lsn)];
      case 'truncate':
        return message.relations.map((relation) => this.event('t', relation, null, null, lsn));
      case 'commit': {
        const events = this.position;
        const endLsn = message.commitEndLsnValue ?? lsn;
        const commitTimeMs = this.current?.commitTimeMs ?? message.commitTimeMs;
        const commitLsn = this.current?.commitLsn ?? message.commitLsnValue ?? lsn;
        this.current = undefined;
        this.encoder = undefined;
        return [{ kind: 'commit', endLsn, commitLsn, commitTimeMs, events }];
      }
      default:
        // relation, type, origin and logical messages (heartbeats) carry no row change.
        return NOTHING;
    }
  }

  private event(
    op: Exclude<Operation, 'r'>,
    message: RelationMessage,
    oldValues: ColumnTexts | null,
    newValues: ColumnTexts | null,
    lsn: Lsn,
  ): TransactionOutput {
    if (!this.encoder) throw new Error(`a ${op} change arrived outside a transaction`);
    let relation = this.relations.get(message);
    if (!relation) {
      const info: RelationInfo = {
        schema: message.schema,
        table: message.name,
        columns: message.columns.map((column) => ({ name: column.name, typeOid: column.typeOid, typeMod: column.typeMod })),
        keyColumns: this.keyColumnsOf(message),
      };
      relation = { encoder: new RelationEncoder(info, this.context.serverName), transaction: 0, changes: 0 };
      this.relations.set(message, relation);
    }
    if (relation.transaction !== this.sequence) {
      relation.transaction = this.sequence;
      relation.changes = 0;
    }
    relation.changes += 1;
    const position = this.position;
    this.position += 1;
    return { kind: 'event', event: encodeChange(relation.encoder, this.encoder, op, oldValues, newValues, lsn, position, relation.changes) };
  }
}
