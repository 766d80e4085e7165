import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Row } from '../events/change-event.ts';
import { rowKeyOf } from '../consumer/applied-positions.ts';
import {
  comparePositions,
  messageKindOf,
  parseReceivedBatch,
  parseReceivedChange,
  parseReceivedControl,
  type ChangePosition,
  type ReceivedChange,
  type ReceivedControl,
} from '../consumer/received-change.ts';

/**
 * For tests: a target service's queue and an in-memory store that applies what arrives with the
 * consumer kit's rules — messages unpacked by its parsers (batches into rows, control messages
 * apart) and a change applied only when its position is newer than the last one applied to the
 * row (AppliedPositions' rule, per `rowKeyOf`); a delete leaves a tombstone with its position.
 */
export class TestTarget {
  readonly rows = new Map<string, { row: Row | null; position: ChangePosition }>();
  readonly controls: ReceivedControl[] = [];
  readonly changes: ReceivedChange[] = [];
  readonly messages: Array<{ kind: string; headers: Record<string, unknown>; routingKey: string; exchange: string }> = [];
  readonly errors: unknown[] = [];

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
    readonly queue: string,
  ) {}

  /** Declares `queue` and binds it to `exchange` with `bindingKeys` (the live changes a service follows). */
  static async create(options: { amqpUrl: string; queue: string; exchange: string; bindingKeys: string[] }): Promise<TestTarget> {
    const connection = await amqp.connect(options.amqpUrl);
    const channel = await connection.createChannel();
    await channel.assertExchange(options.exchange, 'topic', { durable: true });
    await channel.assertQueue(options.queue, { durable: false, autoDelete: false });
    for (const key of options.bindingKeys) await channel.bindQueue(options.queue, options.exchange, key);
    const target = new TestTarget(connection, channel, options.queue);
    await channel.consume(options.queue, (message) => target.receive(message), { noAck: true });
    return target;
  }

  private receive(message: ConsumeMessage | null): void {
    if (!message) return;
    const kind = messageKindOf(message);
    this.messages.push({
      kind,
      headers: (message.properties.headers ?? {}) as Record<string, unknown>,
      routingKey: message.fields.routingKey,
      exchange: message.fields.exchange,
    });
    try {
      if (kind === 'control') {
        this.controls.push(parseReceivedControl(message));
        return;
      }
      const changes = kind === 'batch' ? parseReceivedBatch(message) : [parseReceivedChange(message)];
      for (const change of changes) this.apply(change);
    } catch (error) {
      this.errors.push(error);
    }
  }

  private apply(change: ReceivedChange): void {
    this.changes.push(change);
    const key = `${change.table}|${rowKeyOf(change)}`;
    const current = this.rows.get(key);
    if (current && comparePositions(change.position, current.position) <= 0) return;
    this.rows.set(key, { row: change.event.op === 'd' ? null : change.event.after, position: change.position });
  }

  /** Live rows of `table` (`schema.table`) by their key JSON. */
  table(table: string): Map<string, Row> {
    const result = new Map<string, Row>();
    for (const [key, entry] of this.rows) {
      if (!key.startsWith(`${table}|`) || entry.row === null) continue;
      result.set(key.slice(table.length + 1), entry.row);
    }
    return result;
  }

  async waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} in ${this.queue} (${this.messages.length} messages, ${this.controls.map((c) => c.kind).join(',')})`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Waits for a final control message (completed, cancelled or failed) of `snapshotId`. */
  async waitForEnd(snapshotId: string, timeoutMs = 60_000): Promise<ReceivedControl> {
    let found: ReceivedControl | undefined;
    await this.waitFor(
      () => {
        found = this.controls.find((control) => control.progress.snapshotId === snapshotId && control.kind !== 'progress');
        return found !== undefined;
      },
      timeoutMs,
      `the end of snapshot ${snapshotId}`,
    );
    return found!;
  }

  async close(): Promise<void> {
    await this.channel.deleteQueue(this.queue).catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
