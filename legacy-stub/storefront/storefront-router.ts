import express, { Router, type Request, type Response } from 'express';
import type { LegacyDeps } from '../app.ts';
import { finalPrice, type FinalPrice } from '../pricing/final-price.ts';
import { isDecimal, toMicros } from '../pricing/money.ts';
import { loadPriceFacts } from '../pricing/price-facts-repository.ts';
import { inTransaction } from '../../platform/transaction.ts';
import { accountView, loginView } from './account-views.ts';
import { addToCart, loadCart, MAX_LINE_QTY } from './cart.ts';
import { cartView } from './cart-view.ts';
import { categoryView, homeView, messageView, productView } from './catalog-views.ts';
import { authenticate, findCustomer } from './customer-account.ts';
import type { SafeHtml } from './html.ts';
import { layout, type Shopper } from './layout.ts';
import { categoryProducts, featuredProducts, findCategory, findProduct, listCategories } from './storefront-catalog.ts';
import { ensureSession, findSession, formKeyMatches, GUEST_GROUP_ID, signIn, signOut, type StorefrontSession } from './storefront-session.ts';

/** Products per category page, Magento's default grid size. */
export const PAGE_SIZE = 12;
const FEATURED = 8;
const PRICE_BOX_SCRIPT = '/static/price-box.js';

/**
 * The server-rendered HTML storefront with Magento's URLs: home, category listing with paging,
 * product page, cart, login and logout. Every page is built from escaped templates (html.ts); a
 * state-changing form is refused unless it echoes the session's form_key.
 */
export function storefrontRouter(deps: LegacyDeps): Router {
  const { pool } = deps;
  const log = deps.logger.child({ component: 'storefront' });
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  router.get('/', async (req, res) => {
    const session = await findSession(pool, req);
    const groupId = session?.customerGroupId ?? GUEST_GROUP_ID;
    const [categories, featured] = [await listCategories(pool), await featuredProducts(pool, FEATURED)];
    const prices = await pricesFor(featured.map((product) => product.id), groupId);
    await send(res, session, 'Home Page', homeView(categories, featured, prices, groupId), [PRICE_BOX_SCRIPT]);
  });

  router.get('/catalog/category/view/id/:id', async (req, res) => {
    const session = await findSession(pool, req);
    const id = positiveInteger(req.params.id);
    const category = id === null ? null : await findCategory(pool, id);
    if (!category) return notFound(res, session);
    const groupId = session?.customerGroupId ?? GUEST_GROUP_ID;
    // A missing or malformed ?p= shows page 1, as Magento does; a page past the end shows the last.
    const page = await categoryProducts(pool, category.id, positiveInteger(req.query.p) ?? 1, PAGE_SIZE);
    const prices = await pricesFor(page.items.map((product) => product.id), groupId);
    await send(res, session, category.name, categoryView(category, page, prices, groupId), [PRICE_BOX_SCRIPT]);
  });

  router.get('/catalog/product/view/id/:id', async (req, res) => {
    const id = positiveInteger(req.params.id);
    const product = id === null ? null : await findProduct(pool, id);
    if (!product) return notFound(res, await findSession(pool, req));
    // The add-to-cart form needs a form key, so the product page is where a guest session starts.
    const session = await ensureSession(pool, req, res);
    const price = (await pricesFor([product.id], session.customerGroupId)).get(product.id)!;
    await send(res, session, product.name, productView(product, price, session.customerGroupId, session.formKey), [PRICE_BOX_SCRIPT]);
  });

  router.post('/checkout/cart/add', form, async (req, res) => {
    const session = await findSession(pool, req);
    const body = formBody(req);
    if (!formKeyMatches(session, body.form_key)) {
      return send(res, session, 'Invalid Form Key', messageView('Invalid Form Key', 'Invalid Form Key. Please refresh the page.'), [], 403);
    }
    const productId = positiveInteger(body.product);
    const product = productId === null ? null : await findProduct(pool, productId);
    if (!product) return notFound(res, session);
    const qtyText = (body.qty ?? '').trim() || '1';
    const qty = isDecimal(qtyText) ? toMicros(qtyText) : -1n;
    if (qty <= 0n || qty > MAX_LINE_QTY) {
      return send(res, session, 'Invalid quantity', messageView('Invalid quantity', 'Please enter a quantity greater than 0 to fix this.', productLink(product.id)), [], 400);
    }
    if (!product.inStock) {
      return send(res, session, 'Out of stock', messageView('Out of stock', 'Product that you are trying to add is not available.', productLink(product.id)), [], 400);
    }
    await addToCart(pool, session!, product, qty);
    res.redirect(302, '/checkout/cart');
  });

  router.get('/checkout/cart', async (req, res) => {
    const session = await findSession(pool, req);
    const cart = await loadCart(pool, session, deps.clock());
    const group = await groupCode(session?.customerGroupId ?? GUEST_GROUP_ID);
    await send(res, session, 'Shopping Cart', cartView(cart, group));
  });

  router.get('/customer/account/login', async (req, res) => {
    const session = await ensureSession(pool, req, res);
    if (session.customerId !== null) return res.redirect(302, '/customer/account');
    await send(res, session, 'Customer Login', loginView(session.formKey, null));
  });

  router.post('/customer/account/loginPost', form, async (req, res) => {
    const session = await findSession(pool, req);
    const body = formBody(req);
    if (!session || !formKeyMatches(session, body.form_key)) {
      const fresh = session ?? (await ensureSession(pool, req, res));
      return send(res, fresh, 'Customer Login', loginView(fresh.formKey, 'Invalid Form Key. Please refresh the page.'), [], 403);
    }
    const email = body['login[username]'] ?? '';
    const password = body['login[password]'] ?? '';
    if (!email || !password) {
      return send(res, session, 'Customer Login', loginView(session.formKey, 'A login and a password are required.', email), [], 400);
    }
    const customer = await authenticate(pool, email, password);
    if (!customer) {
      log.info('failed customer login');
      return send(res, session, 'Customer Login', loginView(session.formKey, 'The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.', email), [], 401);
    }
    await inTransaction(pool, (client) => signIn(client, res, session, { customerId: customer.id, customerGroupId: customer.groupId }));
    res.redirect(302, '/customer/account');
  });

  router.get('/customer/account', async (req, res) => {
    const session = await findSession(pool, req);
    const customer = session?.customerId ? await findCustomer(pool, session.customerId) : null;
    if (!customer) return res.redirect(302, '/customer/account/login');
    await send(res, session, 'My Account', accountView(customer));
  });

  router.get('/customer/account/logout', async (req, res) => {
    await signOut(pool, res, await findSession(pool, req));
    res.redirect(302, '/');
  });

  // Anything else outside the REST API is the shop's 404 page; /rest/ paths stay JSON.
  router.use(async (req, res, next) => {
    if (req.path.startsWith('/rest/') || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    await notFound(res, await findSession(pool, req));
  });

  async function pricesFor(productIds: number[], customerGroupId: number): Promise<Map<number, FinalPrice>> {
    const now = deps.clock();
    const products = await loadPriceFacts(pool, { entityIds: productIds });
    return new Map(products.map((product) => [product.entityId, finalPrice(product.facts, { customerGroupId, qty: 1, now })]));
  }

  async function groupCode(id: number): Promise<string> {
    const { rows } = await pool.query<{ code: string }>('SELECT customer_group_code AS code FROM customer_group WHERE customer_group_id = $1', [id]);
    return rows[0]?.code ?? String(id);
  }

  async function shopperOf(session: StorefrontSession | null): Promise<Shopper> {
    if (!session) return { customerName: null, cartQty: 0 };
    const { rows } = await pool.query<{ firstname: string | null; cart_qty: string | null }>(
      `SELECT (SELECT firstname FROM customer_entity WHERE entity_id = $2) AS firstname,
              (SELECT sum(qi.qty)::text FROM quote q JOIN quote_item qi ON qi.quote_id = q.entity_id
                WHERE q.session_id = $1 AND q.is_active = 1) AS cart_qty`,
      [session.sessionId, session.customerId],
    );
    return { customerName: rows[0]?.firstname ?? null, cartQty: Number(rows[0]?.cart_qty ?? 0) };
  }

  async function send(res: Response, session: StorefrontSession | null, title: string, body: SafeHtml, scripts: string[] = [], status = 200): Promise<void> {
    const shopper = await shopperOf(session);
    // Pages carry the session's form key and prices for its group: never cache them in a shared cache.
    res.set('Cache-Control', 'no-store, no-cache, must-revalidate, max-age=0');
    res.set('X-Frame-Options', 'SAMEORIGIN');
    res.set('X-Content-Type-Options', 'nosniff');
    res.status(status).type('html').send(layout({ title, shopper, body, scripts }));
  }

  async function notFound(res: Response, session: StorefrontSession | null): Promise<void> {
    await send(res, session, '404 Not Found', messageView('Whoops, our bad...', 'The page you requested was not found.'), [], 404);
  }

  return router;
}

function productLink(id: number) {
  return { href: `/catalog/product/view/id/${id}`, label: 'Back to the product' };
}

function positiveInteger(value: unknown): number | null {
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) return null;
  const number = Number(value);
  return number >= 1 ? number : null;
}

/** The urlencoded form as flat strings; a repeated field counts as absent rather than guessed at. */
function formBody(req: Request): Record<string, string | undefined> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, typeof value === 'string' ? value : undefined]));
}
