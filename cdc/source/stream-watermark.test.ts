import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdcBridge } from '../bridge.ts';
import { CdcFixture } from '../testing/cdc-fixture.ts';

// GET /watermark's promise: the commit LSN of the last captured transaction committed before the
// question — also one the bridge has not read yet when asked — which is what a CDC-fed service
// must have applied (its X-Data-Lsn) to have seen everything the legacy held at that moment.

let fixture: CdcFixture;
let bridge: CdcBridge;
let running: Promise<void>;

beforeAll(async () => {
  fixture = await CdcFixture.create('watermark');
  await fixture.writeBasics();
  await fixture.listen();
  bridge = new CdcBridge({ config: fixture.config({ tables: ['catalog_product_entity', 'store', 'store_website'] }), logger: fixture.logger });
  running = bridge.start();
  await bridge.waitUntilActive();
});

afterAll(async () => {
  await bridge?.stop();
  await running?.catch(() => undefined);
  await fixture?.cleanup();
});

describe('the stream watermark', () => {
  it('when asked right after a commit, then it is that commit’s LSN, as consumers record it (commit_lsn header)', async () => {
    for (let round = 1; round <= 5; round += 1) {
      await fixture.query(`INSERT INTO catalog_product_entity (entity_id, sku, created_at, updated_at) VALUES ($1, $2, now(), now())`, [round, `WM-${round}`]);
      // Asked at once: the bridge may not have read the insert yet, the answer must still cover it.
      const watermark = await bridge.watermark(5000);
      await fixture.waitFor((messages) => messages.some((m) => m.headers.key === JSON.stringify({ entity_id: round })));
      const event = fixture.received.find((m) => m.headers.key === JSON.stringify({ entity_id: round }))!;
      expect(watermark).toBe(event.headers.commit_lsn);
    }
  });

  it('when a transaction touches only tables that are not captured, then the watermark stays at the last captured commit', async () => {
    const before = await bridge.watermark(5000);
    await fixture.query('CREATE TABLE IF NOT EXISTS not_captured (id int PRIMARY KEY)');
    await fixture.query('INSERT INTO not_captured VALUES (1) ON CONFLICT DO NOTHING');
    expect(await bridge.watermark(5000)).toBe(before);
  });
});
