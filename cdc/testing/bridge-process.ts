import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BridgeConfig } from '../bridge-config.ts';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.ts');

/** The bridge as a real process (cdc/main.ts), so tests can SIGKILL and SIGTERM it. */
export class BridgeProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
    readonly output: string[],
  ) {}

  static start(config: BridgeConfig): BridgeProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        PATH: process.env.PATH,
        LEGACY_DATABASE_URL: config.databaseUrl,
        AMQP_URL: config.amqpUrl,
        CDC_PORT: '0',
        CDC_TABLES: config.tables.join(','),
        CDC_SLOT: config.slot,
        CDC_PUBLICATION: config.publication,
        CDC_EXCHANGE: config.exchange,
        CDC_STREAM: config.streamQueue,
        CDC_STREAM_MAX_AGE: config.streamMaxAge,
        CDC_STREAM_MAX_BYTES: String(config.streamMaxLengthBytes),
        CDC_LOCK_NAME: config.lockName,
        CDC_CONNECTION_NAME: config.connectionName,
        CDC_STANDBY_POLL_MS: String(config.standbyPollMs),
        CDC_BACKOFF_MAX_MS: String(config.backoffMaxMs),
        CDC_HEARTBEAT_MS: String(config.heartbeatIntervalMs),
        CDC_SNAPSHOT_CHUNK_SIZE: String(config.snapshotChunkSize),
        CDC_SIGNAL_QUEUE: config.signalQueue,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return new BridgeProcess(child, exited, output);
  }

  /** Resolves once the process logged that it streams. */
  async waitUntilStreaming(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.join('').includes('"msg":"streaming"')) {
      if (this.child.exitCode !== null) throw new Error(`the bridge exited: ${this.output.join('').slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`the bridge did not start streaming: ${this.output.join('').slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
