import type { CdcFixture } from '../../../cdc/testing/cdc-fixture.ts';
import { startPricingService, type PricingService } from '../pricing-service.ts';

/**
 * The pricing service as the specs run it: on the fixture's random-suffixed exchange and stream,
 * its own queue and database, the bridge's health server for lag, a pinned clock, and quick
 * retries so that a poison message reaches the dead-letter queue within a test's time.
 */
export function startTestPricingService(options: {
  fixture: CdcFixture;
  databaseUrl: string;
  queue: string;
  bridgeHealthPort: number;
  clock: () => Date;
}): Promise<PricingService> {
  const { fixture } = options;
  return startPricingService({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: options.databaseUrl,
      amqpUrl: fixture.amqpUrl,
      cdcHealthUrl: `http://127.0.0.1:${options.bridgeHealthPort}/healthz`,
      exchange: fixture.names.exchange,
      signalQueue: fixture.names.signalQueue,
      serverName: 'legacy',
      queue: options.queue,
      cacheTtlSeconds: 60,
      poolSize: 4,
    },
    logger: fixture.logger,
    clock: options.clock,
    maxAttempts: 2,
    retryBackoff: { initialMs: 50, maxMs: 100 },
  });
}
