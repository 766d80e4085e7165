import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { migrate } from '../../platform/migrations.ts';
import { silentLogger, type Logger } from '../../platform/logger.ts';
import { parseBridgeConfig, type BridgeConfig, type BridgeConfigInput } from '../bridge-config.ts';
import { DEFAULT_CAPTURED_TABLES } from '../capture-table.ts';

export const LEGACY_SCHEMA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../legacy-stub/schema');

export interface ReceivedMessage {
  routingKey: string;
  messageId: string;
  contentType: string | undefined;
  deliveryMode: number | undefined;
  headers: Record<string, unknown>;
  body: Record<string, unknown> & {
    op: string;
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
    source: Record<string, unknown>;
    transaction: Record<string, unknown> | null;
  };
}

/**
 * What a CDC test needs: a fresh database with the legacy schema, names with a random suffix
 * for everything shared (exchange, stream, slot, publication, lock), a listener queue on the
 * exchange, and a cleanup that drops the slot (an abandoned slot pins WAL for everybody).
 */
export class CdcFixture {
  readonly suffix = randomBytes(4).toString('hex');
  readonly amqpUrl = inject('amqpUrl');
  readonly logger: Logger = silentLogger();
  database!: TestDatabase;
  pool!: pg.Pool;
  private connection: ChannelModel | undefined;
  private channel: Channel | undefined;
  readonly received: ReceivedMessage[] = [];
  private listenQueue: string | undefined;

  static async create(label: string, options: { migrateLegacy?: boolean } = {}): Promise<CdcFixture> {
    const fixture = new CdcFixture();
    fixture.database = await createTestDatabase(`cdc_${label}`);
    if (options.migrateLegacy ?? true) await migrate(fixture.database.url, LEGACY_SCHEMA, fixture.logger);
    fixture.pool = new pg.Pool({ connectionString: fixture.database.url, max: 4 });
    return fixture;
  }

  get names() {
    return {
      exchange: `test.cdc.${this.suffix}`,
      streamQueue: `test.cdc.log.${this.suffix}`,
      slot: `test_cdc_${this.suffix}`,
      publication: `test_pub_${this.suffix}`,
      lockName: `test-cdc-lock:${this.suffix}`,
      connectionName: `test-cdc:${this.suffix}`,
      signalQueue: `test.cdc.signals.${this.suffix}`,
    };
  }

  config(overrides: Partial<BridgeConfigInput> = {}): BridgeConfig {
    return parseBridgeConfig({
      databaseUrl: this.database.url,
      amqpUrl: this.amqpUrl,
      tables: [...DEFAULT_CAPTURED_TABLES],
      streamMaxAge: '1h',
      streamMaxLengthBytes: 50_000_000,
      heartbeatIntervalMs: 60_000,
      standbyPollMs: 200,
      backoffInitialMs: 100,
      backoffMaxMs: 1000,
      ...this.names,
      ...overrides,
    });
  }

  /** Binds a temporary queue to the exchange with `bindingKey` and records every message. */
  async listen(bindingKey = '#'): Promise<void> {
    this.connection = await amqp.connect(this.amqpUrl);
    this.channel = await this.connection.createChannel();
    await this.channel.assertExchange(this.names.exchange, 'topic', { durable: true });
    const { queue } = await this.channel.assertQueue('', { exclusive: true, autoDelete: true });
    this.listenQueue = queue;
    await this.channel.bindQueue(queue, this.names.exchange, bindingKey);
    await this.channel.consume(queue, (message: ConsumeMessage | null) => {
      if (!message) return;
      this.received.push({
        routingKey: message.fields.routingKey,
        messageId: String(message.properties.messageId),
        contentType: message.properties.contentType as string | undefined,
        deliveryMode: message.properties.deliveryMode as number | undefined,
        headers: (message.properties.headers ?? {}) as Record<string, unknown>,
        body: JSON.parse(message.content.toString('utf8')) as ReceivedMessage['body'],
      });
    }, { noAck: true });
  }

  /** Waits until `predicate` holds for the received messages. */
  async waitFor(predicate: (messages: ReceivedMessage[]) => boolean, timeoutMs = 15_000, what = 'messages'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.received.length} messages`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async waitForCount(count: number, timeoutMs = 15_000): Promise<void> {
    await this.waitFor((messages) => messages.length >= count, timeoutMs, `${count} messages`);
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]> {
    return (await this.pool.query<T>(sql, values)).rows;
  }

  /** Inserts the rows the catalog tables reference (one store, website, attribute set). */
  async writeBasics(): Promise<void> {
    await this.query(`INSERT INTO store_website (website_id, code, name) VALUES (0, 'admin', 'Admin')`);
    await this.query(`INSERT INTO store (store_id, code, website_id, name) VALUES (0, 'admin', 0, 'Admin')`);
    await this.query(`INSERT INTO eav_attribute (attribute_code, backend_type) VALUES ('price', 'decimal'), ('name', 'varchar'), ('description', 'text')`);
  }

  async slotConfirmedFlush(): Promise<string | null> {
    const rows = await this.query<{ lsn: string | null }>(
      'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
      [this.names.slot],
    );
    return rows[0]?.lsn ?? null;
  }

  async cleanup(): Promise<void> {
    await this.channel?.close().catch(() => undefined);
    const connection = await amqp.connect(this.amqpUrl).catch(() => undefined);
    if (connection) {
      const channel = await connection.createChannel();
      await channel.deleteQueue(this.names.streamQueue).catch(() => undefined);
      await channel.deleteQueue(this.names.signalQueue).catch(() => undefined);
      const second = await connection.createChannel();
      await second.deleteExchange(this.names.exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
    await this.connection?.close().catch(() => undefined);
    void this.listenQueue;
    await this.pool?.end().catch(() => undefined);
    // Terminate a walsender that still holds the slot, then drop the slot and the database.
    const admin = new pg.Client({ connectionString: inject('postgresServerUrl') });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [this.names.slot]);
      for (let attempt = 0; attempt < 50; attempt += 1) {
        const { rows } = await admin.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [this.names.slot]);
        if (!rows[0]) break;
        if (!rows[0].active) {
          await admin.query('SELECT pg_drop_replication_slot($1)', [this.names.slot]).catch(() => undefined);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await admin.end();
    }
    await this.database?.drop();
  }
}

export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
