import { Lsn } from '../offsets/lsn.ts';

// pgoutput, logical replication protocol version 1, decoded straight from the bytes of each
// XLogData message: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
//
// Why not pg-logical-replication's parser (2.5): it decodes each tuple into a dictionary object
// through node-postgres' type parsers (a timestamp would become a millisecond Date, losing its
// microseconds), builds a padded LSN string and a BigInt commit time per message, and hands each
// message over through an EventEmitter and an acknowledge promise. Per change that cost more CPU
// than mapping the change. Here a tuple is an array of column texts in the relation's column
// order — what the per-relation encoder (events/change-event.ts) wants — and the dictionary
// shape stays available, computed only when someone reads `new`, `old` or `key`.
//
// The message shapes (tags and field names) are those of pg-logical-replication's `Pgoutput`
// types, so code written against them (the bridge, snapshot watermarks) reads the same.

/** Column texts in the relation's column order: null = SQL NULL, undefined = not sent (unchanged TOAST, or not part of a key tuple). */
export type TupleValues = Array<string | null | undefined>;

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface RelationColumn {
  /** 1 = part of the replica identity (every column with REPLICA IDENTITY FULL). */
  flags: number;
  name: string;
  typeOid: number;
  /** atttypmod: for timestamp/time the fractional precision, -1 when unspecified. */
  typeMod: number;
  /** From a preceding Type message (only sent for non-built-in types), else null. */
  typeSchema: string | null;
  typeName: string | null;
}

export interface RelationMessage {
  tag: 'relation';
  relationOid: number;
  schema: string;
  name: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
  /** Names of the replica identity columns. */
  keyColumns: string[];
}

export interface BeginMessage {
  tag: 'begin';
  /** The transaction's commit LSN, as a number-backed value (no string per transaction). */
  readonly finalLsn: Lsn | null;
  /** Commit time, milliseconds since the Unix epoch. */
  readonly commitTimeMs: number;
  readonly xid: number;
  /** The commit LSN in pg-logical-replication's notation ("0000000A/0000001F"). */
  readonly commitLsn: string | null;
  /** Commit time, microseconds since the Unix epoch. */
  readonly commitTime: bigint;
}

export interface CommitMessage {
  tag: 'commit';
  readonly flags: number;
  readonly commitLsnValue: Lsn | null;
  /** End of the commit record: the position to report once the transaction is safe. */
  readonly commitEndLsnValue: Lsn | null;
  readonly commitTimeMs: number;
  readonly commitLsn: string | null;
  readonly commitEndLsn: string | null;
  readonly commitTime: bigint;
}

export interface InsertMessage {
  tag: 'insert';
  readonly relation: RelationMessage;
  readonly newValues: TupleValues;
  readonly new: Record<string, string | null | undefined>;
}

export interface UpdateMessage {
  tag: 'update';
  readonly relation: RelationMessage;
  /** The old key (REPLICA IDENTITY DEFAULT/INDEX and the key changed), else null. */
  readonly keyValues: TupleValues | null;
  /** The whole old row (REPLICA IDENTITY FULL), else null. */
  readonly oldValues: TupleValues | null;
  /** The new row; an unchanged TOAST value is taken from the old row when it was sent. */
  readonly newValues: TupleValues;
  readonly key: Record<string, string | null | undefined> | null;
  readonly old: Record<string, string | null | undefined> | null;
  readonly new: Record<string, string | null | undefined>;
}

export interface DeleteMessage {
  tag: 'delete';
  readonly relation: RelationMessage;
  readonly keyValues: TupleValues | null;
  readonly oldValues: TupleValues | null;
  readonly key: Record<string, string | null | undefined> | null;
  readonly old: Record<string, string | null | undefined> | null;
}

export interface TruncateMessage {
  tag: 'truncate';
  cascade: boolean;
  restartIdentity: boolean;
  relations: RelationMessage[];
}

export interface TypeMessage {
  tag: 'type';
  typeOid: number;
  typeSchema: string;
  typeName: string;
}

export interface OriginMessage {
  tag: 'origin';
  originLsn: string | null;
  originName: string;
}

/** A logical decoding message (`pg_logical_emit_message`): heartbeats, snapshot watermarks. */
export interface LogicalMessage {
  tag: 'message';
  flags: number;
  transactional: boolean;
  messageLsn: string | null;
  prefix: string;
  /** A copy: the stream's read buffer is reused once the message is decoded. */
  content: Buffer;
}

export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | RelationMessage
  | TypeMessage
  | OriginMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage;

/** PostgreSQL's epoch (2000-01-01) in Unix milliseconds. */
const POSTGRES_EPOCH_MS = 946_684_800_000;
const HIGH = 0x1_0000_0000;

/** "0000000A/0000001F", the notation pg-logical-replication gives LSN fields. */
function paddedLsn(lsn: Lsn | null): string | null {
  if (!lsn) return null;
  const [high, low] = lsn.toString().split('/') as [string, string];
  return `${high.padStart(8, '0')}/${low.padStart(8, '0')}`;
}

function recordOf(relation: RelationMessage, values: TupleValues): Record<string, string | null | undefined> {
  const record: Record<string, string | null | undefined> = Object.create(null) as Record<string, string | null | undefined>;
  const columns = relation.columns;
  for (let index = 0; index < columns.length; index += 1) record[columns[index]!.name] = values[index];
  return record;
}

/** A key tuple as pg-logical-replication shapes it: only the key columns, none of them null. */
function keyRecordOf(relation: RelationMessage, values: TupleValues): Record<string, string | null | undefined> {
  const record: Record<string, string | null | undefined> = Object.create(null) as Record<string, string | null | undefined>;
  const columns = relation.columns;
  for (let index = 0; index < columns.length; index += 1) {
    const column = columns[index]!;
    if (column.flags & 1) record[column.name] = values[index] ?? undefined;
  }
  return record;
}

/** Microseconds since PostgreSQL's epoch (an int64 below 2^53 until the year 2285) → Unix ms. */
function unixMs(microsSince2000: number): number {
  return Math.floor(microsSince2000 / 1000) + POSTGRES_EPOCH_MS;
}

function unixMicros(microsSince2000: number): bigint {
  return BigInt(microsSince2000) + BigInt(POSTGRES_EPOCH_MS) * 1000n;
}

class Begin implements BeginMessage {
  readonly tag = 'begin';
  constructor(
    readonly finalLsn: Lsn | null,
    private readonly micros: number,
    readonly xid: number,
  ) {}

  get commitTimeMs(): number {
    return unixMs(this.micros);
  }

  get commitLsn(): string | null {
    return paddedLsn(this.finalLsn);
  }

  get commitTime(): bigint {
    return unixMicros(this.micros);
  }
}

class Commit implements CommitMessage {
  readonly tag = 'commit';
  constructor(
    readonly flags: number,
    readonly commitLsnValue: Lsn | null,
    readonly commitEndLsnValue: Lsn | null,
    private readonly micros: number,
  ) {}

  get commitTimeMs(): number {
    return unixMs(this.micros);
  }

  get commitLsn(): string | null {
    return paddedLsn(this.commitLsnValue);
  }

  get commitEndLsn(): string | null {
    return paddedLsn(this.commitEndLsnValue);
  }

  get commitTime(): bigint {
    return unixMicros(this.micros);
  }
}

class Insert implements InsertMessage {
  readonly tag = 'insert';
  constructor(
    readonly relation: RelationMessage,
    readonly newValues: TupleValues,
  ) {}

  get new(): Record<string, string | null | undefined> {
    return recordOf(this.relation, this.newValues);
  }
}

class Update implements UpdateMessage {
  readonly tag = 'update';
  constructor(
    readonly relation: RelationMessage,
    readonly keyValues: TupleValues | null,
    readonly oldValues: TupleValues | null,
    readonly newValues: TupleValues,
  ) {}

  get key(): Record<string, string | null | undefined> | null {
    return this.keyValues && keyRecordOf(this.relation, this.keyValues);
  }

  get old(): Record<string, string | null | undefined> | null {
    return this.oldValues && recordOf(this.relation, this.oldValues);
  }

  get new(): Record<string, string | null | undefined> {
    return recordOf(this.relation, this.newValues);
  }
}

class Delete implements DeleteMessage {
  readonly tag = 'delete';
  constructor(
    readonly relation: RelationMessage,
    readonly keyValues: TupleValues | null,
    readonly oldValues: TupleValues | null,
  ) {}

  get key(): Record<string, string | null | undefined> | null {
    return this.keyValues && keyRecordOf(this.relation, this.keyValues);
  }

  get old(): Record<string, string | null | undefined> | null {
    return this.oldValues && recordOf(this.relation, this.oldValues);
  }
}

/**
 * Decodes pgoutput messages; holds the relations (and types) announced on this connection, as
 * every change refers to its relation by OID. One decoder per replication connection.
 */
export class PgoutputDecoder {
  private readonly relations = new Map<number, RelationMessage>();
  private readonly types = new Map<number, { typeSchema: string; typeName: string }>();
  private buffer: Buffer = Buffer.alloc(0);
  private offset = 0;

  /** Decodes the message in `buffer[start, end)`. Values are copied out: the buffer may be reused afterwards. */
  decode(buffer: Buffer, start = 0, end = buffer.length): PgoutputMessage {
    this.buffer = end === buffer.length ? buffer : buffer.subarray(0, end);
    this.offset = start;
    const tag = this.uint8();
    switch (tag) {
      case 0x42 /* B */:
        return new Begin(this.lsn(), this.int64(), this.uint32());
      case 0x43 /* C */:
        return new Commit(this.uint8(), this.lsn(), this.lsn(), this.int64());
      case 0x49 /* I */: {
        const relation = this.relation();
        this.expect(0x4e /* N */);
        return new Insert(relation, this.tuple(relation, null, false));
      }
      case 0x55 /* U */: {
        const relation = this.relation();
        const kind = this.uint8();
        if (kind === 0x4e /* N */) return new Update(relation, null, null, this.tuple(relation, null, false));
        if (kind !== 0x4b /* K */ && kind !== 0x4f /* O */) throw this.malformed(`update sub-message ${kind}`);
        const old = this.tuple(relation, null, kind === 0x4b);
        this.expect(0x4e /* N */);
        // With the whole old row at hand, an unchanged TOAST value is the old row's value.
        const values = this.tuple(relation, kind === 0x4f ? old : null, false);
        return kind === 0x4b ? new Update(relation, old, null, values) : new Update(relation, null, old, values);
      }
      case 0x44 /* D */: {
        const relation = this.relation();
        const kind = this.uint8();
        if (kind !== 0x4b /* K */ && kind !== 0x4f /* O */) throw this.malformed(`delete sub-message ${kind}`);
        const old = this.tuple(relation, null, kind === 0x4b);
        return kind === 0x4b ? new Delete(relation, old, null) : new Delete(relation, null, old);
      }
      case 0x52 /* R */:
        return this.relationMessage();
      case 0x54 /* T */: {
        const count = this.uint32();
        const flags = this.uint8();
        const relations: RelationMessage[] = [];
        for (let index = 0; index < count; index += 1) relations.push(this.relation());
        return { tag: 'truncate', cascade: Boolean(flags & 1), restartIdentity: Boolean(flags & 2), relations };
      }
      case 0x4d /* M */: {
        const flags = this.uint8();
        const messageLsn = paddedLsn(this.lsn());
        const prefix = this.string();
        const length = this.uint32();
        this.need(length);
        const content = Buffer.from(this.buffer.subarray(this.offset, this.offset + length));
        this.offset += length;
        return { tag: 'message', flags, transactional: Boolean(flags & 1), messageLsn, prefix, content };
      }
      case 0x59 /* Y */: {
        const typeOid = this.uint32();
        const typeSchema = this.string();
        const typeName = this.string();
        this.types.set(typeOid, { typeSchema, typeName });
        return { tag: 'type', typeOid, typeSchema, typeName };
      }
      case 0x4f /* O */:
        return { tag: 'origin', originLsn: paddedLsn(this.lsn()), originName: this.string() };
      default:
        throw this.malformed(`unknown message type ${tag}`);
    }
  }

  private relationMessage(): RelationMessage {
    const relationOid = this.uint32();
    const schema = this.string();
    const name = this.string();
    const identity = this.uint8();
    const replicaIdentity: ReplicaIdentity | undefined =
      identity === 0x64 ? 'default' : identity === 0x6e ? 'nothing' : identity === 0x66 ? 'full' : identity === 0x69 ? 'index' : undefined;
    if (!replicaIdentity) throw this.malformed(`unknown replica identity ${identity}`);
    const count = this.uint16();
    const columns: RelationColumn[] = [];
    for (let index = 0; index < count; index += 1) {
      const flags = this.uint8();
      const columnName = this.string();
      const typeOid = this.uint32();
      const typeMod = this.int32();
      const type = this.types.get(typeOid);
      columns.push({ flags, name: columnName, typeOid, typeMod, typeSchema: type?.typeSchema ?? null, typeName: type?.typeName ?? null });
    }
    const message: RelationMessage = {
      tag: 'relation',
      relationOid,
      schema,
      name,
      replicaIdentity,
      columns,
      keyColumns: columns.filter((column) => column.flags & 1).map((column) => column.name),
    };
    this.relations.set(relationOid, message);
    return message;
  }

  private relation(): RelationMessage {
    const oid = this.uint32();
    const relation = this.relations.get(oid);
    if (!relation) throw this.malformed(`a change of relation ${oid} before its Relation message`);
    return relation;
  }

  /**
   * TupleData: Int16 column count, then per column 'n' (null), 'u' (unchanged TOAST, not sent),
   * 't' + Int32 length + text. In a key tuple ('K') the non-key columns come as nulls: they are
   * not values, so they become undefined, as does anything a key column would not hold.
   */
  private tuple(relation: RelationMessage, fallback: TupleValues | null, keyOnly: boolean): TupleValues {
    const count = this.uint16();
    if (count > relation.columns.length) throw this.malformed(`a tuple of ${count} columns for ${relation.columns.length}`);
    const values: TupleValues = new Array<string | null | undefined>(count);
    const buffer = this.buffer;
    for (let index = 0; index < count; index += 1) {
      this.need(1);
      const kind = buffer[this.offset++]!;
      if (kind === 0x74 /* t */) {
        const length = this.uint32();
        this.need(length);
        const start = this.offset;
        this.offset += length;
        values[index] = keyOnly && !(relation.columns[index]!.flags & 1) ? undefined : text(buffer, start, this.offset);
      } else if (kind === 0x6e /* n */) {
        values[index] = keyOnly ? undefined : null;
      } else if (kind === 0x75 /* u */) {
        values[index] = fallback ? fallback[index] : undefined;
      } else {
        // 'b' (binary) only comes when the subscriber asks for binary mode; we never do.
        throw this.malformed(`column kind ${kind}`);
      }
    }
    return values;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw this.malformed('message ends early');
  }

  private expect(byte: number): void {
    if (this.uint8() !== byte) throw this.malformed(`expected ${String.fromCharCode(byte)}`);
  }

  private uint8(): number {
    this.need(1);
    return this.buffer[this.offset++]!;
  }

  private uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  private uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  private int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A signed 64-bit count (a timestamp in microseconds), exact below 2^53. */
  private int64(): number {
    this.need(8);
    const value = this.buffer.readInt32BE(this.offset) * HIGH + this.buffer.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return value;
  }

  private lsn(): Lsn | null {
    this.need(8);
    const high = this.buffer.readUInt32BE(this.offset);
    const low = this.buffer.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return high === 0 && low === 0 ? null : Lsn.fromHalves(high, low);
  }

  private string(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw this.malformed('unterminated string');
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  private malformed(what: string): Error {
    return new Error(`malformed pgoutput message: ${what}`);
  }
}

/** Buffer's own slicers (stable since Node 0.x, what `toString(encoding, start, end)` calls after checking its arguments). */
type Slicer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/**
 * A column's text. Short ASCII values (numbers, dates, codes: most columns) are sliced as latin1,
 * which V8 copies byte for byte, instead of through the UTF-8 decoder: ~30 % less per value.
 */
function text(buffer: Buffer, start: number, end: number): string {
  if (end - start <= 24) {
    let ascii = true;
    for (let index = start; index < end; index += 1) {
      if (buffer[index]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return (buffer as Slicer).latin1Slice(start, end);
  }
  return (buffer as Slicer).utf8Slice(start, end);
}
