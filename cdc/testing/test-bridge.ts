import amqp from 'amqplib';
import { CdcBridge } from '../bridge.ts';
import type { BridgeConfigInput } from '../bridge-config.ts';
import { prepareCapture } from '../capture-setup.ts';
import { startHealthServer } from '../health-server.ts';
import type { CdcFixture } from './cdc-fixture.ts';

export interface TestBridge {
  readonly bridge: CdcBridge;
  /** Port of its /healthz, /metrics and /watermark on 127.0.0.1. */
  readonly healthPort: number;
  stop(): Promise<void>;
}

/**
 * The bridge as the stack runs it, for specs of what sits downstream (services, shadow, replay):
 * capture prepared first (publication, then slot — as the stack launcher does, so a seed written
 * afterwards reaches the stream), streaming on the fixture's names, its health server on a free
 * port. `stop()` stops both; the fixture's cleanup drops the slot.
 */
export async function startTestBridge(fixture: CdcFixture, overrides: Partial<BridgeConfigInput> = {}): Promise<TestBridge> {
  await prepareCapture({ databaseUrl: fixture.database.url, logger: fixture.logger, publication: fixture.names.publication, slot: fixture.names.slot });
  const bridge = new CdcBridge({ config: fixture.config(overrides), logger: fixture.logger });
  const running = bridge.start();
  running.catch(() => undefined);
  await bridge.waitUntilActive();
  const health = await startHealthServer({
    port: 0,
    host: '127.0.0.1',
    registry: bridge.metrics.registry,
    status: () => bridge.status(),
    watermark: () => bridge.watermark(),
  });
  return {
    bridge,
    healthPort: health.port,
    async stop() {
      await bridge.stop();
      await running.catch(() => undefined);
      await health.close();
    },
  };
}

/** Deletes a consumer-kit queue with its retry and dead-letter queues (spec cleanup). */
export async function deleteServiceQueues(amqpUrl: string, ...queues: string[]): Promise<void> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) {
      for (const name of [queue, `${queue}.retry`, `${queue}.dead`]) await channel.deleteQueue(name).catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}
