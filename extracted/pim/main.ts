import { createRootLogger } from '../../platform/logger.ts';
import { StranglerError } from '../../platform/errors.ts';
import { parsePimConfig } from './pim-config.ts';
import { startPimService } from './pim-service.ts';
import { PimMetrics } from './metrics.ts';
import { ElasticsearchProductStore } from './store/elasticsearch/elasticsearch-product-store.ts';

// The PIM process: the only place that reads process.env.
const logger = createRootLogger({ name: 'pim', level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const config = parsePimConfig(process.env);
  const elasticsearchUrl = config.elasticsearchUrl;
  const service = await startPimService({
    databaseUrl: config.databaseUrl,
    amqpUrl: config.amqpUrl,
    logger,
    port: config.port,
    queue: config.queue,
    exchange: config.exchange,
    signalQueue: config.signalQueue,
    serverName: config.serverName,
    bridgeHealthUrl: config.bridgeHealthUrl,
    metrics: new PimMetrics({ defaultMetrics: true }),
    createStore: elasticsearchUrl
      ? () => ElasticsearchProductStore.connect({ node: elasticsearchUrl, alias: config.elasticsearchIndex, logger })
      : undefined,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing the change in hand, then closing');
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof StranglerError) logger.fatal({ code: error.code, remedy: error.remedy }, error.explain());
  else logger.fatal({ err: error }, 'the PIM could not start');
  process.exit(1);
});
