import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../platform/logger.ts';
import { StranglerProxy, type StranglerProxyOptions } from './proxy-server.ts';

/** Test support for the proxy's specs: real servers on ephemeral ports, nothing mocked. */

export interface TestUpstream {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Sockets currently open on the upstream side. */
  openSockets(): number;
  close(): Promise<void>;
}

export async function startUpstream(handler: RequestListener): Promise<TestUpstream> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An upstream that answers every request with its own name, the path and the headers it saw. */
export function echo(name: string): RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, bodyBytes: Buffer.concat(chunks).length });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  };
}

export interface TestProxy {
  readonly proxy: StranglerProxy;
  readonly port: number;
  readonly url: string;
  readonly routesFile: string;
  readonly dir: string;
  writeRoutes(text: string): void;
  close(): Promise<void>;
}

export async function startProxy(routes: string, options: Partial<StranglerProxyOptions> & { logger?: Logger } = {}): Promise<TestProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'strangler-proxy-'));
  const routesFile = options.routesFile ?? join(dir, 'routes.yaml');
  if (!options.routesFile) writeFileSync(routesFile, routes);
  const proxy = await StranglerProxy.start({ routesFile, env: {}, logger: silentLogger(), watch: false, ...options });
  const { port } = await proxy.listen(0, '127.0.0.1');
  return {
    proxy,
    port,
    url: `http://127.0.0.1:${port}`,
    routesFile,
    dir,
    writeRoutes: (text) => writeFileSync(routesFile, text),
    close: async () => {
      await proxy.close(1000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: string;
}

/** One request over a fresh connection (no pooling surprises), body collected as text. */
export function send(url: string, options: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function routesFor(upstreams: Record<string, string>, routes: string, extra = ''): string {
  const lines = Object.entries(upstreams).map(([name, url]) => `  ${name}: { url: "${url}" }`);
  return `upstreams:\n${lines.join('\n')}\n${extra}routes:\n${routes}`;
}

/** Waits until `check` holds (polled every 20 ms), failing after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
