import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import { CdcBridge } from '../../../cdc/bridge.ts';
import { prepareCapture } from '../../../cdc/capture-setup.ts';
import { startHealthServer } from '../../../cdc/health-server.ts';
import { CdcFixture } from '../../../cdc/testing/cdc-fixture.ts';
import { createLegacyApp } from '../../../legacy-stub/app.ts';
import { seedLegacy } from '../../../legacy-stub/seed/seed.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import type { Logger } from '../../../platform/logger.ts';
import { startPimService, type PimService } from '../pim-service.ts';

/**
 * The whole path for a PIM test: a legacy database (CdcFixture: legacy schema, random names),
 * prepareCapture, the seed, the real CDC bridge in-process, RabbitMQ, the legacy app on an
 * ephemeral port, and the PIM (its own database and queue) started after the seed streamed.
 */
export class PimStack {
  fixture!: CdcFixture;
  bridge!: CdcBridge;
  private running: Promise<void> | undefined;
  private bridgeHealth: { port: number; close(): Promise<void> } | undefined;
  pimDatabase!: TestDatabase;
  pim!: PimService;
  legacyServer!: http.Server;
  legacyBase = '';
  pimBase = '';
  now = new Date('2025-06-15T12:00:00Z');

  get queue(): string {
    return `pim.cdc.${this.fixture.suffix}`;
  }

  /**
   * `pimFirst`: start the PIM before the bridge has ever run (no stream yet), as `npm start`
   * may; the bridge then starts with `startBridge()`.
   */
  static async start(options: { products: number; label: string; logger?: Logger; pimFirst?: boolean }): Promise<PimStack> {
    const stack = new PimStack();
    const fixture = (stack.fixture = await CdcFixture.create(options.label));
    await prepareCapture({ databaseUrl: fixture.database.url, logger: fixture.logger, publication: fixture.names.publication, slot: fixture.names.slot });
    await seedLegacy(fixture.database.url, { products: options.products, randomSeed: 11, logger: fixture.logger, now: stack.now });
    if (!options.pimFirst) await stack.startBridge();
    const app = createLegacyApp({ pool: fixture.pool, logger: fixture.logger, clock: () => stack.now });
    stack.legacyServer = await new Promise<http.Server>((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server));
    });
    stack.legacyBase = `http://127.0.0.1:${(stack.legacyServer.address() as AddressInfo).port}`;
    stack.pimDatabase = await createTestDatabase(`pim_${options.label}`);
    stack.pim = await startPimService({
      databaseUrl: stack.pimDatabase.url,
      amqpUrl: fixture.amqpUrl,
      logger: options.logger ?? fixture.logger,
      port: 0,
      host: '127.0.0.1',
      queue: stack.queue,
      exchange: fixture.names.exchange,
      signalQueue: fixture.names.signalQueue,
      bridgeHealthUrl: stack.bridgeHealth ? `http://127.0.0.1:${stack.bridgeHealth.port}/healthz` : undefined,
    });
    stack.pimBase = `http://127.0.0.1:${stack.pim.port}`;
    return stack;
  }

  async startBridge(): Promise<void> {
    this.bridge = new CdcBridge({ config: this.fixture.config(), logger: this.fixture.logger });
    this.running = this.bridge.start();
    await this.bridge.waitUntilActive();
    this.bridgeHealth = await startHealthServer({ port: 0, host: '127.0.0.1', registry: this.bridge.metrics.registry, status: () => this.bridge.status(), watermark: () => this.bridge.watermark() });
  }

  async stop(): Promise<void> {
    await this.pim?.close().catch(() => undefined);
    if (this.legacyServer) {
      this.legacyServer.closeAllConnections();
      await new Promise((resolve) => this.legacyServer.close(resolve));
    }
    await this.bridgeHealth?.close();
    await this.bridge?.stop();
    await this.running?.catch(() => undefined);
    const connection = await amqp.connect(this.fixture.amqpUrl).catch(() => undefined);
    if (connection) {
      for (const queue of [this.queue, `${this.queue}.retry`, `${this.queue}.dead`]) {
        const channel = await connection.createChannel();
        await channel.deleteQueue(queue).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
      await connection.close().catch(() => undefined);
    }
    await this.pimDatabase?.drop();
    await this.fixture?.cleanup();
  }
}

export interface HttpAnswer {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

export async function call(base: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<HttpAnswer> {
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, text, body, headers: response.headers };
}

export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await probe();
  }
  return last;
}
