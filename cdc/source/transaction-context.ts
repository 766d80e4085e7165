import { Lsn } from '../offsets/lsn.ts';
import {
  buildChangeEvent,
  type ChangeInput,
  type EventContext,
  type PublishableEvent,
  type RelationInfo,
  type TransactionInfo,
} from '../events/change-event.ts';
import type { PgoutputMessage } from './stream-reader.ts';

export type TransactionOutput =
  | { kind: 'event'; event: PublishableEvent }
  | { kind: 'commit'; endLsn: Lsn; commitTimeMs: number; events: number };

type RelationMessage = Extract<PgoutputMessage, { tag: 'relation' }>;

/**
 * Turns the pgoutput messages of one transaction into change events as they arrive. Nothing is
 * held back until the commit: pgoutput (protocol 1) only sends a transaction once it committed,
 * and BEGIN already carries the commit LSN, so each change can be published at once with its
 * final idempotency key — a 100,000-row transaction streams through in constant memory.
 */
export class TransactionContext {
  private current: TransactionInfo | undefined;
  private position = 0;
  /** Changes per table so far in this transaction, keyed by the (cached) relation: no key string per event. */
  private readonly perTable = new Map<RelationInfo, number>();
  /** Relation messages are parsed once per connection and per ALTER, so their mapping is cached by identity. */
  private readonly relations = new WeakMap<RelationMessage, RelationInfo>();

  constructor(
    private readonly context: EventContext,
    /** Primary key columns of a relation (looked up once per relation by the caller). */
    private readonly keyColumnsOf: (relation: RelationMessage) => string[],
  ) {}

  get inTransaction(): boolean {
    return this.current !== undefined;
  }

  /** Maps one message; returns what to publish (events) or to record (the commit). */
  accept(lsn: Lsn, message: PgoutputMessage): TransactionOutput[] {
    switch (message.tag) {
      case 'begin': {
        this.current = {
          xid: message.xid,
          commitLsn: message.commitLsn ? Lsn.parse(message.commitLsn) : lsn,
          commitTimeMs: Number((message.commitTime as bigint) / 1000n),
        };
        this.position = 0;
        this.perTable.clear();
        return [];
      }
      case 'insert':
        return [this.event({ op: 'c', relation: message.relation, oldTuple: null, newTuple: message.new, lsn })];
      case 'update':
        return [this.event({ op: 'u', relation: message.relation, oldTuple: message.old ?? message.key, newTuple: message.new, lsn })];
      case 'delete':
        return [this.event({ op: 'd', relation: message.relation, oldTuple: message.old ?? message.key, newTuple: null, lsn })];
      case 'truncate':
        return message.relations.map((relation) => this.event({ op: 't', relation, oldTuple: null, newTuple: null, lsn }));
      case 'commit': {
        const events = this.position;
        const endLsn = message.commitEndLsn ? Lsn.parse(message.commitEndLsn) : lsn;
        const commitTimeMs = this.current?.commitTimeMs ?? Number((message.commitTime as bigint) / 1000n);
        this.current = undefined;
        return [{ kind: 'commit', endLsn, commitTimeMs, events }];
      }
      default:
        // relation, type, origin and logical messages (heartbeats) carry no row change.
        return [];
    }
  }

  private event(change: {
    op: ChangeInput['op'];
    relation: RelationMessage;
    oldTuple: Record<string, unknown> | null;
    newTuple: Record<string, unknown> | null;
    lsn: Lsn;
  }): TransactionOutput {
    if (!this.current) throw new Error(`a ${change.op} change arrived outside a transaction`);
    let relation = this.relations.get(change.relation);
    if (!relation) {
      relation = {
        schema: change.relation.schema,
        table: change.relation.name,
        columns: change.relation.columns.map((column) => ({ name: column.name, typeOid: column.typeOid, typeMod: column.typeMod })),
        keyColumns: this.keyColumnsOf(change.relation),
      };
      this.relations.set(change.relation, relation);
    }
    const dataCollectionOrder = (this.perTable.get(relation) ?? 0) + 1;
    this.perTable.set(relation, dataCollectionOrder);
    const input: ChangeInput = {
      op: change.op,
      relation,
      oldTuple: change.oldTuple as ChangeInput['oldTuple'],
      newTuple: change.newTuple as ChangeInput['newTuple'],
      lsn: change.lsn,
      position: this.position,
      dataCollectionOrder,
    };
    this.position += 1;
    return { kind: 'event', event: buildChangeEvent(input, this.current, this.context) };
  }
}
