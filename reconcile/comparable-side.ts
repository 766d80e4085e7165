import type { SidePosition } from './projection.ts';
import type { BucketChecksum } from './projection-reader.ts';

/** What a Reconciliation needs from each side (ProjectionReader over a database, or a fake in specs). */
export interface ComparableSide {
  readonly name: string;
  bounds(): Promise<{ min: number; max: number } | null>;
  bucketChecksums(from: number, to: number, bucketSize: number): Promise<Map<number, BucketChecksum>>;
  rangeHashes(from: number, to: number): Promise<Map<number, string>>;
  hashesOf(keys: readonly number[]): Promise<Map<number, string>>;
  documentsOf(keys: readonly number[]): Promise<Map<number, Record<string, unknown>>>;
  /** See Projection.position: the legacy's WAL position, or the store's newest applied commit LSN. */
  position(keys?: readonly number[]): Promise<SidePosition>;
}
