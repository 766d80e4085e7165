import type { Projection, Queryable, SidePosition } from './projection.ts';

/** The checksum of one bucket of keys: how many products, and the sum of their hashes. */
export interface BucketChecksum {
  rows: number;
  /** Sum of the first 60 bits of each product's md5, as a decimal string (exact). */
  sum: string;
}

/**
 * Runs a Projection's queries against its database. Checksums are computed inside PostgreSQL:
 * per product md5(doc::text), per bucket of `bucketSize` consecutive keys the count and the sum
 * of the hashes' first 60 bits (a sum, not a concatenation, so no ordering is needed; 60 bits so
 * that each fits a bigint, summed as numeric so nothing overflows).
 */
export class ProjectionReader {
  constructor(
    readonly projection: Projection,
    private readonly db: Queryable,
  ) {}

  get name(): string {
    return this.projection.name;
  }

  /** Smallest and largest key, or null when the side holds no product. */
  async bounds(): Promise<{ min: number; max: number } | null> {
    const { rows } = await this.db.query<{ min: number | null; max: number | null }>(
      `SELECT min(k.entity_id)::int AS min, max(k.entity_id)::int AS max FROM (${this.projection.allKeys}) AS k(entity_id)`,
    );
    const row = rows[0];
    return row && row.min !== null && row.max !== null ? { min: row.min, max: row.max } : null;
  }

  /** Checksums of the buckets (key / bucketSize) that have products in [from, to). */
  async bucketChecksums(from: number, to: number, bucketSize: number): Promise<Map<number, BucketChecksum>> {
    const { rows } = await this.db.query<{ bucket: number; rows: number; sum: string }>(
      // The hash is taken per product before grouping, so that only (key, 60 bits) is grouped — never the wide documents.
      `SELECT (h.entity_id / $3::int)::int AS bucket, count(*)::int AS rows, sum(h.bits)::text AS sum
         FROM (SELECT r.entity_id, ('x' || left(md5(r.doc::text), 15))::bit(60)::bigint AS bits
                 FROM (${this.projection.select((column) => `${column} >= $1::int AND ${column} < $2::int`)}) AS r
                OFFSET 0) AS h
        GROUP BY 1`,
      [from, to, bucketSize],
    );
    return new Map(rows.map((row) => [row.bucket, { rows: row.rows, sum: row.sum }]));
  }

  /** Every product's hash in [from, to). */
  async rangeHashes(from: number, to: number): Promise<Map<number, string>> {
    const { rows } = await this.db.query<{ entity_id: number; hash: string }>(
      `SELECT r.entity_id, md5(r.doc::text) AS hash
         FROM (${this.projection.select((column) => `${column} >= $1::int AND ${column} < $2::int`)}) AS r`,
      [from, to],
    );
    return new Map(rows.map((row) => [row.entity_id, row.hash]));
  }

  /** The hashes of these products (absent keys are absent from the map). */
  async hashesOf(keys: readonly number[]): Promise<Map<number, string>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.db.query<{ entity_id: number; hash: string }>(
      `SELECT r.entity_id, md5(r.doc::text) AS hash FROM (${this.projection.select((column) => `${column} = ANY($1::int[])`)}) AS r`,
      [[...keys]],
    );
    return new Map(rows.map((row) => [row.entity_id, row.hash]));
  }

  /** The canonical documents of these products, to show what differs. */
  async documentsOf(keys: readonly number[]): Promise<Map<number, Record<string, unknown>>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.db.query<{ entity_id: number; doc: Record<string, unknown> }>(
      `SELECT r.entity_id, r.doc FROM (${this.projection.select((column) => `${column} = ANY($1::int[])`)}) AS r`,
      [[...keys]],
    );
    return new Map(rows.map((row) => [row.entity_id, row.doc]));
  }

  position(keys?: readonly number[]): Promise<SidePosition> {
    return this.projection.position(this.db, keys);
  }
}
