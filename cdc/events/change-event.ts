import { z } from 'zod';
import type { Lsn } from '../offsets/lsn.ts';
import { jsonTextEncoderFor, mapValue, type ColumnType, type JsonTextEncoder, type JsonValue } from './value-mapping.ts';

/** c = create (insert), u = update, d = delete, t = truncate, r = read (snapshot). */
export type Operation = 'c' | 'u' | 'd' | 't' | 'r';

export type Row = Record<string, JsonValue>;

/** The `source` block, with Debezium's field names and JSON types. */
export interface ChangeEventSource {
  version: string;
  connector: 'postgresql';
  /** The logical server name (CDC_SERVER_NAME, default `legacy`). */
  name: string;
  /** Commit time of the transaction, milliseconds since the epoch. */
  ts_ms: number;
  /** Debezium 2.x writes this enum as a string: "true", "last", "false", "incremental". */
  snapshot: 'true' | 'first' | 'first_in_data_collection' | 'last' | 'last_in_data_collection' | 'false' | 'incremental';
  db: string;
  /** JSON array of two decimal LSN strings: the transaction's commit LSN and the change's LSN. */
  sequence: string;
  schema: string;
  table: string;
  txId: number | null;
  lsn: number | null;
  xmin: number | null;
}

export interface TransactionBlock {
  /** `<txId>:<commit LSN as a decimal>` as Debezium's PostgreSQL connector writes it. */
  id: string;
  total_order: number;
  data_collection_order: number;
}

/** One row change as Debezium's JSON converter writes it with schemas disabled. */
export interface ChangeEvent {
  before: Row | null;
  after: Row | null;
  source: ChangeEventSource;
  op: Operation;
  /** When the bridge processed the change, milliseconds since the epoch. */
  ts_ms: number;
  transaction: TransactionBlock | null;
  /**
   * Only present when non-empty: columns whose TOASTed value did not change and was not sent
   * by PostgreSQL (a table without REPLICA IDENTITY FULL). They are left out of `after`, so a
   * consumer must keep its current value instead of overwriting it. Debezium instead writes the
   * placeholder "__debezium_unavailable_value", which is exactly what must never reach a store.
   */
  unchanged_columns?: string[];
}

/** The version string the bridge writes into `source.version`. */
export const BRIDGE_VERSION = 'strangler-cdc-0.1.0';

export interface RelationColumn extends ColumnType {
  name: string;
}

export interface RelationInfo {
  schema: string;
  table: string;
  columns: RelationColumn[];
  /** Primary key columns (or the replica identity index), used for the event key. */
  keyColumns: string[];
}

/** What is known about the transaction an event belongs to. */
export interface TransactionInfo {
  xid: number;
  commitLsn: Lsn;
  commitTimeMs: number;
}

export interface ChangeInput {
  op: Exclude<Operation, 'r'>;
  relation: RelationInfo;
  /** Column values in PostgreSQL text format; `undefined` = an unchanged TOAST value that was not sent. */
  oldTuple: Record<string, string | null | undefined> | null;
  newTuple: Record<string, string | null | undefined> | null;
  /** LSN of the change's WAL record. */
  lsn: Lsn;
  /** 0-based position of the change in its transaction (WAL order). */
  position: number;
  /** 1-based position among the transaction's changes to the same table. */
  dataCollectionOrder: number;
}

export interface EventContext {
  serverName: string;
  database: string;
  transactionMetadata: boolean;
  now: () => number;
}

/** An event ready for the broker: body, routing key and the properties the publisher sets. */
export interface PublishableEvent {
  /** The event as an object (in the bridge's hot path made from the body only when read). */
  readonly event: ChangeEvent;
  readonly op: Exclude<Operation, 'r'>;
  /** The logical server name: `source.name` and the `server` header. */
  readonly serverName: string;
  /** Commit time of the transaction (`source.ts_ms`), for the AMQP `timestamp` property. */
  readonly commitTimeMs: number;
  /** Stable idempotency key: identical when the same change is published again after a restart. */
  readonly messageId: string;
  /** `<server>.<schema>.<table>`, Debezium's topic name. */
  readonly routingKey: string;
  /** `<schema>.<table>`, the `table` header. */
  readonly headersTable: string;
  /** `<routing key>.<op>`, the AMQP `type` property (built once per table and op). */
  readonly type: string;
  /** The row's key (primary key columns), as Debezium's key payload; null for truncate. */
  readonly key: Row | null;
  /** `key` as JSON text, the `key` header (null for truncate). */
  readonly keyJson: string | null;
  /** Commit LSN of the change's transaction and its position there: the total order of changes. */
  readonly commitLsn: Lsn;
  /** `commitLsn` in the server's notation, the `commit_lsn` header (built once per transaction). */
  readonly commitLsnText: string;
  readonly position: number;
  readonly body: Buffer;
}

export function routingKeyOf(serverName: string, schema: string, table: string): string {
  return `${serverName}.${schema}.${table}`;
}

/** Column texts in the relation's column order: null = SQL NULL, undefined = not sent (unchanged TOAST, or not in a key tuple). */
export type ColumnTexts = ReadonlyArray<string | null | undefined>;

/**
 * A relation's pre-serialised parts, made once per relation (an ALTER TABLE arrives as a new
 * relation, so it gets a new encoder): the `"column":` prefixes, a JSON text encoder per column
 * type, the key columns' positions, routing key, `type` strings and the `schema`/`table` part of
 * `source`. With them an event body is a concatenation of strings — the same text
 * `JSON.stringify` writes for the event object (change-event.test.ts holds them equal).
 */
export class RelationEncoder {
  readonly routingKey: string;
  readonly headersTable: string;
  readonly types: Readonly<Record<Exclude<Operation, 'r'>, string>>;
  /** `\"]","schema":"…","table":"…"`: the end of `source.sequence`, then `schema` and `table`. */
  readonly sourceTable: string;
  private readonly names: readonly string[];
  private readonly prefixes: readonly string[];
  private readonly encoders: readonly JsonTextEncoder[];
  private readonly keyIndexes: readonly number[];
  private readonly keyPrefixes: readonly string[];
  /** Each column's JSON text in the row encoded last (undefined = left out): the key is picked from it. */
  private readonly fragments: Array<string | undefined>;
  private lastRowEncoded = false;

  constructor(relation: RelationInfo, serverName: string) {
    this.routingKey = routingKeyOf(serverName, relation.schema, relation.table);
    this.headersTable = `${relation.schema}.${relation.table}`;
    this.types = { c: `${this.routingKey}.c`, u: `${this.routingKey}.u`, d: `${this.routingKey}.d`, t: `${this.routingKey}.t` };
    this.sourceTable = `\\"]","schema":${JSON.stringify(relation.schema)},"table":${JSON.stringify(relation.table)}`;
    this.names = relation.columns.map((column) => column.name);
    this.prefixes = relation.columns.map((column, index) => `${index === 0 ? '' : ','}${JSON.stringify(column.name)}:`);
    this.encoders = relation.columns.map((column) => jsonTextEncoderFor(column));
    // Debezium's key: the primary key columns, or the whole row for a table without one.
    const keyColumns = relation.keyColumns.length > 0 ? relation.keyColumns : this.names;
    this.keyIndexes = keyColumns.map((name) => this.names.indexOf(name));
    this.keyPrefixes = keyColumns.map((name, index) => `${index === 0 ? '' : ','}${JSON.stringify(name)}:`);
    this.fragments = new Array<string | undefined>(this.names.length);
  }

  /**
   * The row as a JSON object, columns in the relation's order; columns not sent are left out and,
   * when `unchanged` is given, listed there. Columns past the tuple's end (a column added while the
   * row was in flight) count as not sent.
   */
  row(values: ColumnTexts, unchanged: string[] | null): string {
    const fragments = this.fragments;
    let json = '{';
    let first = true;
    for (let index = 0; index < fragments.length; index += 1) {
      const value = values[index];
      if (value === undefined) {
        fragments[index] = undefined;
        unchanged?.push(this.names[index]!);
        continue;
      }
      const fragment = value === null ? 'null' : this.encoders[index]!(value);
      fragments[index] = fragment;
      if (first) {
        // The first column written takes its prefix without the leading comma.
        json += index === 0 ? this.prefixes[0]! + fragment : this.prefixes[index]!.slice(1) + fragment;
        first = false;
      } else {
        json += this.prefixes[index]! + fragment;
      }
    }
    this.lastRowEncoded = true;
    return `${json}}`;
  }

  /** The key of the row encoded last by `row` (a missing column is null), or null if none was. */
  key(): string | null {
    if (!this.lastRowEncoded) return null;
    this.lastRowEncoded = false;
    let json = '{';
    for (let index = 0; index < this.keyIndexes.length; index += 1) {
      const column = this.keyIndexes[index]!;
      json += this.keyPrefixes[index]! + ((column >= 0 ? this.fragments[column] : undefined) ?? 'null');
    }
    return `${json}}`;
  }

  /** Forgets the row encoded last (an event with no row has no key). */
  reset(): void {
    this.lastRowEncoded = false;
  }
}

/**
 * A transaction's pre-serialised parts (made once per transaction, shared by its changes): the
 * `source` block up to the change's own LSN, `txId`, the `transaction.id` and the message id prefix.
 */
export class TransactionEncoder {
  readonly commitLsn: Lsn;
  readonly commitLsnText: string;
  readonly commitTimeMs: number;
  readonly messageIdPrefix: string;
  /** `,"source":{…,"ts_ms":…,"snapshot":"false","db":…,"sequence":"[\"<commit LSN>\",\"` */
  readonly sourceHead: string;
  /** `,"txId":<xid>,"lsn":` */
  readonly txIdPart: string;
  /** `,"transaction":{"id":"<txId>:<commit LSN>","total_order":`, or null without transaction metadata. */
  readonly transactionHead: string | null;
  readonly serverName: string;
  readonly now: () => number;

  constructor(transaction: TransactionInfo, context: EventContext) {
    const commitLsnDecimal = transaction.commitLsn.toDecimal();
    this.commitLsn = transaction.commitLsn;
    this.commitLsnText = transaction.commitLsn.toString();
    this.commitTimeMs = transaction.commitTimeMs;
    this.serverName = context.serverName;
    this.now = context.now;
    // message_id = <server>:<commit LSN>:<position in the transaction>
    this.messageIdPrefix = `${context.serverName}:${this.commitLsnText}:`;
    this.sourceHead =
      `,"source":{"version":${JSON.stringify(BRIDGE_VERSION)},"connector":"postgresql","name":${JSON.stringify(context.serverName)}` +
      `,"ts_ms":${transaction.commitTimeMs},"snapshot":"false","db":${JSON.stringify(context.database)},"sequence":"[\\"${commitLsnDecimal}\\",\\"`;
    this.txIdPart = `,"txId":${transaction.xid},"lsn":`;
    this.transactionHead = context.transactionMetadata
      ? `,"transaction":{"id":${JSON.stringify(`${transaction.xid}:${commitLsnDecimal}`)},"total_order":`
      : null;
  }
}

/** The event object, made from the body when someone asks for it (the hot path never does). */
class EncodedEvent implements PublishableEvent {
  private parsed: ChangeEvent | undefined;

  constructor(
    readonly op: Exclude<Operation, 'r'>,
    readonly serverName: string,
    readonly commitTimeMs: number,
    readonly messageId: string,
    readonly routingKey: string,
    readonly headersTable: string,
    readonly type: string,
    readonly keyJson: string | null,
    readonly commitLsn: Lsn,
    readonly commitLsnText: string,
    readonly position: number,
    readonly body: Buffer,
  ) {}

  get event(): ChangeEvent {
    return (this.parsed ??= JSON.parse(this.body.toString('utf8')) as ChangeEvent);
  }

  get key(): Row | null {
    return this.keyJson === null ? null : (JSON.parse(this.keyJson) as Row);
  }
}

/**
 * Encodes one row change (or one table of a truncate) straight into its body: Debezium's envelope
 * as `JSON.stringify` writes the ChangeEvent object that `buildChangeEvent` describes.
 */
export function encodeChange(
  relation: RelationEncoder,
  transaction: TransactionEncoder,
  op: Exclude<Operation, 'r'>,
  oldValues: ColumnTexts | null,
  newValues: ColumnTexts | null,
  lsn: Lsn,
  position: number,
  dataCollectionOrder: number,
): PublishableEvent {
  relation.reset();
  const before = op === 'c' || !oldValues ? 'null' : relation.row(oldValues, null);
  let unchanged: string[] | null = null;
  let after = 'null';
  if (op !== 'd' && op !== 't' && newValues) {
    unchanged = [];
    after = relation.row(newValues, unchanged);
  }
  const keyJson = op === 't' ? null : relation.key();
  const lsnDecimal = lsn.toDecimal();
  let body =
    `{"before":${before},"after":${after}${transaction.sourceHead}${lsnDecimal}${relation.sourceTable}${transaction.txIdPart}` +
    `${lsn.toNumber()},"xmin":null},"op":"${op}","ts_ms":${transaction.now()}`;
  body += transaction.transactionHead === null
    ? ',"transaction":null'
    : `${transaction.transactionHead}${position + 1},"data_collection_order":${dataCollectionOrder}}`;
  if (unchanged !== null && unchanged.length > 0) body += `,"unchanged_columns":${JSON.stringify(unchanged)}`;
  body += '}';
  return new EncodedEvent(
    op,
    transaction.serverName,
    transaction.commitTimeMs,
    transaction.messageIdPrefix + position,
    relation.routingKey,
    relation.headersTable,
    relation.types[op],
    keyJson,
    transaction.commitLsn,
    transaction.commitLsnText,
    position,
    Buffer.from(body),
  );
}

function mapTuple(tuple: Record<string, string | null | undefined>, relation: RelationInfo, unchanged: string[] | null): Row {
  const row: Row = {};
  const columns = relation.columns;
  for (let index = 0; index < columns.length; index += 1) {
    const column = columns[index]!;
    const raw = tuple[column.name];
    if (raw === undefined) {
      unchanged?.push(column.name);
      continue;
    }
    row[column.name] = raw === null ? null : mapValue(raw, column);
  }
  return row;
}

const relationEncoders = new WeakMap<RelationInfo, RelationEncoder>();

function textsOf(tuple: Record<string, string | null | undefined>, relation: RelationInfo): ColumnTexts {
  return relation.columns.map((column) => tuple[column.name]);
}

/**
 * Builds the Debezium-shaped event for one row change (or one table of a truncate) from rows
 * given as dictionaries: the event object is mapped value by value (the reference the encoder is
 * tested against), the body is the encoder's.
 */
export function buildChangeEvent(input: ChangeInput, transaction: TransactionInfo, context: EventContext): PublishableEvent {
  let encoder = relationEncoders.get(input.relation);
  if (encoder === undefined) {
    encoder = new RelationEncoder(input.relation, context.serverName);
    relationEncoders.set(input.relation, encoder);
  }
  // One processing time for the object and the body.
  const now = context.now();
  const encoded = encodeChange(
    encoder,
    new TransactionEncoder(transaction, { ...context, now: () => now }),
    input.op,
    input.oldTuple && textsOf(input.oldTuple, input.relation),
    input.newTuple && textsOf(input.newTuple, input.relation),
    input.lsn,
    input.position,
    input.dataCollectionOrder,
  );
  const unchanged: string[] = [];
  const before = input.oldTuple ? mapTuple(input.oldTuple, input.relation, null) : null;
  const after = input.newTuple ? mapTuple(input.newTuple, input.relation, unchanged) : null;
  const event: ChangeEvent = {
    before: input.op === 'c' ? null : before,
    after: input.op === 'd' || input.op === 't' ? null : after,
    source: {
      version: BRIDGE_VERSION,
      connector: 'postgresql',
      name: context.serverName,
      ts_ms: transaction.commitTimeMs,
      snapshot: 'false',
      db: context.database,
      sequence: `["${transaction.commitLsn.toDecimal()}","${input.lsn.toDecimal()}"]`,
      schema: input.relation.schema,
      table: input.relation.table,
      txId: transaction.xid,
      lsn: input.lsn.toNumber(),
      xmin: null,
    },
    op: input.op,
    ts_ms: now,
    transaction: context.transactionMetadata
      ? {
          id: `${transaction.xid}:${transaction.commitLsn.toDecimal()}`,
          total_order: input.position + 1,
          data_collection_order: input.dataCollectionOrder,
        }
      : null,
  };
  if (unchanged.length > 0) event.unchanged_columns = unchanged;
  const keySource = after ?? before;
  const key = input.op === 't' || !keySource ? null : pickKey(keySource, input.relation);
  return {
    event,
    op: input.op,
    serverName: context.serverName,
    commitTimeMs: transaction.commitTimeMs,
    messageId: encoded.messageId,
    routingKey: encoded.routingKey,
    headersTable: encoded.headersTable,
    type: encoded.type,
    key,
    keyJson: key === null ? null : JSON.stringify(key),
    commitLsn: transaction.commitLsn,
    commitLsnText: encoded.commitLsnText,
    position: input.position,
    body: encoded.body,
  };
}

function pickKey(row: Row, relation: RelationInfo): Row {
  const columns = relation.keyColumns.length > 0 ? relation.keyColumns : relation.columns.map((column) => column.name);
  const key: Row = {};
  for (const column of columns) key[column] = row[column] ?? null;
  return key;
}

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

/** The schema consumers validate each message against (the boundary where AMQP bodies enter). */
export const changeEventSchema = z.object({
  before: z.record(z.string(), jsonValue).nullable(),
  after: z.record(z.string(), jsonValue).nullable(),
  source: z.object({
    version: z.string(),
    connector: z.literal('postgresql'),
    name: z.string(),
    ts_ms: z.number().int(),
    snapshot: z.enum(['true', 'first', 'first_in_data_collection', 'last', 'last_in_data_collection', 'false', 'incremental']),
    db: z.string(),
    sequence: z.string(),
    schema: z.string(),
    table: z.string(),
    txId: z.number().int().nullable(),
    lsn: z.number().int().nullable(),
    xmin: z.number().int().nullable(),
  }),
  op: z.enum(['c', 'u', 'd', 't', 'r']),
  ts_ms: z.number().int(),
  transaction: z
    .object({ id: z.string(), total_order: z.number().int(), data_collection_order: z.number().int() })
    .nullable(),
  unchanged_columns: z.array(z.string()).optional(),
});
