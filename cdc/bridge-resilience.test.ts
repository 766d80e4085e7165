import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { inject } from 'vitest';
import { CdcBridge } from './bridge.ts';
import { CdcFixture, eventually } from './testing/cdc-fixture.ts';
import { BridgeProcess } from './testing/bridge-process.ts';
import { closeBrokerConnections } from './testing/broker-control.ts';
import { Lsn } from './offsets/lsn.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

async function setup(label: string): Promise<CdcFixture> {
  const fixture = await CdcFixture.create(label, { migrateLegacy: false });
  cleanups.push(() => fixture.cleanup());
  await fixture.query('CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL)');
  await fixture.query('CREATE TABLE not_captured (id serial PRIMARY KEY, payload text)');
  await fixture.listen();
  return fixture;
}

function inProcess(fixture: CdcFixture, overrides: Parameters<CdcFixture['config']>[0] = {}): CdcBridge {
  const bridge = new CdcBridge({ config: fixture.config({ tables: ['item'], ...overrides }), logger: fixture.logger });
  const running = bridge.start();
  running.catch(() => undefined);
  cleanups.push(async () => {
    await bridge.stop();
  });
  return bridge;
}

describe('the bridge under failure', () => {
  it('when RabbitMQ drops the connection, then the bridge pauses, reconnects and delivers every change written meanwhile', async () => {
    const fixture = await setup('broker');
    const bridge = inProcess(fixture);
    await bridge.waitUntilActive();
    await fixture.query(`INSERT INTO item VALUES (1, 'before')`);
    await fixture.waitForCount(1);

    const closed = await closeBrokerConnections(fixture.names.connectionName);
    expect(closed).toBe(1);
    await fixture.query(`INSERT INTO item SELECT g, 'during ' || g FROM generate_series(2, 50) g`);
    await fixture.waitFor((messages) => new Set(messages.map((m) => m.body.after?.id)).size === 50, 20_000, 'all 50 rows');
    expect(bridge.status().sessions).toBeGreaterThanOrEqual(2);
    expect(bridge.status().state).toBe('active');
  });

  it('when PostgreSQL ends the bridge\'s connections (as a restart would), then it reconnects and resumes from the slot', async () => {
    const fixture = await setup('pgloss');
    const bridge = inProcess(fixture);
    await bridge.waitUntilActive();
    await fixture.query(`INSERT INTO item VALUES (1, 'before')`);
    await fixture.waitForCount(1);

    const terminated = await fixture.query<{ pid: number }>(
      `SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE application_name LIKE $1`,
      [`%${fixture.names.slot}`],
    );
    expect(terminated.length).toBe(2); // the walsender and the control connection
    await fixture.query(`INSERT INTO item SELECT g, 'after ' || g FROM generate_series(2, 20) g`);
    await fixture.waitFor((messages) => new Set(messages.map((m) => m.body.after?.id)).size === 20, 20_000, 'all 20 rows');
    expect(bridge.status().sessions).toBeGreaterThanOrEqual(2);
  });

  it('when the active bridge is killed, then the hot standby takes over within seconds and nothing is lost', async () => {
    const fixture = await setup('standby');
    const config = fixture.config({ tables: ['item'] });
    const active = BridgeProcess.start(config);
    cleanups.push(async () => {
      active.kill('SIGKILL');
      await active.exited;
    });
    await active.waitUntilStreaming();

    const standby = inProcess(fixture);
    await eventually(() => standby.status().state === 'standby', 10_000, 'the second bridge to wait as standby');
    await fixture.query(`INSERT INTO item VALUES (1, 'served by the first bridge')`);
    await fixture.waitForCount(1);

    active.kill('SIGKILL');
    await active.exited;
    const killedAt = Date.now();
    await fixture.query(`INSERT INTO item VALUES (2, 'written while nobody streams')`);
    await standby.waitUntilActive();
    const takeoverMs = Date.now() - killedAt;
    await fixture.waitFor((messages) => messages.some((m) => m.body.after?.id === 2), 10_000, 'the change after takeover');
    expect(takeoverMs).toBeLessThan(10_000);
  });

  it('when only other tables change, then heartbeats still advance the slot so WAL does not pile up', async () => {
    const fixture = await setup('heartbeat');
    const bridge = inProcess(fixture, { heartbeatIntervalMs: 200 });
    await bridge.waitUntilActive();
    await fixture.query(`INSERT INTO not_captured (payload) SELECT repeat('x', 200) FROM generate_series(1, 5000)`);
    const afterWrite = (await fixture.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn;
    await eventually(async () => {
      const confirmed = await fixture.slotConfirmedFlush();
      return confirmed !== null && !Lsn.parse(confirmed).isBefore(Lsn.parse(afterWrite));
    }, 10_000, 'the slot to move past the unrelated writes');
    expect(fixture.received).toHaveLength(0);
    await eventually(() => bridge.status().retainedWalBytes !== null, 5000, 'a retained WAL measurement');
  });

  it('when the password is wrong, then the bridge fails at once with CDC_DATABASE_AUTH and a remedy instead of retrying', async () => {
    const fixture = await setup('badauth');
    const url = new URL(fixture.database.url);
    url.password = 'wrong-password';
    const bridge = new CdcBridge({ config: fixture.config({ tables: ['item'], databaseUrl: url.toString() }), logger: fixture.logger });
    const started = Date.now();
    await expect(bridge.start()).rejects.toMatchObject({ code: 'CDC_DATABASE_AUTH', remedy: expect.stringContaining('LEGACY_DATABASE_URL') });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(bridge.status().state).toBe('failed');
  });

  it('when the user lacks the REPLICATION privilege, then the bridge fails at once with CDC_PERMISSION_DENIED', async () => {
    const fixture = await setup('noperm');
    const role = `cdc_plain_${fixture.suffix}`;
    const admin = new pg.Client({ connectionString: inject('postgresServerUrl') });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'plain' NOSUPERUSER NOREPLICATION`);
    cleanups.push(async () => {
      await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    });
    // The tables and capture are set up by the owner, as the launcher does; the bridge itself runs as a plain user.
    const owner = fixture.config({ tables: ['item'] });
    const { prepareCapture } = await import('./capture-setup.ts');
    await prepareCapture({ databaseUrl: owner.databaseUrl, logger: fixture.logger, tables: ['item'], publication: owner.publication, slot: owner.slot });
    await fixture.query(`GRANT SELECT ON item TO ${role}`);
    const url = new URL(fixture.database.url);
    url.username = role;
    url.password = 'plain';
    const bridge = new CdcBridge({
      config: fixture.config({ tables: ['item'], databaseUrl: url.toString(), replicaIdentityFull: false }),
      logger: fixture.logger,
    });
    await expect(bridge.start()).rejects.toMatchObject({ code: 'CDC_PERMISSION_DENIED' });
  });
});
