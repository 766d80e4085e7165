import { z } from 'zod';
import { PlatformErrors, StranglerError } from '../platform/errors.ts';
import { createRootLogger } from '../platform/logger.ts';
import { ProxyErrors } from './errors.ts';
import { StranglerProxy } from './proxy-server.ts';

// The proxy process: the only place that reads process.env. Everything below gets arguments.
const port = z.coerce.number().int().min(0).max(65_535);
const envSchema = z.object({
  PROXY_PORT: port.default(8080),
  ADMIN_PORT: port.default(8090),
  ROUTES_FILE: z.string().min(1).default('./routes.yaml'),
  STRANGLER_ADMIN_TOKEN: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const logger = createRootLogger({ name: 'strangler-proxy', level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw PlatformErrors.configInvalid(`${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const env = parsed.data;
  const token = env.STRANGLER_ADMIN_TOKEN?.trim() || undefined;
  if (token === undefined) {
    const error = ProxyErrors.adminTokenMissing();
    logger.warn({ code: error.code, remedy: error.remedy }, error.message);
  }

  const proxy = await StranglerProxy.start({
    routesFile: env.ROUTES_FILE,
    env: process.env,
    logger,
    adminToken: token,
    defaultMetrics: true,
  });
  const address = await proxy.listen(env.PROXY_PORT);
  const admin = await proxy.listenAdmin(env.ADMIN_PORT);
  logger.info(
    { port: address.port, adminPort: admin?.port, routesFile: env.ROUTES_FILE, version: proxy.store.current.table.version },
    `strangler proxy listening on :${address.port}${admin ? `, admin API on 127.0.0.1:${admin.port}` : ' (admin API closed: no token)'}`,
  );

  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading routes.yaml');
    void proxy.store.reload();
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing requests in flight');
    proxy.close(10_000).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof StranglerError) logger.fatal({ code: error.code, remedy: error.remedy }, error.message);
  else logger.fatal({ err: error instanceof Error ? error.stack : String(error) }, 'the proxy failed to start');
  process.exit(1);
});
