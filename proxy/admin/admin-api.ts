import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../platform/logger.ts';
import type { ProxyMetrics } from '../proxy-metrics.ts';
import type { RouteTableStore } from '../reload/route-table-store.ts';
import type { UpstreamPool } from '../forwarding/upstream-pool.ts';
import { shadowAdminRouter, type ShadowAdminDeps } from '../shadow/shadow-admin.ts';
import { createBearerCheck } from './admin-token.ts';

export interface AdminApiDeps {
  readonly store: RouteTableStore;
  readonly metrics: ProxyMetrics;
  readonly pool: UpstreamPool;
  readonly token: string;
  readonly logger: Logger;
  /** GET /shadow, GET /shadow/:routeId. */
  readonly shadow?: ShadowAdminDeps;
}

/**
 * The admin API (express is fine here: it is off the proxied hot path). Every endpoint, health
 * included, requires the bearer token: it listens on 127.0.0.1 only, but a shared host is not a
 * trust boundary.
 */
export function createAdminApp(deps: AdminApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  const authorised = createBearerCheck(deps.token);

  app.use((req: Request, res: Response, next: NextFunction) => {
    if (authorised(req.headers.authorization)) {
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', 'Bearer realm="strangler-admin"').json({ error: 'PROXY_ADMIN_UNAUTHORIZED', message: 'Send Authorization: Bearer $STRANGLER_ADMIN_TOKEN.' });
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', version: deps.store.current.table.version });
  });

  app.get('/routes', (_req, res) => {
    res.json(describeTable(deps.store, deps.pool));
  });

  app.post('/reload', async (_req, res) => {
    const outcome = await deps.store.reload();
    const body = { ...describeTable(deps.store, deps.pool), result: outcome.result };
    res.status(outcome.result === 'invalid' ? 422 : 200).json(body);
  });

  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  if (deps.shadow) app.use(shadowAdminRouter(deps.shadow));

  app.use((_req, res) => {
    res.status(404).json({ error: 'NOT_FOUND', message: 'Admin endpoints: GET /routes, POST /reload, GET /metrics, GET /healthz, GET /shadow, GET /shadow/:routeId.' });
  });
  // Express's default handler would print a stack trace outside production; log it instead.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'admin API request failed');
    res.status(500).json({ error: 'PROXY_ADMIN_FAILED', message: 'The admin request failed; see the proxy log.' });
  });
  return app;
}

/** The effective table as the admin API and `strangler routes show` present it. */
export function describeTable(store: RouteTableStore, pool: UpstreamPool) {
  const { table } = store.current;
  const circuits = new Map(pool.states().map(({ upstream, state }) => [upstream, state]));
  return {
    version: table.version,
    loadedAt: table.loadedAt.toISOString(),
    file: table.file,
    settings: table.settings,
    upstreams: [...table.upstreams.values()].map((upstream) => ({
      name: upstream.name,
      url: upstream.url.href,
      timeoutMs: upstream.timeoutMs,
      circuit: { ...upstream.circuit, state: circuits.get(upstream.name) ?? 'closed' },
    })),
    routes: table.routes.map((route) => route.definition),
    defaultRoute: { id: table.defaultRoute.id, mode: 'legacy', target: 'legacy' },
    warnings: table.warnings,
    lastError: store.lastError,
  };
}
