import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Force-closes the AMQP connections whose client-provided name contains `name`, as a broker
 * restart would. Only ours: RabbitMQ is shared with other engineers' tests.
 */
export async function closeBrokerConnections(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', '--no-table-headers', '--quiet', 'pid', 'client_properties']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(name))
    .map((line) => /^(<[^>]+>)/.exec(line.trim())?.[1])
    .filter((pid): pid is string => Boolean(pid));
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'test: simulated broker loss']);
  return pids.length;
}
