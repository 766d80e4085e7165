import amqp from 'amqplib';
import pg from 'pg';
import { buildChangeEvent, type RelationInfo } from '../../events/change-event.ts';
import { TypeOid } from '../../events/value-mapping.ts';
import { Lsn } from '../../offsets/lsn.ts';
import {
  BATCH_CONTENT_TYPE,
  BATCH_HEADER,
  CONTROL_HEADER,
  SNAPSHOT_ID_HEADER,
  type ControlKind,
  type SnapshotBatchItem,
  type SnapshotProgress,
} from '../../snapshot/snapshot-protocol.ts';

const productRelation: RelationInfo = {
  schema: 'public',
  table: 'catalog_product_entity',
  columns: [
    { name: 'entity_id', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'sku', typeOid: TypeOid.varchar, typeMod: -1 },
    { name: 'type_id', typeOid: TypeOid.varchar, typeMod: -1 },
    { name: 'attribute_set_id', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'has_options', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'required_options', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'created_at', typeOid: TypeOid.timestamp, typeMod: -1 },
    { name: 'updated_at', typeOid: TypeOid.timestamp, typeMod: -1 },
  ],
  keyColumns: ['entity_id'],
};

/**
 * A snapshot of `catalog_product_entity` as the bridge sends one to a service's queue
 * (snapshot-protocol.ts), without running a bridge: products `from`…`to` (skus SEED-<id>) in batch
 * messages of `batchSize` rows, each batch at its own high watermark, through the default
 * exchange. For specs of a service's seeding that need to control when rows and control messages
 * arrive (a stop mid-seeding, a `completed` held back).
 */
export async function publishProductSnapshot(options: {
  amqpUrl: string;
  queue: string;
  snapshotId: string;
  from: number;
  to: number;
  batchSize?: number;
}): Promise<void> {
  const connection = await amqp.connect(options.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const batchSize = options.batchSize ?? 200;
    for (let first = options.from; first <= options.to; first += batchSize) {
      const commitLsn = Lsn.parse(`1/${(0x100000 + first * 0x10).toString(16).toUpperCase()}`);
      const items: SnapshotBatchItem[] = [];
      for (let id = first; id < first + batchSize && id <= options.to; id += 1) {
        const row = { entity_id: String(id), sku: `SEED-${id}`, type_id: 'simple', attribute_set_id: '4', has_options: '0', required_options: '0', created_at: '2024-01-01 00:00:00', updated_at: '2024-01-01 00:00:00' };
        const built = buildChangeEvent(
          { op: 'c', relation: productRelation, oldTuple: null, newTuple: row, lsn: commitLsn, position: id - first, dataCollectionOrder: id - first + 1 },
          { xid: 0, commitLsn, commitTimeMs: Date.now() },
          { serverName: 'legacy', database: 'legacy', transactionMetadata: false, now: Date.now },
        );
        items.push({ key: built.key as Record<string, unknown>, value: { ...built.event, op: 'r', source: { ...built.event.source, snapshot: 'incremental' } } });
      }
      channel.sendToQueue(options.queue, Buffer.from(JSON.stringify(items)), {
        persistent: true,
        contentType: BATCH_CONTENT_TYPE,
        messageId: `legacy:${commitLsn.toString()}:0`,
        headers: { [BATCH_HEADER]: items.length, [SNAPSHOT_ID_HEADER]: options.snapshotId, table: 'public.catalog_product_entity', commit_lsn: commitLsn.toString(), position: 0 },
      });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** A snapshot's control message (`progress`, `completed`, …) to a service's queue, as the bridge sends it. */
export async function publishSnapshotControl(options: {
  amqpUrl: string;
  queue: string;
  kind: ControlKind;
  snapshotId: string;
  rowsEmitted: number;
  rowsEstimated: number;
  etaSeconds?: number | null;
  error?: string;
}): Promise<void> {
  const progress: SnapshotProgress = {
    snapshotId: options.snapshotId,
    target: options.queue,
    state: options.kind === 'progress' ? 'running' : options.kind,
    tables: [{ table: 'public.catalog_product_entity', rowsEmitted: options.rowsEmitted, rowsEstimated: options.rowsEstimated, done: options.kind !== 'progress' }],
    rowsEmitted: options.rowsEmitted,
    rowsPerSecond: 1000,
    etaSeconds: options.etaSeconds ?? null,
    ...(options.error ? { error: options.error } : {}),
  };
  const connection = await amqp.connect(options.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue(options.queue, Buffer.from(JSON.stringify(progress)), {
      persistent: true,
      contentType: 'application/json',
      type: `strangler.snapshot.${options.kind}`,
      headers: { [CONTROL_HEADER]: `snapshot.${options.kind}`, [SNAPSHOT_ID_HEADER]: options.snapshotId },
    });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/**
 * The snapshot id a seeding service recorded in its store (`cdc_seed`) before requesting its
 * snapshot, once it is there (polled for up to 30 s): what a spec publishes the snapshot under.
 */
export async function seedSnapshotId(storeUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: storeUrl });
  await client.connect();
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const row = await client.query<{ snapshot_id: string }>('SELECT snapshot_id FROM cdc_seed').then((result) => result.rows[0], () => undefined);
      if (row?.snapshot_id) return row.snapshot_id;
      if (Date.now() > deadline) throw new Error('no snapshot requested');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await client.end();
  }
}
