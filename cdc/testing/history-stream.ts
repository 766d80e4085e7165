import amqp from 'amqplib';
import { buildChangeEvent, type RelationInfo } from '../events/change-event.ts';
import { TypeOid } from '../events/value-mapping.ts';
import { Lsn } from '../offsets/lsn.ts';

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
 * A history stream as the bridge leaves it, without running one: `count` product inserts
 * (skus FILL-1 … FILL-count), one transaction each, published with confirms to `exchange` and
 * kept in the stream queue `stream`. For specs of a service's first fill that need many changes fast.
 */
export async function publishProductHistory(options: { amqpUrl: string; exchange: string; stream: string; count: number }): Promise<void> {
  const connection = await amqp.connect(options.amqpUrl);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(options.exchange, 'topic', { durable: true });
  await channel.assertQueue(options.stream, { durable: true, arguments: { 'x-queue-type': 'stream' } });
  await channel.bindQueue(options.stream, options.exchange, '#');
  for (let id = 1; id <= options.count; id += 1) {
    const commitLsn = Lsn.parse(`0/${(0x100000 + id * 0x100).toString(16).toUpperCase()}`);
    const row = { entity_id: String(id), sku: `FILL-${id}`, type_id: 'simple', attribute_set_id: '4', has_options: '0', required_options: '0', created_at: '2024-01-01 00:00:00', updated_at: '2024-01-01 00:00:00' };
    const event = buildChangeEvent(
      { op: 'c', relation: productRelation, oldTuple: null, newTuple: row, lsn: commitLsn, position: 0, dataCollectionOrder: 1 },
      { xid: 1000 + id, commitLsn, commitTimeMs: Date.now() },
      { serverName: 'legacy', database: 'legacy', transactionMetadata: false, now: Date.now },
    );
    channel.publish(options.exchange, event.routingKey, event.body, {
      persistent: true,
      contentType: 'application/json',
      messageId: event.messageId,
      headers: { table: 'public.catalog_product_entity', op: 'c', key: JSON.stringify(event.key), commit_lsn: commitLsn.toString(), position: 0 },
    });
  }
  await channel.waitForConfirms();
  await connection.close();
}
