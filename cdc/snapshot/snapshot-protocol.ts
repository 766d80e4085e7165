import { z } from 'zod';
import { changeEventSchema } from '../events/change-event.ts';

/**
 * The contract of incremental snapshots between the bridge, the services and the CLI — the one
 * place all three read, so that a request written by one is understood by the others.
 *
 * A snapshot is requested by a row in the legacy database's signal table (`SIGNAL_TABLE`), which
 * is captured like the catalog: the request is then ordered in the WAL with every change around
 * it (Debezium's "source" signal channel, DBLog's watermark table). Whoever can write to the
 * legacy database (the CLI) inserts the row itself; a service, which must never touch the legacy
 * database, publishes the same request to the AMQP queue `SIGNAL_QUEUE` and the bridge inserts it.
 *
 * The bridge reads each table in primary-key chunks between a low and a high watermark
 * (`pg_logical_emit_message` with `WATERMARK_PREFIX`), drops every row that a streamed change
 * touched inside the window and publishes the rest as `op: "r"` events with
 * `source.snapshot: "incremental"`, positioned at the high watermark's LSN (commit_lsn header =
 * high watermark, position = the row's index in the chunk) so the consumer kit's position guard
 * orders them correctly against streamed changes. Snapshot events and control messages go only to
 * the target's queue, through the default exchange (routing key = queue name), never to the topic
 * exchange or the history stream.
 */

/** Signal table in the legacy database (schema public). Added to the publication. */
export const SIGNAL_TABLE = 'strangler_cdc_signal';
/** The bridge's own bookkeeping of snapshots (progress, resume point); not captured. */
export const SNAPSHOT_STATE_TABLE = 'strangler_cdc_snapshot';
/** Durable queue through which processes without legacy-database access request snapshots. */
export const SIGNAL_QUEUE = 'legacy.cdc.signals';
/** Prefix of the logical decoding messages that carry the watermarks. */
export const WATERMARK_PREFIX = 'strangler.snapshot';
/** AMQP header naming the snapshot an event or control message belongs to. */
export const SNAPSHOT_ID_HEADER = 'x-strangler-snapshot';
/** AMQP header that marks a control message (not a change event): its value is the kind. */
export const CONTROL_HEADER = 'x-strangler-control';
/**
 * Snapshot events travel in batches: one AMQP message carries up to a few hundred rows of one
 * chunk of one table. One message per row would cap seeding at the broker's per-message cost
 * (about 30 µs of CPU each here: 1.8 M catalog rows would take a minute in publishing alone);
 * live changes stay one per message. A batch message has this header (value: the number of
 * rows), `content_type` one of the two below, routing key = the target
 * queue, headers `table`, `commit_lsn` (the high watermark) and `position` (the first row's index;
 * row i has index position + i), `message_id` `<server>:<commit_lsn>:<position>` (stable when a
 * chunk is published again), and a body of the rows in primary-key order (`BATCH_CONTENT_TYPE_V2`
 * below; the consumer kit still reads version 1). The consumer kit unpacks it into one
 * ReceivedChange per row.
 */
export const BATCH_HEADER = 'x-strangler-batch';
/** Version 1 (read, no longer written): a JSON array of `SnapshotBatchItem`, a whole envelope per row. */
export const BATCH_CONTENT_TYPE = 'application/vnd.strangler.cdc-batch+json';
/** One row of a version 1 batch: Debezium's message key (the primary key) and value (the envelope). */
export interface SnapshotBatchItem {
  key: Record<string, unknown>;
  value: Record<string, unknown>;
}

/**
 * Version 2, what the bridge writes: a JSON object with the part every row of the message shares
 * (op, ts_ms, the `source` block, column names, key column names) once, and `rows`, each row a JSON
 * array of its values in `columns` order. Row i stands for the envelope `{ before: null, after:
 * { columns[j]: rows[i][j] }, source, op: "r", ts_ms, transaction: null }` with key `{ k: after[k] }`
 * for k in `key`; with op "d" the columns are the key columns and the row is `before` (after null).
 * Values are mapped exactly as in streamed events. Same headers and message id as version 1.
 * A row of catalog_product_entity_decimal takes 34 bytes instead of 494; the consumer kit
 * validates the shared part once with `CompactBatchHeaderSchema` and each row by hand (an array of
 * one value per column, JSON values only, key columns not null): one invalid row makes the whole
 * message invalid.
 */
export const BATCH_CONTENT_TYPE_V2 = 'application/vnd.strangler.cdc-batch.v2+json';

const columnName = z.string().min(1).refine((name) => name !== '__proto__', 'not a column name');

/** The shared part of a version 2 body (`rows` is checked row by row, outside zod). */
export const CompactBatchHeaderSchema = z
  .object({
    op: z.enum(['r', 'd']),
    ts_ms: z.number().int(),
    source: changeEventSchema.shape.source,
    columns: z.array(columnName).min(1),
    key: z.array(columnName).min(1),
  })
  .refine((header) => new Set(header.columns).size === header.columns.length, { message: 'columns repeat a name', path: ['columns'] })
  .refine((header) => header.key.every((column) => header.columns.includes(column)), { message: 'a key column is not among the columns', path: ['key'] });
export type CompactBatchHeader = z.infer<typeof CompactBatchHeaderSchema>;

/**
 * The queue a target name means: a bare service name (`pim`) is its CDC queue (`pim.cdc`); a name
 * that already contains a dot is taken as a queue name.
 */
export function targetQueue(target: string): string {
  return target.includes('.') ? target : `${target}.cdc`;
}

const tableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'a table name or schema.table');

/** A request, as a signal row's `data` column and as a message body on `SIGNAL_QUEUE`. */
export const SnapshotRequestSchema = z.object({
  /** Chosen by the requester (a UUID), so a request sent twice is executed once. */
  id: z.string().min(1).max(100),
  type: z.literal('execute-snapshot'),
  /** Queue or service name (see `targetQueue`). */
  target: z.string().min(1),
  tables: z.array(tableName).min(1),
  /** SQL condition applied to every table's chunks (e.g. `entity_id IN (1,2,3)`). */
  where: z.string().min(1).optional(),
  /**
   * Only these primary keys (one object per row, e.g. `{ "value_id": 42 }`), for targeted repair.
   * A requested key that no longer exists is published as a delete (`op: "d"`, `before` = the
   * key), so a repair also removes rows the legacy no longer has.
   */
  keys: z.array(z.record(z.string(), z.union([z.string(), z.number()]))).min(1).optional(),
  /** Rows per chunk; the bridge's default when absent. */
  chunkSize: z.number().int().positive().max(100_000).optional(),
});
export type SnapshotRequest = z.infer<typeof SnapshotRequestSchema>;

export const StopSnapshotSchema = z.object({
  id: z.string().min(1).max(100),
  type: z.literal('stop-snapshot'),
  /** The snapshot to cancel. */
  snapshotId: z.string().min(1),
});
export type StopSnapshot = z.infer<typeof StopSnapshotSchema>;

export const SignalSchema = z.discriminatedUnion('type', [SnapshotRequestSchema, StopSnapshotSchema]);
export type Signal = z.infer<typeof SignalSchema>;

export const SnapshotStateSchema = z.enum(['pending', 'running', 'completed', 'cancelled', 'failed']);
export type SnapshotState = z.infer<typeof SnapshotStateSchema>;

/** Progress as reported in control messages, `strangler cdc status` and the bridge's /healthz. */
export const SnapshotProgressSchema = z.object({
  snapshotId: z.string(),
  target: z.string(),
  state: SnapshotStateSchema,
  tables: z.array(
    z.object({
      table: z.string(),
      rowsEmitted: z.number().int().nonnegative(),
      /** pg_class.reltuples at the start: an estimate, for the ETA. */
      rowsEstimated: z.number().int().nonnegative(),
      done: z.boolean(),
    }),
  ),
  rowsEmitted: z.number().int().nonnegative(),
  rowsPerSecond: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().nullable(),
  error: z.string().optional(),
});
export type SnapshotProgress = z.infer<typeof SnapshotProgressSchema>;

/**
 * Control messages the bridge publishes to the target's queue, in order with the snapshot's
 * events (same route): `progress` after chunks (at most about once a second), then exactly one of
 * `completed`, `cancelled` or `failed` after the last event. AMQP `type` is
 * `strangler.snapshot.<kind>`, header `CONTROL_HEADER` = `snapshot.<kind>`, body = SnapshotProgress.
 * The consumer kit hands them to `onControl`, never to the change handler or the dead-letter queue.
 */
export const ControlKindSchema = z.enum(['progress', 'completed', 'cancelled', 'failed']);
export type ControlKind = z.infer<typeof ControlKindSchema>;
