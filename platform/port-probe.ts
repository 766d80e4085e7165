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
