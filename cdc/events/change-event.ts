import { z } from 'zod';
import type { Lsn } from '../offsets/lsn.ts';
import { mapValue, type ColumnType, type JsonValue } from './value-mapping.ts';

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

/** Per-transaction strings, computed once instead of once per event (a 10,000-row transaction). */
interface TransactionStrings {
  commitLsnDecimal: string;
  messageIdPrefix: string;
  transactionId: string;
  commitLsnText: string;
}

const transactionStrings = new WeakMap<TransactionInfo, TransactionStrings>();
const routingKeys = new WeakMap<RelationInfo, { routingKey: string; table: string; types: Record<ChangeInput['op'], string> }>();

function stringsOf(transaction: TransactionInfo, serverName: string): TransactionStrings {
  let strings = transactionStrings.get(transaction);
  if (!strings) {
    const commitLsnDecimal = transaction.commitLsn.toBigInt().toString();
    strings = {
      commitLsnDecimal,
      // message_id = <server>:<commit LSN>:<position in the transaction>
      messageIdPrefix: `${serverName}:${transaction.commitLsn.toString()}:`,
      transactionId: `${transaction.xid}:${commitLsnDecimal}`,
      commitLsnText: transaction.commitLsn.toString(),
    };
    transactionStrings.set(transaction, strings);
  }
  return strings;
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
  event: ChangeEvent;
  /** Stable idempotency key: identical when the same change is published again after a restart. */
  messageId: string;
  /** `<server>.<schema>.<table>`, Debezium's topic name. */
  routingKey: string;
  /** `<schema>.<table>`, the `table` header. */
  headersTable: string;
  /** `<routing key>.<op>`, the AMQP `type` property (built once per table and op). */
  type: string;
  /** The row's key (primary key columns), as Debezium's key payload; null for truncate. */
  key: Row | null;
  /** Commit LSN of the change's transaction and its position there: the total order of changes. */
  commitLsn: Lsn;
  /** `commitLsn` in the server's notation, the `commit_lsn` header (built once per transaction). */
  commitLsnText: string;
  position: number;
  body: Buffer;
}

export function routingKeyOf(serverName: string, schema: string, table: string): string {
  return `${serverName}.${schema}.${table}`;
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

/** Builds the Debezium-shaped event for one row change (or one table of a truncate). */
export function buildChangeEvent(input: ChangeInput, transaction: TransactionInfo, context: EventContext): PublishableEvent {
  const unchanged: string[] = [];
  const strings = stringsOf(transaction, context.serverName);
  let names = routingKeys.get(input.relation);
  if (names === undefined) {
    const routingKey = routingKeyOf(context.serverName, input.relation.schema, input.relation.table);
    names = {
      routingKey,
      table: `${input.relation.schema}.${input.relation.table}`,
      types: { c: `${routingKey}.c`, u: `${routingKey}.u`, d: `${routingKey}.d`, t: `${routingKey}.t` },
    };
    routingKeys.set(input.relation, names);
  }
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
      sequence: `["${strings.commitLsnDecimal}","${input.lsn.toBigInt().toString()}"]`,
      schema: input.relation.schema,
      table: input.relation.table,
      txId: transaction.xid,
      lsn: input.lsn.toNumber(),
      xmin: null,
    },
    op: input.op,
    ts_ms: context.now(),
    transaction: context.transactionMetadata
      ? {
          id: strings.transactionId,
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
    messageId: strings.messageIdPrefix + input.position,
    routingKey: names.routingKey,
    headersTable: names.table,
    type: names.types[input.op],
    key,
    commitLsn: transaction.commitLsn,
    commitLsnText: strings.commitLsnText,
    position: input.position,
    body: Buffer.from(JSON.stringify(event)),
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
