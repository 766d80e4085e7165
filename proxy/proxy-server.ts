import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../platform/logger.ts';
import { createAdminApp } from './admin/admin-api.ts';
import { Forwarder } from './forwarding/forwarder.ts';
import { UpstreamPool } from './forwarding/upstream-pool.ts';
import { ProxyMetrics } from './proxy-metrics.ts';
import { RouteTableStore } from './reload/route-table-store.ts';
import { RoutesFileWatcher } from './reload/routes-file-watcher.ts';

export interface StranglerProxyOptions {
  readonly routesFile: string;
  /** For `${VAR:-default}` in upstream URLs. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /** Reload when routes.yaml changes on disk (default true). */
  readonly watch?: boolean;
  /** Admin API bearer token; without one the admin API is not offered. */
  readonly adminToken?: string | undefined;
  readonly random?: () => number;
  readonly defaultMetrics?: boolean;
}

/**
 * The proxy as a value: a plain node:http server for proxied traffic, an admin app, the live
 * route table and its watcher. `main.ts` wires it to ports and signals; tests start it on
 * ephemeral ports.
 */
export class StranglerProxy {
  readonly server: Server;
  readonly adminServer: Server | undefined;
  readonly store: RouteTableStore;
  readonly metrics: ProxyMetrics;
  readonly pool: UpstreamPool;
  readonly #forwarder: Forwarder;
  readonly #watcher: RoutesFileWatcher | undefined;
  readonly #logger: Logger;

  private constructor(parts: { store: RouteTableStore; metrics: ProxyMetrics; pool: UpstreamPool; forwarder: Forwarder; watcher: RoutesFileWatcher | undefined; adminServer: Server | undefined; logger: Logger }) {
    this.store = parts.store;
    this.metrics = parts.metrics;
    this.pool = parts.pool;
    this.#forwarder = parts.forwarder;
    this.#watcher = parts.watcher;
    this.adminServer = parts.adminServer;
    this.#logger = parts.logger;
    this.server = createServer(this.#forwarder.handleRequest);
    this.server.on('upgrade', this.#forwarder.handleUpgrade);
    // A bad request line or a client that vanishes mid-headers must not reach the handler.
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  static async start(options: StranglerProxyOptions): Promise<StranglerProxy> {
    const logger = options.logger;
    const metrics = new ProxyMetrics({ defaultMetrics: options.defaultMetrics ?? false });
    const pool = new UpstreamPool((upstream, state) => logger.warn({ upstream, circuit: state }, `circuit of upstream "${upstream}" is now ${state}`));
    metrics.observeCircuits(() => pool.states());
    const store = await RouteTableStore.open({
      file: options.routesFile,
      env: options.env,
      pool,
      logger: logger.child({ component: 'route-table' }),
      onApplied: (table) => metrics.tableLoaded(table.version, table.loadedAt),
      onResult: (result) => metrics.reload(result),
    });
    const forwarder = new Forwarder({ store, metrics, logger: logger.child({ component: 'proxy' }), random: options.random });
    let watcher: RoutesFileWatcher | undefined;
    if (options.watch ?? true) {
      watcher = new RoutesFileWatcher({ file: options.routesFile, logger, onChange: () => void store.reload() });
      await watcher.start();
    }
    const adminServer = options.adminToken ? createServer(createAdminApp({ store, metrics, pool, token: options.adminToken, logger: logger.child({ component: 'admin' }) })) : undefined;
    return new StranglerProxy({ store, metrics, pool, forwarder, watcher, adminServer, logger });
  }

  async listen(port: number, host?: string): Promise<AddressInfo> {
    return listenOn(this.server, port, host);
  }

  /** The admin API listens on loopback only. */
  async listenAdmin(port: number): Promise<AddressInfo | undefined> {
    return this.adminServer ? listenOn(this.adminServer, port, '127.0.0.1') : undefined;
  }

  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes pools. */
  async close(graceMs = 10_000): Promise<void> {
    this.#watcher?.close();
    const closing = Promise.all([closeServer(this.server), this.adminServer ? closeServer(this.adminServer) : undefined]);
    this.server.closeIdleConnections();
    this.adminServer?.closeIdleConnections();
    const timer = setTimeout(() => {
      this.#logger.warn('requests still in flight after the grace period; closing their connections');
      this.server.closeAllConnections();
      this.adminServer?.closeAllConnections();
    }, graceMs);
    timer.unref();
    await closing;
    clearTimeout(timer);
    this.#forwarder.close();
    this.pool.close();
  }
}

function listenOn(server: Server, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
