import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { StranglerError } from './errors.ts';
import { assertPortsFree, assertReachable } from './port-probe.ts';

function listen(host: string): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, host, () => resolve(server));
  });
}

describe('the port check before the stack starts', () => {
  it('when a port is taken, then the error names the variable to change', async () => {
    const server = await listen('127.0.0.1');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const error = await assertPortsFree([{ variable: 'LEGACY_PORT', port }]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StranglerError);
      expect((error as StranglerError).code).toBe('PLATFORM_PORT_TAKEN');
      expect((error as StranglerError).message).toBe(`port ${port} (LEGACY_PORT) is already in use`);
      expect((error as StranglerError).remedy).toContain(`LEGACY_PORT=<free port> npm start`);
    } finally {
      server.close();
    }
  });

  it('when another program listens on all interfaces, then the port counts as taken too', async () => {
    const server = await listen('0.0.0.0');
    const port = (server.address() as net.AddressInfo).port;
    try {
      await expect(assertPortsFree([{ variable: 'PROXY_PORT', port }])).rejects.toThrow(/PROXY_PORT/);
    } finally {
      server.close();
    }
  });

  it('when the ports are free, then it passes and leaves them free', async () => {
    const server = await listen('127.0.0.1');
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    await assertPortsFree([{ variable: 'CDC_PORT', port }]);
    await assertPortsFree([{ variable: 'CDC_PORT', port }]);
  });
});

describe('the check that a server the stack needs is there', () => {
  it('when nothing listens at AMQP_URL, then the error names the server, the address and the variable', async () => {
    const server = await listen('127.0.0.1');
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const error = await assertReachable({ url: `amqp://guest:guest@127.0.0.1:${port}`, variable: 'AMQP_URL', what: 'RabbitMQ', remedy: 'Start it.' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StranglerError);
    expect((error as StranglerError).message).toBe(`RabbitMQ is not reachable at amqp://127.0.0.1:${port} (AMQP_URL): ECONNREFUSED`);
    expect((error as StranglerError).message).not.toContain('guest');
  });

  it('when the server listens, then it passes', async () => {
    const server = await listen('127.0.0.1');
    const port = (server.address() as net.AddressInfo).port;
    try {
      await assertReachable({ url: `amqp://127.0.0.1:${port}`, variable: 'AMQP_URL', what: 'RabbitMQ', remedy: 'Start it.' });
    } finally {
      server.close();
    }
  });
});
