import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import pg from 'pg';
import { CdcBridge } from '../cdc/bridge.ts';
import { startHealthServer } from '../cdc/health-server.ts';
import { CdcFixture } from '../cdc/testing/cdc-fixture.ts';
import { embeddedLegacyUrl, registerCdcCommands, runCdcStatus, type CdcCommandIo } from './cdc-commands.ts';
import { runSnapshotCancel, runSnapshotCommand } from './cdc-snapshot-commands.ts';
import { TestTarget } from '../cdc/snapshot/test-target.ts';
import { readSnapshot } from '../cdc/snapshot/snapshot-request.ts';

let fixture: CdcFixture;
let bridge: CdcBridge;
let health: { port: number; close(): Promise<void> };

function io(): CdcCommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { env: {}, out: (text) => stdout.push(text), err: (text) => stderr.push(text), fetch: globalThis.fetch, stdout, stderr };
}

beforeAll(async () => {
  fixture = await CdcFixture.create('cli', { migrateLegacy: false });
  await fixture.query('CREATE TABLE item (id int PRIMARY KEY, name text)');
  bridge = new CdcBridge({ config: fixture.config({ tables: ['item'] }), logger: fixture.logger });
  void bridge.start().catch(() => undefined);
  health = await startHealthServer({ port: 0, host: '127.0.0.1', registry: bridge.metrics.registry, status: () => bridge.status(), watermark: () => bridge.watermark() });
  await bridge.waitUntilActive();
  await fixture.listen();
  await fixture.query(`INSERT INTO item SELECT g, 'n' || g FROM generate_series(1, 3) g`);
  await fixture.waitForCount(3);
});

afterAll(async () => {
  await health?.close();
  await bridge?.stop();
  await fixture?.cleanup();
});

describe('strangler cdc status', () => {
  it('prints the slot, publication, LSNs, lag and the running bridge\'s event counts', async () => {
    const terminal = io();
    const code = await runCdcStatus(
      { databaseUrl: fixture.database.url, slot: fixture.names.slot, publication: fixture.names.publication, bridgeUrl: `http://127.0.0.1:${health.port}` },
      terminal,
    );
    expect(code).toBe(0);
    const text = terminal.stdout.join('\n');
    expect(text).toContain(`slot          ${fixture.names.slot} (pgoutput, active`);
    expect(text).toMatch(/confirmed flush\s+[0-9A-F]+\/[0-9A-F]+/);
    expect(text).toMatch(/lag\s+\d/);
    expect(text).toContain(`publication   ${fixture.names.publication} (2 tables: item, strangler_cdc_signal)`);
    expect(text).toContain(`bridge        active at http://127.0.0.1:${health.port}`);
    expect(text).toMatch(/events\s+3 confirmed/);
  });

  it('with --json prints the same report as JSON', async () => {
    const terminal = io();
    await runCdcStatus(
      { databaseUrl: fixture.database.url, slot: fixture.names.slot, publication: fixture.names.publication, bridgeUrl: `http://127.0.0.1:${health.port}`, json: true },
      terminal,
    );
    const report = JSON.parse(terminal.stdout.join('\n'));
    expect(report.slot).toMatchObject({ slot: fixture.names.slot, plugin: 'pgoutput', active: true });
    expect(report.bridge.status).toMatchObject({ state: 'active', eventsConfirmed: 3 });
  });

  it('when the slot does not exist, then it says so with a remedy and exits 1; an unreachable bridge is reported, not fatal', async () => {
    const terminal = io();
    const code = await runCdcStatus({ databaseUrl: fixture.database.url, slot: 'no_such_slot', bridgeUrl: 'http://127.0.0.1:9' }, terminal);
    expect(code).toBe(1);
    expect(terminal.stdout.join('\n')).toContain('slot          (missing)');
    expect(terminal.stdout.join('\n')).toContain('bridge        not reachable at http://127.0.0.1:9');
    expect(terminal.stderr.join('\n')).toContain('CDC_SLOT_MISSING');
  });

  it('without --database-url or LEGACY_DATABASE_URL, then it reads the embedded legacy database on PG_PORT', async () => {
    // Point PG_PORT at the test server: the default URL is postgres:postgres@127.0.0.1:PG_PORT/legacy,
    // so a database named legacy must exist there for the default to be observable end to end.
    const port = new URL(fixture.database.url).port;
    const admin = new pg.Client({ connectionString: fixture.database.url });
    await admin.connect();
    const created = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'legacy'`)).rowCount === 0;
    if (created) await admin.query('CREATE DATABASE legacy').catch(() => undefined);
    try {
      const terminal = io();
      terminal.env = { PG_PORT: port, CDC_SLOT: 'no_such_slot', CDC_PORT: '9' };
      expect(await runCdcStatus({}, terminal)).toBe(1);
      expect(terminal.stdout.join('\n')).toContain('database      legacy');
      expect(terminal.stderr.join('\n')).toContain('replication slot no_such_slot does not exist');
    } finally {
      if (created) await admin.query('DROP DATABASE IF EXISTS legacy').catch(() => undefined);
      await admin.end();
    }
  });

  it('when the embedded PostgreSQL is not running, then it names the default URL, the option and the variable', async () => {
    const terminal = io();
    terminal.env = { PG_PORT: '9' };
    expect(await runCdcStatus({}, terminal)).toBe(1);
    const text = terminal.stderr.join('\n');
    expect(text).toContain('CDC_STATUS_UNAVAILABLE');
    expect(text).toContain('127.0.0.1:9/legacy');
    expect(text).toMatch(/--database-url.*LEGACY_DATABASE_URL/);
    expect(embeddedLegacyUrl({})).toBe('postgres://postgres:postgres@127.0.0.1:5433/legacy');
  });

  it('--help names the embedded default', () => {
    const program = new Command();
    registerCdcCommands(program, io());
    const status = program.commands.find((command) => command.name() === 'cdc')!.commands[0]!;
    let help = '';
    status.configureOutput({ writeOut: (text) => (help += text) });
    status.outputHelp();
    expect(help).toContain('postgres://postgres:postgres@127.0.0.1:${PG_PORT:-5433}/legacy');
  });

  it('registers `cdc status`, `cdc snapshot` and `cdc replay` on the program', () => {
    const program = new Command();
    registerCdcCommands(program, io());
    const cdc = program.commands.find((command) => command.name() === 'cdc');
    expect(cdc?.commands.map((command) => command.name())).toEqual(['status', 'snapshot', 'replay']);
  });

  it('serves Prometheus metrics with events by table and op, slot lag and the active flag', async () => {
    const text = await (await fetch(`http://127.0.0.1:${health.port}/metrics`)).text();
    expect(text).toContain('cdc_events_total{table="public.item",op="c"} 3');
    expect(text).toContain('cdc_active 1');
    expect(text).toMatch(/cdc_commit_to_confirm_seconds_count \d+/);
    expect(text).toContain('cdc_slot_lag_bytes');
    expect(text).toContain('cdc_retained_wal_bytes');
    const healthz = await fetch(`http://127.0.0.1:${health.port}/healthz`);
    expect(healthz.status).toBe(200);
  });
});

describe('strangler cdc snapshot', () => {
  let target: TestTarget;

  beforeAll(async () => {
    await fixture.query(`INSERT INTO item SELECT g, 'n' || g FROM generate_series(4, 1500) g`);
    await fixture.query('ANALYZE item');
    target = await TestTarget.create({ amqpUrl: fixture.amqpUrl, queue: `test.cli.${fixture.suffix}.pim`, exchange: fixture.names.exchange, bindingKeys: [] });
  });

  afterAll(async () => {
    await target?.close();
  });

  it('--wait writes the request, prints its id, follows the progress and exits 0 once completed; status lists it', async () => {
    const terminal = io();
    const code = await runSnapshotCommand({ tables: ['item'], target: target.queue, chunkSize: 200, wait: true, timeout: 60 }, terminal, fixture.database.url);
    expect(code).toBe(0);
    const id = terminal.stdout[0]!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(terminal.stderr.join('\n')).toMatch(new RegExp(`${id}  completed, 1500/~1500 rows \\(100%\\), 1/1 tables`));
    expect(target.table('public.item').size).toBe(1500);

    const status = io();
    await runCdcStatus(
      { databaseUrl: fixture.database.url, slot: fixture.names.slot, publication: fixture.names.publication, bridgeUrl: `http://127.0.0.1:${health.port}` },
      status,
    );
    expect(status.stdout.join('\n')).toContain(`snapshots\n  ${id}  completed, 1500/~1500 rows`);
    const json = io();
    await runCdcStatus(
      { databaseUrl: fixture.database.url, slot: fixture.names.slot, publication: fixture.names.publication, bridgeUrl: `http://127.0.0.1:${health.port}`, json: true },
      json,
    );
    const report = JSON.parse(json.stdout.join('\n'));
    expect(report.snapshots[0]).toMatchObject({ snapshotId: id, state: 'completed', rowsEmitted: 1500, target: target.queue });
    expect(report.bridge.status.snapshots.find((progress: { snapshotId: string }) => progress.snapshotId === id)).toMatchObject({ state: 'completed' });
    const metrics = await (await fetch(`http://127.0.0.1:${health.port}/metrics`)).text();
    expect(metrics).toContain(`cdc_snapshot_rows{snapshot="${id}",target="${target.queue}",table="item"} 1500`);
    expect(metrics).toContain(`cdc_snapshot_running{snapshot="${id}",target="${target.queue}"} 0`);
  }, 90_000);

  it('cancel <id> stops a running snapshot; --wait on it exits 2', async () => {
    const started = io();
    expect(await runSnapshotCommand({ tables: ['item'], target: target.queue, chunkSize: 5 }, started, fixture.database.url)).toBe(0);
    const id = started.stdout[0]!;
    const deadline = Date.now() + 30_000;
    while ((await readSnapshot(fixture.pool, id))?.state !== 'running') {
      if (Date.now() > deadline) throw new Error('the snapshot did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const cancel = io();
    expect(await runSnapshotCancel(id, cancel, fixture.database.url)).toBe(0);
    const waiting = io();
    expect(await runSnapshotCommand({ id, tables: ['item'], target: target.queue, wait: true, timeout: 30 }, waiting, fixture.database.url)).toBe(2);
    expect(waiting.stderr.join('\n')).toContain('(already requested)');
    expect(waiting.stderr.join('\n')).toContain(`${id}  cancelled`);
    const again = io();
    expect(await runSnapshotCancel(id, again, fixture.database.url)).toBe(1);
    expect(again.stderr.join('\n')).toContain('already ended: cancelled');
  }, 60_000);

  it('refuses an invalid request before writing anything, with the code', async () => {
    const terminal = io();
    expect(await runSnapshotCommand({ tables: ['not a table!'], target: 'pim' }, terminal, fixture.database.url)).toBe(1);
    expect(terminal.stderr.join('\n')).toContain('CDC_SNAPSHOT_REQUEST_INVALID');
  });
});
