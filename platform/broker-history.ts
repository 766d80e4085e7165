import amqp from 'amqplib';
import type { Logger } from './logger.ts';

/**
 * The RabbitMQ queues that hold a legacy database's change history for the stack: the bridge's
 * history stream, each service's queue with its retry and dead-letter queues, and the snapshot
 * signal queue. Names as the processes read them from the environment, with their defaults.
 */
export function historyQueues(env: Readonly<Record<string, string | undefined>>): string[] {
  const serviceQueues = [env.PRICING_QUEUE || 'pricing.cdc', env.PIM_QUEUE || 'pim.cdc'];
  return [
    env.CDC_STREAM || 'legacy.cdc.log',
    env.CDC_SIGNAL_QUEUE || 'legacy.cdc.signals',
    ...serviceQueues.flatMap((queue) => [queue, `${queue}.retry`, `${queue}.dead`]),
  ];
}

/**
 * A brand-new legacy database starts its change history anew, but RabbitMQ outlives it: the
 * stream and the services' queues of a previous database (a deleted `.data/`, a re-created
 * LEGACY_DATABASE_URL) would hand the new stores changes of rows that never existed here, at LSNs
 * that can be *ahead* of the new database's — and the position guard would then refuse the new
 * database's real changes as "older". So when the launcher has just created the legacy schema, it
 * deletes those queues before any process starts (each re-declares its own). Answers the names it
 * deleted; a queue that does not exist is skipped.
 */
export async function forgetBrokerHistory(options: { amqpUrl: string; queues: readonly string[]; logger: Logger }): Promise<string[]> {
  const connection = await amqp.connect(options.amqpUrl, { clientProperties: { connection_name: 'strangler-up:forget-history' } });
  const deleted: string[] = [];
  try {
    for (const queue of options.queues) {
      // checkQueue on a channel of its own: a missing queue (404) closes the channel it was asked on.
      const probe = await connection.createChannel();
      probe.on('error', () => undefined);
      const exists = await probe.checkQueue(queue).then(
        () => true,
        () => false,
      );
      if (!exists) continue;
      await probe.deleteQueue(queue);
      await probe.close().catch(() => undefined);
      deleted.push(queue);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
  if (deleted.length > 0) {
    options.logger.warn(
      { deleted },
      "a new legacy database: removed the previous database's change history from RabbitMQ (history stream and service queues), which would otherwise feed the new stores rows that never existed here",
    );
  }
  return deleted;
}
