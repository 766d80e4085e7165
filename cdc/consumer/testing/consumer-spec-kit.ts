import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { buildChangeEvent, type PublishableEvent, type RelationInfo } from '../../events/change-event.ts';
import { TypeOid } from '../../events/value-mapping.ts';
import { Lsn } from '../../offsets/lsn.ts';

/** The price rows the consumer kit's specs publish and apply (`catalog_product_entity_decimal`). */
export const PRICE_RELATION: RelationInfo = {
  schema: 'public',
  table: 'catalog_product_entity_decimal',
  columns: [
    { name: 'value_id', typeOid: TypeOid.int4, typeMod: -1 },
    { name: 'value', typeOid: TypeOid.numeric, typeMod: -1 },
  ],
  keyColumns: ['value_id'],
};

/** A price change as the bridge builds it: an insert (`c`) or an update (`u`) of `value_id`. */
export function priceChange(options: { op: 'c' | 'u'; commitLsn: string; position: number; valueId: number; value: string; transactionMetadata: boolean }): PublishableEvent {
  const { op, commitLsn, position, valueId, value } = options;
  return buildChangeEvent(
    {
      op,
      relation: PRICE_RELATION,
      oldTuple: op === 'u' ? { value_id: String(valueId), value: '0' } : null,
      newTuple: { value_id: String(valueId), value },
      lsn: Lsn.parse(commitLsn),
      position,
      dataCollectionOrder: position + 1,
    },
    { xid: 1000, commitLsn: Lsn.parse(commitLsn), commitTimeMs: Date.now() },
    { serverName: 'legacy', database: 'legacy', transactionMetadata: options.transactionMetadata, now: Date.now },
  );
}

/** Polls `check` every 25 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * What each consumer-kit spec file needs: its own database with a `prices` table, a confirm
 * channel on its own topic exchange, queue names with a random suffix, and a cleanup that deletes
 * every queue it named (with their retry and dead-letter queues).
 */
export class ConsumerSpecKit {
  readonly suffix = randomBytes(4).toString('hex');
  readonly exchange: string;
  database!: TestDatabase;
  pool!: pg.Pool;
  connection!: ChannelModel;
  channel!: ConfirmChannel;
  private readonly queues: string[] = [];

  constructor(
    private readonly amqpUrl: string,
    label: string,
  ) {
    this.exchange = `test.cdc.${label}.${this.suffix}`;
  }

  async start(databaseLabel: string): Promise<void> {
    this.database = await createTestDatabase(databaseLabel);
    this.pool = new pg.Pool({ connectionString: this.database.url, max: 4 });
    await this.pool.query('CREATE TABLE prices (value_id int PRIMARY KEY, value numeric NOT NULL)');
    this.connection = await amqp.connect(this.amqpUrl);
    this.channel = await this.connection.createConfirmChannel();
    await this.channel.assertExchange(this.exchange, 'topic', { durable: true });
  }

  queueName(label: string): string {
    const name = `test.${label}.${this.suffix}`;
    this.queues.push(name, `${name}.dead`, `${name}.retry`);
    return name;
  }

  async cleanup(): Promise<void> {
    for (const queue of this.queues) await this.channel.deleteQueue(queue).catch(() => undefined);
    await this.channel.deleteExchange(this.exchange).catch(() => undefined);
    await this.connection.close().catch(() => undefined);
    await this.pool.end();
    await this.database.drop();
  }
}
