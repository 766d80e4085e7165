import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { CdcBridge } from './bridge.ts';
import { CdcFixture, type ReceivedMessage } from './testing/cdc-fixture.ts';

let fixture: CdcFixture;
let bridge: CdcBridge;
let running: Promise<void>;

const ofTable = (table: string) => (message: ReceivedMessage) => message.body.source.table === table;

beforeAll(async () => {
  fixture = await CdcFixture.create('stream');
  await fixture.query(`CREATE TABLE type_probe (
    id bigint PRIMARY KEY, flag boolean, small smallint, big bigint, huge bigint, real_value double precision,
    price numeric(20,6), free_numeric numeric, label text, stamp timestamp, stamp_ms timestamp(3), zoned timestamptz,
    day date, clock time, doc jsonb, tags text[], counts int[], blob bytea, nothing text, span interval, uid uuid
  )`);
  await fixture.query('CREATE TABLE toast_probe (id int PRIMARY KEY, note text, body text)');
  await fixture.writeBasics();
  await fixture.listen();
  bridge = new CdcBridge({
    config: fixture.config({ tables: ['catalog_product_entity', 'catalog_product_entity_decimal', 'catalog_product_entity_text', 'eav_attribute', 'store', 'store_website', 'type_probe', 'toast_probe'] }),
    logger: fixture.logger,
  });
  running = bridge.start();
  await bridge.waitUntilActive();
});

afterAll(async () => {
  await bridge?.stop();
  await running?.catch(() => undefined);
  await fixture?.cleanup();
});

describe('the CDC bridge streams every committed change as a Debezium event', () => {
  it('when a product is inserted, then a "c" event arrives with the Debezium envelope, field names and JSON types', async () => {
    await fixture.query(`INSERT INTO catalog_product_entity (entity_id, sku, created_at, updated_at) VALUES (1, 'SKU-1', '2024-03-01 12:34:56.123456', '2024-03-01 12:34:56')`);
    await fixture.waitFor((messages) => messages.some((m) => ofTable('catalog_product_entity')(m) && m.body.op === 'c'));
    const message = fixture.received.find((m) => ofTable('catalog_product_entity')(m) && m.body.op === 'c')!;

    expect(message.routingKey).toBe('legacy.public.catalog_product_entity');
    expect(message.contentType).toBe('application/json');
    expect(message.deliveryMode).toBe(2);
    expect(message.headers).toMatchObject({ table: 'public.catalog_product_entity', op: 'c', key: JSON.stringify({ entity_id: 1 }) });
    expect(message.messageId).toMatch(/^legacy:[0-9A-F]+\/[0-9A-F]+:0$/);

    const event = message.body;
    expect(Object.keys(event).sort()).toEqual(['after', 'before', 'op', 'source', 'transaction', 'ts_ms']);
    expect(event.before).toBeNull();
    expect(event.after).toEqual({
      entity_id: 1,
      attribute_set_id: 4,
      type_id: 'simple',
      sku: 'SKU-1',
      has_options: 0,
      required_options: 0,
      created_at: Date.UTC(2024, 2, 1, 12, 34, 56) * 1000 + 123456,
      updated_at: Date.UTC(2024, 2, 1, 12, 34, 56) * 1000,
    });
    expect(typeof event.ts_ms).toBe('number');
    const source = event.source;
    expect(Object.keys(source).sort()).toEqual(
      ['connector', 'db', 'lsn', 'name', 'schema', 'sequence', 'snapshot', 'table', 'ts_ms', 'txId', 'version', 'xmin'].sort(),
    );
    expect(source).toMatchObject({ connector: 'postgresql', name: 'legacy', snapshot: 'false', db: fixture.database.name, schema: 'public', table: 'catalog_product_entity', xmin: null });
    expect(typeof source.version).toBe('string');
    expect(typeof source.ts_ms).toBe('number');
    expect(Math.abs((source.ts_ms as number) - Date.now())).toBeLessThan(60_000);
    expect(typeof source.txId).toBe('number');
    expect(typeof source.lsn).toBe('number');
    const sequence = JSON.parse(source.sequence as string) as unknown[];
    expect(sequence).toHaveLength(2);
    expect(sequence.every((part) => typeof part === 'string')).toBe(true);
    expect(sequence[1]).toBe(String(source.lsn));
    expect(event.transaction).toEqual({ id: `${source.txId}:${sequence[0]}`, total_order: 1, data_collection_order: 1 });
  });

  it('when a row is updated, then a "u" event carries the complete before and after rows', async () => {
    await fixture.query(`UPDATE catalog_product_entity SET sku = 'SKU-1b' WHERE entity_id = 1`);
    await fixture.waitFor((messages) => messages.some((m) => ofTable('catalog_product_entity')(m) && m.body.op === 'u'));
    const event = fixture.received.find((m) => ofTable('catalog_product_entity')(m) && m.body.op === 'u')!.body;
    expect(event.before).toMatchObject({ entity_id: 1, sku: 'SKU-1', type_id: 'simple' });
    expect(event.after).toMatchObject({ entity_id: 1, sku: 'SKU-1b', type_id: 'simple' });
  });

  it('when a row is deleted, then a "d" event carries the before row and a null after', async () => {
    await fixture.query(`INSERT INTO catalog_product_entity (entity_id, sku) VALUES (2, 'SKU-2')`);
    await fixture.query(`DELETE FROM catalog_product_entity WHERE entity_id = 2`);
    await fixture.waitFor((messages) => messages.some((m) => ofTable('catalog_product_entity')(m) && m.body.op === 'd'));
    const message = fixture.received.find((m) => ofTable('catalog_product_entity')(m) && m.body.op === 'd')!;
    expect(message.body.before).toMatchObject({ entity_id: 2, sku: 'SKU-2' });
    expect(message.body.after).toBeNull();
    expect(message.headers).toMatchObject({ op: 'd', key: JSON.stringify({ entity_id: 2 }) });
  });

  it('when a price has 20 significant digits, then it arrives as the exact decimal string', async () => {
    await fixture.query(`INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, entity_id, value) VALUES (1, 0, 1, 12345678901234.123456)`);
    await fixture.waitFor((messages) => messages.some(ofTable('catalog_product_entity_decimal')));
    const event = fixture.received.find(ofTable('catalog_product_entity_decimal'))!.body;
    expect(event.after?.value).toBe('12345678901234.123456');
  });

  it('when one statement writes several rows, then each row gets its own event and a distinct message_id, in WAL order', async () => {
    await fixture.query(`INSERT INTO catalog_product_entity (entity_id, sku) SELECT g, 'MULTI-' || g FROM generate_series(100, 104) g`);
    await fixture.waitFor((messages) => messages.filter((m) => String(m.body.after?.sku ?? '').startsWith('MULTI-')).length === 5);
    const multi = fixture.received.filter((m) => String(m.body.after?.sku ?? '').startsWith('MULTI-'));
    expect(new Set(multi.map((m) => m.messageId)).size).toBe(5);
    expect(multi.map((m) => m.body.after?.entity_id)).toEqual([100, 101, 102, 103, 104]);
    expect(multi.map((m) => m.body.transaction?.total_order)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(multi.map((m) => m.body.transaction?.id)).size).toBe(1);
  });

  it('when a table is truncated, then a "t" event arrives for it', async () => {
    await fixture.query('TRUNCATE toast_probe');
    await fixture.waitFor((messages) => messages.some((m) => ofTable('toast_probe')(m) && m.body.op === 't'));
    const message = fixture.received.find((m) => ofTable('toast_probe')(m) && m.body.op === 't')!;
    expect(message.body.before).toBeNull();
    expect(message.body.after).toBeNull();
    expect(message.routingKey).toBe('legacy.public.toast_probe');
    expect(message.headers.op).toBe('t');
  });

  it('when a TOASTed column is unchanged by an update under REPLICA IDENTITY FULL, then after carries its real value', async () => {
    // Random text does not compress, so PostgreSQL moves it out of line into the TOAST table.
    const big = randomBytes(12_000).toString('base64');
    await fixture.query('INSERT INTO toast_probe (id, note, body) VALUES (1, $1, $2)', ['first', big]);
    await fixture.query(`UPDATE toast_probe SET note = 'second' WHERE id = 1`);
    await fixture.waitFor((messages) => messages.some((m) => ofTable('toast_probe')(m) && m.body.op === 'u' && m.body.after?.note === 'second'));
    const event = fixture.received.find((m) => ofTable('toast_probe')(m) && m.body.after?.note === 'second')!.body;
    expect(event.after?.body === big).toBe(true);
    expect(event.unchanged_columns).toBeUndefined();
  });

  it('when a TOASTed column is unchanged and the table has no REPLICA IDENTITY FULL, then it is left out of after and listed in unchanged_columns', async () => {
    await fixture.query('ALTER TABLE toast_probe REPLICA IDENTITY DEFAULT');
    const big = randomBytes(12_000).toString('base64');
    await fixture.query('INSERT INTO toast_probe (id, note, body) VALUES (2, $1, $2)', ['first', big]);
    await fixture.query(`UPDATE toast_probe SET note = 'third' WHERE id = 2`);
    await fixture.waitFor((messages) => messages.some((m) => ofTable('toast_probe')(m) && m.body.after?.note === 'third'));
    const event = fixture.received.find((m) => ofTable('toast_probe')(m) && m.body.after?.note === 'third')!.body;
    expect(Object.keys(event.after ?? {}).sort()).toEqual(['id', 'note']);
    expect(event.after).toEqual({ id: 2, note: 'third' });
    expect(event.unchanged_columns).toEqual(['body']);
    await fixture.query('ALTER TABLE toast_probe REPLICA IDENTITY FULL');
  });

  it('when a column is added with ALTER TABLE, then the next events carry it', async () => {
    await fixture.query('ALTER TABLE toast_probe ADD COLUMN rating numeric(4,2)');
    await fixture.query(`INSERT INTO toast_probe (id, note, rating) VALUES (3, 'after-alter', 4.25)`);
    await fixture.waitFor((messages) => messages.some((m) => ofTable('toast_probe')(m) && m.body.after?.note === 'after-alter'));
    const event = fixture.received.find((m) => m.body.after?.note === 'after-alter')!.body;
    expect(event.after).toEqual({ id: 3, note: 'after-alter', body: null, rating: '4.25' });
  });

  it('maps PostgreSQL types to the JSON values Debezium writes (decimal strings, epoch micros, ISO zoned strings, days, arrays, nulls)', async () => {
    await fixture.query(`INSERT INTO type_probe VALUES (
      1, true, -7, 9007199254740991, 9223372036854775807, 1.5,
      0.000001, 123456789012345678901234567890.5, 'naïve "quoted"', '1969-12-31 23:59:59.5', '2024-01-02 03:04:05.678',
      '2024-01-02 03:04:05.25+02', '2024-01-02', '13:14:15.5', '{"a": [1, 2.50]}', ARRAY['a', NULL, 'b c'], '{{1,2},{3,4}}',
      '\\x00ff10', NULL, '1 day 02:00:00', '5f0c3f1e-4c7b-4a8e-9a6d-2f1f6b0c9e11'
    )`);
    await fixture.waitFor((messages) => messages.some(ofTable('type_probe')));
    const after = fixture.received.find(ofTable('type_probe'))!.body.after!;
    expect(after).toEqual({
      id: 1,
      flag: true,
      small: -7,
      big: 9007199254740991,
      huge: '9223372036854775807',
      real_value: 1.5,
      price: '0.000001',
      free_numeric: '123456789012345678901234567890.5',
      label: 'naïve "quoted"',
      stamp: -500_000,
      stamp_ms: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
      zoned: '2024-01-02T01:04:05.25Z',
      day: 19724,
      clock: (13 * 3600 + 14 * 60 + 15) * 1_000_000 + 500_000,
      doc: '{"a": [1, 2.50]}',
      tags: ['a', null, 'b c'],
      counts: [[1, 2], [3, 4]],
      blob: Buffer.from([0, 255, 16]).toString('base64'),
      nothing: null,
      span: 26 * 3600 * 1_000_000,
      uid: '5f0c3f1e-4c7b-4a8e-9a6d-2f1f6b0c9e11',
    });
  });

  it('declares the durable topic exchange and the history stream bound to it', async () => {
    const connection = await amqp.connect(fixture.amqpUrl);
    try {
      const channel = await connection.createChannel();
      await channel.checkExchange(fixture.names.exchange);
      const queue = await channel.checkQueue(fixture.names.streamQueue);
      expect(queue.queue).toBe(fixture.names.streamQueue);
      await channel.close();
    } finally {
      await connection.close();
    }
  });

  it('reports the slot position only after the broker confirmed the events (the slot advances while streaming)', async () => {
    const before = await fixture.slotConfirmedFlush();
    await fixture.query(`INSERT INTO catalog_product_entity (entity_id, sku) VALUES (50, 'FLUSH-1')`);
    await fixture.waitFor((messages) => messages.some((m) => m.body.after?.sku === 'FLUSH-1'));
    const deadline = Date.now() + 5000;
    let after = before;
    while (after === before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await fixture.slotConfirmedFlush();
    }
    expect(after).not.toBe(before);
    expect(bridge.status()).toMatchObject({ state: 'active', slot: fixture.names.slot });
  });
});
