import { pino } from 'pino';
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
  DATA_DIR: z.string().min(1).default('.data'),
  /** The CDC bridge (health endpoint), for replication-aware shadow rechecks. */
  CDC_URL: z.string().url().optional(),
  CDC_PORT: port.default(8084),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

// One request line per proxied request: written synchronously that is one write(2) each, about
// 5% of the proxy's CPU under load. Buffered up to 4 KB instead (pino flushes it on exit), and
// flushed every second and after each lifecycle line so a quiet proxy's log still reads live.
const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
const flushLogs = () => destination.flush();
setInterval(flushLogs, 1000).unref();
// platform/logger.ts types its destination as a Node stream; pino accepts any DestinationStream.
const logger = createRootLogger({ name: 'strangler-proxy', level: process.env.LOG_LEVEL ?? 'info', destination: destination as unknown as NodeJS.WritableStream });

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
    dataDir: env.DATA_DIR,
    cdcUrl: env.CDC_URL ?? `http://127.0.0.1:${env.CDC_PORT}`,
  });
  const address = await proxy.listen(env.PROXY_PORT);
  const admin = await proxy.listenAdmin(env.ADMIN_PORT);
  logger.info(
    { port: address.port, adminPort: admin?.port, routesFile: env.ROUTES_FILE, version: proxy.store.current.table.version },
    `strangler proxy listening on :${address.port}${admin ? `, admin API on 127.0.0.1:${admin.port}` : ' (admin API closed: no token)'}`,
  );
  flushLogs();

  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading routes.yaml');
    // Out now, not after the reload: the file watcher may have applied the same edit already.
    flushLogs();
    void proxy.store.reload().finally(flushLogs);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing requests in flight');
    flushLogs();
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
