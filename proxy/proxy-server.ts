import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../platform/logger.ts';
import { createAdminApp } from './admin/admin-api.ts';
import { Forwarder } from './forwarding/forwarder.ts';
import { UpstreamPool } from './forwarding/upstream-pool.ts';
import { ProxyMetrics } from './proxy-metrics.ts';
import { RouteTableStore } from './reload/route-table-store.ts';
import { RoutesFileWatcher } from './reload/routes-file-watcher.ts';
import type { ShadowRouteInfo } from './shadow/shadow-admin.ts';
import { ShadowJournal } from './shadow/shadow-journal.ts';
import { ShadowMetrics } from './shadow/shadow-metrics.ts';
import { ShadowMirror } from './shadow/shadow-mirror.ts';
import { ShadowReport, type RestoredReport } from './shadow/shadow-report.ts';
import { bridgeWatermark } from './shadow/replication-watermark.ts';

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
  /** Where the shadow report is journaled (`<dataDir>/shadow/shadow-report.jsonl`); none: memory only. */
  readonly dataDir?: string | undefined;
  /** The CDC bridge's base URL, for the legacy's WAL position in replication-aware rechecks. */
  readonly cdcUrl?: string | undefined;
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
  /** Mode shadow's mirror and its report (GET /shadow on the admin API). */
  readonly shadow: ShadowMirror;
  readonly shadowReport: ShadowReport;
  readonly #journal: ShadowJournal | undefined;
  readonly #forwarder: Forwarder;
  readonly #watcher: RoutesFileWatcher | undefined;
  readonly #logger: Logger;

  private constructor(parts: { store: RouteTableStore; metrics: ProxyMetrics; pool: UpstreamPool; forwarder: Forwarder; watcher: RoutesFileWatcher | undefined; adminServer: Server | undefined; logger: Logger; shadow: ShadowMirror; shadowReport: ShadowReport; journal: ShadowJournal | undefined }) {
    this.shadow = parts.shadow;
    this.shadowReport = parts.shadowReport;
    this.#journal = parts.journal;
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
    const shadowLogger = logger.child({ component: 'shadow' });
    let journal: ShadowJournal | undefined;
    let restored: RestoredReport | undefined;
    if (options.dataDir !== undefined) ({ journal, restored } = await ShadowJournal.open({ file: join(options.dataDir, 'shadow', 'shadow-report.jsonl'), logger: shadowLogger }));
    const shadowReport = new ShadowReport({ restored, onMismatch: (record) => journal?.appendMismatch(record) });
    journal?.start(() => shadowReport.toState());
    const shadow = new ShadowMirror({
      report: shadowReport,
      metrics: new ShadowMetrics(metrics.registry),
      logger: shadowLogger,
      ...(options.cdcUrl ? { watermark: bridgeWatermark(options.cdcUrl) } : {}),
      onOutcome: () => journal?.touch(),
    });
    const forwarder = new Forwarder({ store, metrics, logger: logger.child({ component: 'proxy' }), random: options.random, shadow });
    let watcher: RoutesFileWatcher | undefined;
    if (options.watch ?? true) {
      watcher = new RoutesFileWatcher({ file: options.routesFile, logger, onChange: () => void store.reload() });
      await watcher.start();
    }
    const adminServer = options.adminToken ? createServer(createAdminApp({ store, metrics, pool, token: options.adminToken, logger: logger.child({ component: 'admin' }), shadow: { report: shadowReport, routes: () => shadowRoutes(store) } })) : undefined;
    return new StranglerProxy({ store, metrics, pool, forwarder, watcher, adminServer, logger, shadow, shadowReport, journal });
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
    await this.shadow.close();
    await this.#journal?.close();
  }
}

/** The live table's routes that shadow (or keep a shadow block for a rollback), for GET /shadow. */
function shadowRoutes(store: RouteTableStore): ShadowRouteInfo[] {
  return store.current.table.routes
    .filter((route) => route.shadow !== null || route.definition.shadow !== undefined)
    .map((route) => ({ id: route.id, mode: route.mode, target: route.target, primary: route.shadow?.primary ?? route.definition.shadow?.primary, sampleRate: route.shadow?.sampleRate ?? route.definition.shadow?.sampleRate }));
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
