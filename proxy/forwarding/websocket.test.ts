import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, routesFor, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('WebSocket upgrades', () => {
  let legacy: TestUpstream;
  let sockets: WebSocketServer;
  let proxy: TestProxy;
  let upgradeHeaders: Record<string, unknown> = {};

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    sockets = new WebSocketServer({ server: legacy.server, path: '/ws/notifications' });
    sockets.on('connection', (socket, req) => {
      upgradeHeaders = req.headers;
      socket.on('message', (data) => socket.send(`legacy heard: ${String(data)}`));
    });
    proxy = await startProxy(routesFor({ legacy: legacy.url }, '  - id: all\n    match: { path: "/*" }\n'));
  });
  afterAll(async () => {
    await proxy.close();
    sockets.close();
    await legacy.close();
  });

  it('an upgrade to legacy opens a two-way socket through the proxy', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws/notifications`);
    const reply = await new Promise<string>((resolve, reject) => {
      client.on('open', () => client.send('hello'));
      client.on('message', (data) => resolve(String(data)));
      client.on('error', reject);
    });
    expect(reply).toBe('legacy heard: hello');
    expect(upgradeHeaders['x-forwarded-for']).toBe('127.0.0.1');
    client.close();
  });

  it('an upgrade to a path nothing listens on fails cleanly instead of hanging', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${proxy.port}/not-a-socket`);
    const outcome = await new Promise<string>((resolve) => {
      client.on('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      client.on('error', (error) => resolve(`error ${error.message}`));
      client.on('open', () => resolve('open'));
    });
    expect(outcome).not.toBe('open');
  });
});
