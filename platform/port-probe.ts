import net from 'node:net';
import { StranglerError } from './errors.ts';

/**
 * Fails with an error naming the variable to change when a port the stack needs is taken.
 * It tries to listen, rather than to connect, so that a listener on any interface counts.
 */
export async function assertPortsFree(ports: ReadonlyArray<{ variable: string; port: number }>): Promise<void> {
  for (const { variable, port } of ports) {
    const problem = await probe(port);
    if (!problem) continue;
    throw new StranglerError('PLATFORM_PORT_TAKEN', `port ${port} (${variable}) is ${problem}`, {
      remedy: `Stop the program listening on ${port} (\`ss -ltnp 'sport = :${port}'\` shows it), or choose another port: ${variable}=<free port> npm start.`,
    });
  }
}

function probe(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'EADDRINUSE' ? 'already in use' : `not available (${error.code ?? error.message})`);
    });
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(undefined));
    });
  });
}

/**
 * Fails at once, naming the variable, when a server the stack needs does not accept TCP
 * connections: better than processes retrying in the background until the readiness wait ends.
 */
export async function assertReachable(options: { url: string; variable: string; what: string; remedy: string }): Promise<void> {
  const parsed = new URL(options.url);
  const port = Number(parsed.port || defaultPort(parsed.protocol));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const problem = await new Promise<string | undefined>((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('no answer within 3 s');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  if (!problem) return;
  const shown = `${parsed.protocol}//${host}:${port}`;
  throw new StranglerError('PLATFORM_SERVER_UNREACHABLE', `${options.what} is not reachable at ${shown} (${options.variable}): ${problem}`, {
    remedy: options.remedy,
  });
}

function defaultPort(protocol: string): number {
  return ({ 'amqp:': 5672, 'amqps:': 5671, 'http:': 80, 'https:': 443, 'postgres:': 5432, 'postgresql:': 5432 } as Record<string, number>)[protocol] ?? 0;
}
