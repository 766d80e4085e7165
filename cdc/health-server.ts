import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * GET /healthz → the bridge's status as JSON (200 while the process works, as active or as a
 * standby; 503 while it reconnects or after a fatal error); GET /metrics → Prometheus text;
 * GET /watermark → `{ lsn }`, the last captured commit before the call (shadow rechecks).
 */
export async function startHealthServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  status: () => { state: string };
  /** GET /watermark (see CdcBridge.watermark); 404 when absent. */
  watermark?: () => Promise<string | null>;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    if (request.method === 'GET' && (url === '/healthz' || url === '/health')) {
      const status = options.status();
      const healthy = status.state === 'active' || status.state === 'standby';
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify(status));
      return;
    }
    const watermark = options.watermark;
    if (request.method === 'GET' && url === '/watermark' && watermark) {
      watermark()
        .then((lsn) => {
          response.writeHead(lsn ? 200 : 503, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ lsn }));
        })
        .catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ lsn: null, error: String(error) }));
        });
      return;
    }
    if (request.method === 'GET' && url === '/metrics') {
      options.registry
        .metrics()
        .then((text) => {
          response.writeHead(200, { 'content-type': options.registry.contentType });
          response.end(text);
        })
        .catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        });
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'not found', paths: ['/healthz', '/metrics', '/watermark'] }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
