import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesFor, startProxy, type TestProxy } from '../test-kit.ts';

describe('when the upstream dies in the middle of its answer', () => {
  let broken: Server;
  let proxy: TestProxy;

  beforeAll(async () => {
    // A raw TCP server: promises 1000 bytes, sends 10, then resets the connection.
    broken = createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789');
        setTimeout(() => socket.resetAndDestroy(), 20);
      });
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const port = (broken.address() as { port: number }).port;
    proxy = await startProxy(routesFor({ legacy: `http://127.0.0.1:${port}` }, '  - id: all\n    match: { path: "/*" }\n'));
  });
  afterAll(async () => {
    await proxy.close();
    broken.close();
  });

  it('then the client sees the connection cut, never a short body passed off as complete', async () => {
    const outcome = await new Promise<{ status: number; received: number; complete: boolean }>((resolve) => {
      request(`${proxy.url}/catalog`, { agent: false }, (res) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => (received += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, received, complete: true }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, received, complete: false }));
        res.on('aborted', () => resolve({ status: res.statusCode ?? 0, received, complete: false }));
      })
        .on('error', () => resolve({ status: 0, received: 0, complete: false }))
        .end();
    });
    expect(outcome.complete).toBe(false);
    expect(outcome.received).toBeLessThan(1000);
  });
});
