import type pg from 'pg';
import { finalPrice } from '../pricing/final-price.ts';
import { formatMicros, multiply, toMicros, type Micros } from '../pricing/money.ts';
import { loadPriceFacts } from '../pricing/price-facts-repository.ts';
import { inTransaction } from '../../platform/transaction.ts';
import { roundToCents } from './price-display.ts';
import type { StorefrontSession } from './storefront-session.ts';

/**
 * The shopper's cart, kept as Magento keeps it: one active `quote` per session with its
 * `quote_item` lines. Prices are never trusted from the time of adding: every time the cart is
 * read, each line is repriced with the final-price rule for the session's customer group and the
 * line's quantity (so a tier reached by adding more, or a login into another group, shows at
 * once), and the quote's totals are written back. As in Magento, the unit price is rounded to the
 * cent first and the row total is unit price × quantity.
 */
export interface CartLine {
  productId: number;
  sku: string;
  name: string;
  qty: Micros;
  regularPrice: Micros;
  unitPrice: Micros;
  rowTotal: Micros;
}

export interface Cart {
  lines: CartLine[];
  itemsCount: number;
  itemsQty: Micros;
  grandTotal: Micros;
}

/** Magento's largest quantity in one line (cataloginventory max_sale_qty default). */
export const MAX_LINE_QTY = toMicros('10000');

export async function addToCart(
  pool: pg.Pool,
  session: StorefrontSession,
  product: { id: number; sku: string; name: string },
  qty: Micros,
): Promise<void> {
  await inTransaction(pool, async (client) => {
    const quoteId = await activeQuoteId(client, session, true);
    // Adding the same product again raises the line's quantity, capped like Magento's max_sale_qty.
    await client.query(
      `INSERT INTO quote_item (quote_id, product_id, sku, name, qty, price, row_total)
       VALUES ($1, $2, $3, $4, $5, 0, 0)
       ON CONFLICT (quote_id, product_id) DO UPDATE SET qty = LEAST(quote_item.qty + EXCLUDED.qty, $6), updated_at = now()`,
      [quoteId, product.id, product.sku, product.name, formatMicros(qty), formatMicros(MAX_LINE_QTY)],
    );
  });
}

export async function loadCart(pool: pg.Pool, session: StorefrontSession | null, now: Date): Promise<Cart> {
  if (!session) return { lines: [], itemsCount: 0, itemsQty: 0n, grandTotal: 0n };
  return inTransaction(pool, async (client) => {
    const quoteId = await activeQuoteId(client, session, false);
    if (quoteId === null) return { lines: [], itemsCount: 0, itemsQty: 0n, grandTotal: 0n };
    const { rows } = await client.query<{ item_id: number; product_id: number; sku: string; name: string | null; qty: string }>(
      'SELECT item_id, product_id, sku, name, qty::text AS qty FROM quote_item WHERE quote_id = $1 ORDER BY item_id',
      [quoteId],
    );
    const facts = new Map((await loadPriceFacts(client, { entityIds: rows.map((row) => row.product_id) })).map((product) => [product.entityId, product.facts]));
    const lines: CartLine[] = [];
    for (const row of rows) {
      const productFacts = facts.get(row.product_id);
      if (!productFacts) continue; // the product was deleted; ON DELETE CASCADE removes the line too
      const qty = toMicros(row.qty);
      const price = finalPrice(productFacts, { customerGroupId: session.customerGroupId, qty: row.qty, now });
      const unitPrice = roundToCents(price.finalPrice);
      const line: CartLine = { productId: row.product_id, sku: row.sku, name: row.name ?? row.sku, qty, regularPrice: price.regularPrice, unitPrice, rowTotal: multiply(unitPrice, qty) };
      lines.push(line);
      await client.query('UPDATE quote_item SET price = $2, row_total = $3 WHERE item_id = $1', [row.item_id, formatMicros(line.unitPrice), formatMicros(line.rowTotal)]);
    }
    const cart: Cart = {
      lines,
      itemsCount: lines.length,
      itemsQty: lines.reduce((sum, line) => sum + line.qty, 0n),
      grandTotal: lines.reduce((sum, line) => sum + line.rowTotal, 0n),
    };
    await client.query(
      'UPDATE quote SET items_count = $2, items_qty = $3, grand_total = $4, customer_group_id = $5, updated_at = now() WHERE entity_id = $1',
      [quoteId, cart.itemsCount, formatMicros(cart.itemsQty), formatMicros(cart.grandTotal), session.customerGroupId],
    );
    return cart;
  });
}

async function activeQuoteId(client: pg.PoolClient, session: StorefrontSession, create: true): Promise<number>;
async function activeQuoteId(client: pg.PoolClient, session: StorefrontSession, create: false): Promise<number | null>;
async function activeQuoteId(client: pg.PoolClient, session: StorefrontSession, create: boolean): Promise<number | null> {
  // Two tabs adding at once must not make two carts: serialise per session for this transaction.
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`quote:${session.sessionId}`]);
  const { rows } = await client.query<{ entity_id: number }>(
    'SELECT entity_id FROM quote WHERE session_id = $1 AND is_active = 1 ORDER BY entity_id LIMIT 1',
    [session.sessionId],
  );
  if (rows[0]) return rows[0].entity_id;
  if (!create) return null;
  const created = await client.query<{ entity_id: number }>(
    'INSERT INTO quote (session_id, customer_id, customer_group_id) VALUES ($1, $2, $3) RETURNING entity_id',
    [session.sessionId, session.customerId, session.customerGroupId],
  );
  return created.rows[0]!.entity_id;
}
