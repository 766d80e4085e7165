import { createRootLogger } from '../../platform/logger.ts';
import { StranglerError } from '../../platform/errors.ts';
import { PricingMetrics } from './metrics.ts';
import { pricingConfigFromEnv } from './pricing-config.ts';
import { startPricingService, type PricingService } from './pricing-service.ts';

// The pricing service process: the only place that reads process.env.
const logger = createRootLogger({ name: 'pricing', level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const config = pricingConfigFromEnv(process.env);
  const service: PricingService = await startPricingService({
    config,
    logger,
    metrics: new PricingMetrics({ defaultMetrics: true }),
    brokerWaitMs: config.brokerWaitSeconds * 1000,
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the pricing service');
    setTimeout(() => process.exit(1), 10_000).unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'the pricing service did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof StranglerError) logger.fatal({ code: error.code, remedy: error.remedy }, error.explain());
  else logger.fatal({ err: error }, 'the pricing service could not start');
  process.exit(1);
});
