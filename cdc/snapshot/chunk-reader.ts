import pg from 'pg';
import type { RelationColumn } from '../events/change-event.ts';
import { parseCaptureTable } from '../capture-table.ts';

/** A row as PostgreSQL's text output writes it: the form pgoutput streams, so mapping is identical. */
export type TextRow = Record<string, string | null>;
/** A chunk row: the text of each column, in `Chunk.columns` order (node-postgres' rowMode 'array': no object per row). */
export type TextValues = Array<string | null>;

/** A snapshotted table: its name and primary key with the SQL types used to compare keys. */
export interface SnapshotTable {
  schema: string;
  name: string;
  /** `schema.name`, the `table` header. */
  qualified: string;
  /** Quoted, for SQL. */
  sql: string;
  keyColumns: string[];
  /** format_type() of each key column, for casts of key values given as text. */
  keyTypes: string[];
  keyTypeOids: number[];
  keyTypeMods: number[];
}

export interface Chunk {
  columns: RelationColumn[];
  rows: TextValues[];
  /** Where each of the table's key columns is in `columns`. */
  keyIndexes: number[];
  /** Requested keys (keys-limited snapshots) that no longer exist, as text per key column. */
  missing: TextRow[];
  /** xids of transactions in progress when the chunk's snapshot was taken (32-bit, as pgoutput sends them). */
  inProgress: number[];
}

/**
 * Every column in its text form: node-postgres would otherwise turn timestamps into Dates
 * (losing microseconds) and numerics into strings of its own; the bridge maps the text exactly
 * as it maps pgoutput's.
 */
const RAW_TEXT: pg.CustomTypesConfig = { getTypeParser: (() => (value: string) => value) as unknown as pg.CustomTypesConfig['getTypeParser'] };

export class ChunkReaderError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The table's primary key (in index order); a table without one cannot be chunked. */
export async function describeTable(db: Pick<pg.Pool, 'query'>, table: string): Promise<SnapshotTable> {
  const { schema, name } = parseCaptureTable(table);
  const { rows } = await db.query<{ attname: string; type: string; atttypid: number; atttypmod: number }>(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int AS atttypid, a.atttypmod
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [schema, name],
  );
  if (rows.length === 0) {
    const exists = await db.query('SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2', [schema, name]);
    throw new ChunkReaderError(exists.rowCount ? `table ${schema}.${name} has no primary key: it cannot be read in key order` : `table ${schema}.${name} does not exist`, true);
  }
  return {
    schema,
    name,
    qualified: `${schema}.${name}`,
    sql: `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`,
    keyColumns: rows.map((row) => row.attname),
    keyTypes: rows.map((row) => row.type),
    keyTypeOids: rows.map((row) => row.atttypid),
    keyTypeMods: rows.map((row) => row.atttypmod),
  };
}

/** pg_class.reltuples (−1 when never analysed: then a count). */
export async function estimateRows(db: Pick<pg.Pool, 'query'>, table: SnapshotTable): Promise<number> {
  const { rows } = await db.query<{ estimate: number }>(
    `SELECT c.reltuples::float8 AS estimate FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [table.schema, table.name],
  );
  const estimate = Number(rows[0]?.estimate ?? -1);
  if (estimate >= 0) return Math.round(estimate);
  const counted = await db.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table.sql}`);
  return Number(counted.rows[0]?.count ?? 0);
}

/** The key of a row (text values of the key columns) as one string: equal for the same row in a chunk and in the stream. */
export function keyString(table: SnapshotTable, row: Record<string, unknown>): string {
  let text = '';
  for (const column of table.keyColumns) text += keyPart(row[column]);
  return text;
}

/** `keyString` of a chunk row (its key columns at `keyIndexes`): equal to the stream tuple's. */
export function keyStringOfValues(keyIndexes: readonly number[], values: TextValues): string {
  let text = '';
  for (const index of keyIndexes) text += keyPart(values[index]);
  return text;
}

/** One key column's value in a key string: JSON text, `\\N` for null. */
function keyPart(value: unknown): string {
  return `${value === null || value === undefined ? '\\N' : JSON.stringify(String(value))},`;
}

function orderBy(table: SnapshotTable): string {
  return table.keyColumns.map((column) => pg.escapeIdentifier(column)).join(', ');
}

/**
 * Reads one chunk in a read-only REPEATABLE READ transaction (the condition of a request is SQL
 * written by an operator or a service; read-only keeps it from writing). Range mode: up to
 * `limit` rows with a key above `after` (text values, null = from the start) in key order. Keys
 * mode: the rows of the given keys, plus the keys that no longer exist.
 */
export async function readChunk(
  pool: pg.Pool,
  table: SnapshotTable,
  request: { where?: string | undefined; after?: string[] | null; limit?: number; keys?: Array<Record<string, string | number>> },
): Promise<Chunk> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const where = request.where ? `(${request.where})` : 'true';
    let result: pg.QueryResult<TextValues>;
    let missing: TextRow[] = [];
    if (request.keys) {
      const definition = table.keyColumns.map((column, index) => `${pg.escapeIdentifier(column)} ${table.keyTypes[index]}`).join(', ');
      const keyList = orderBy(table);
      const requested = JSON.stringify(request.keys);
      result = await client.query<TextValues>({
        rowMode: 'array',
        text: `SELECT * FROM ${table.sql} WHERE (${keyList}) IN (SELECT ${keyList} FROM jsonb_to_recordset($1::jsonb) AS r(${definition})) AND ${where} ORDER BY ${keyList}`,
        values: [requested],
        types: RAW_TEXT,
      });
      const gone = await client.query<TextRow>({
        text: `SELECT DISTINCT ${table.keyColumns.map((column) => `r.${pg.escapeIdentifier(column)}::text AS ${pg.escapeIdentifier(column)}`).join(', ')}
                 FROM jsonb_to_recordset($1::jsonb) AS r(${definition})
                WHERE NOT EXISTS (SELECT 1 FROM ${table.sql} t WHERE ${table.keyColumns.map((column) => `t.${pg.escapeIdentifier(column)} = r.${pg.escapeIdentifier(column)}`).join(' AND ')})
                ORDER BY 1`,
        values: [requested],
        types: RAW_TEXT,
      });
      missing = gone.rows;
    } else {
      const values: unknown[] = [];
      let after = 'true';
      if (request.after) {
        values.push(...request.after);
        after = `(${orderBy(table)}) > (${table.keyTypes.map((type, index) => `$${index + 1}::${type}`).join(', ')})`;
      }
      values.push(request.limit ?? 4096);
      result = await client.query<TextValues>({
        rowMode: 'array',
        text: `SELECT * FROM ${table.sql} WHERE ${after} AND ${where} ORDER BY ${orderBy(table)} LIMIT $${values.length}`,
        values,
        types: RAW_TEXT,
      });
    }
    const snapshot = await client.query<{ xid: string }>('SELECT pg_snapshot_xip(pg_current_snapshot())::text AS xid');
    await client.query('COMMIT');
    const columns = result.fields.map((field) => ({ name: field.name, typeOid: field.dataTypeID, typeMod: field.dataTypeModifier }));
    return {
      columns,
      rows: result.rows,
      keyIndexes: table.keyColumns.map((column) => columns.findIndex((field) => field.name === column)),
      missing,
      inProgress: snapshot.rows.map((row) => Number(BigInt(row.xid) & 0xffff_ffffn)),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const code = (error as { code?: string }).code ?? '';
    // Syntax, undefined column, bad value in the request: retrying cannot help.
    const permanent = code.startsWith('42') || code.startsWith('22') || code === '25006';
    throw new ChunkReaderError(`reading ${table.qualified} failed: ${(error as Error).message}`, permanent, { cause: error });
  } finally {
    client.release();
  }
}
