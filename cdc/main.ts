import { createRootLogger } from '../platform/logger.ts';
import { StranglerError } from '../platform/errors.ts';
import { CdcBridge } from './bridge.ts';
import { bridgeConfigFromEnv } from './bridge-config.ts';
import { CdcMetrics } from './metrics.ts';
import { startHealthServer } from './health-server.ts';

// The CDC bridge process: the only place that reads process.env.
const logger = createRootLogger({ name: 'cdc', level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<number> {
  const config = bridgeConfigFromEnv(process.env);
  const port = Number(process.env.CDC_PORT ?? 8084);
  const metrics = new CdcMetrics({ defaultMetrics: true });
  const bridge = new CdcBridge({ config, logger, metrics });
  const health = await startHealthServer({ port, registry: metrics.registry, status: () => bridge.status(), watermark: () => bridge.watermark() });
  logger.info({ port: health.port, slot: config.slot, exchange: config.exchange }, 'CDC bridge health and metrics listening');

  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'stopping: waiting for outstanding confirms, then flushing the slot position');
    void bridge.stop();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await bridge.start();
    return 0;
  } catch (error) {
    if (error instanceof StranglerError) logger.fatal({ code: error.code, remedy: error.remedy }, error.explain());
    else logger.fatal({ err: error }, 'the CDC bridge failed');
    return 1;
  } finally {
    await health.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof StranglerError) logger.fatal({ code: error.code, remedy: error.remedy }, error.explain());
    else logger.fatal({ err: error }, 'the CDC bridge could not start');
    process.exit(1);
  },
);
