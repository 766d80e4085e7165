import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { CdcBridge } from '../cdc/bridge.ts';
import { startHealthServer } from '../cdc/health-server.ts';
import { CdcFixture } from '../cdc/testing/cdc-fixture.ts';
import { registerCdcCommands, runCdcStatus, type CdcCommandIo } from './cdc-commands.ts';

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
  health = await startHealthServer({ port: 0, host: '127.0.0.1', registry: bridge.metrics.registry, status: () => bridge.status() });
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
    expect(text).toContain(`publication   ${fixture.names.publication} (1 tables: item)`);
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

  it('without a database URL, then it names the option and the variable', async () => {
    const terminal = io();
    expect(await runCdcStatus({}, terminal)).toBe(1);
    expect(terminal.stderr.join('\n')).toMatch(/--database-url.*LEGACY_DATABASE_URL/);
  });

  it('registers `cdc status` on the program', () => {
    const program = new Command();
    registerCdcCommands(program, io());
    const cdc = program.commands.find((command) => command.name() === 'cdc');
    expect(cdc?.commands.map((command) => command.name())).toEqual(['status']);
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
