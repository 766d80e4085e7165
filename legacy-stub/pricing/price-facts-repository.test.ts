import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { writePriceFixture } from './price-fixture.ts';
import { loadPriceFacts } from './price-facts-repository.ts';

let db: TestDatabase;
let pool: pg.Pool;
let ids: Record<string, number>;

beforeAll(async () => {
  db = await createTestDatabase('price_facts');
  ({ productIds: ids } = await writePriceFixture(db.url));
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('loading price facts from the EAV tables', () => {
  it('reads price, special window and tiers of a product exactly as stored', async () => {
    expect(await loadPriceFacts(pool, { skus: ['MH01'] })).toEqual([
      {
        entityId: ids.MH01,
        sku: 'MH01',
        facts: {
          price: '52.000000',
          specialPrice: '45.000000',
          specialFromDate: '2026-03-01 00:00:00',
          specialToDate: '2026-03-31 00:00:00',
          tiers: [
            { allGroups: true, customerGroupId: 0, qty: '5.0000', value: '40.000000', percentageValue: null },
            { allGroups: false, customerGroupId: 2, qty: '1.0000', value: '0.000000', percentageValue: '25.00' },
          ],
        },
      },
    ]);
  });

  it('finds products by id too, and skips unknown keys', async () => {
    const found = await loadPriceFacts(pool, { entityIds: [ids.MT02!, 999_999] });
    expect(found.map((product) => product.sku)).toEqual(['MT02']);
    expect(await loadPriceFacts(pool, { skus: [] })).toEqual([]);
  });

  it('lets a store-view value override the admin value, and ignores other store views and websites', async () => {
    await pool.query(
      `INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, entity_id, value)
       SELECT attribute_id, 1, $1, 27.5 FROM eav_attribute WHERE entity_type_id = 4 AND attribute_code = 'price'`,
      [ids.MT02],
    );
    const [viewed] = await loadPriceFacts(pool, { skus: ['MT02'] });
    expect(viewed!.facts.price).toBe('27.500000');
    const [admin] = await loadPriceFacts(pool, { skus: ['MT02'] }, { storeId: 0, websiteId: 0 });
    expect(admin!.facts.price).toBe('29.990000');
  });

  it('returns window dates as written whatever the process timezone, since a timestamp has none', async () => {
    const original = process.env.TZ;
    try {
      process.env.TZ = 'Pacific/Kiritimati'; // UTC+14: a Date round trip would move the day
      const [product] = await loadPriceFacts(pool, { skus: ['MH01'] });
      expect(product!.facts.specialFromDate).toBe('2026-03-01 00:00:00');
      expect(product!.facts.specialToDate).toBe('2026-03-31 00:00:00');
    } finally {
      if (original === undefined) delete process.env.TZ;
      else process.env.TZ = original;
    }
  });
});
