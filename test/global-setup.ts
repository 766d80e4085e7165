import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '../platform/embedded-postgres.ts';
import { silentLogger } from '../platform/logger.ts';
import { freePort } from '../platform/free-port.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL server (database `postgres`). */
    postgresServerUrl: string;
    amqpUrl: string;
  }
}

let server: RunningPostgres | undefined;
let dataDir: string | undefined;

/**
 * Starts one throw-away PostgreSQL (wal_level=logical) for the run, in a temporary folder on a
 * free port, so that test runs never touch the stack's `.data/` and two runs never collide.
 * TEST_DATABASE_URL points the run at an existing server instead.
 */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.TEST_DATABASE_URL;
  if (!url) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'strangler-test-'));
    server = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      logger: silentLogger(),
      durability: 'ephemeral',
    });
    url = server.url('postgres');
  }
  project.provide('postgresServerUrl', url);
  project.provide('amqpUrl', process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}

