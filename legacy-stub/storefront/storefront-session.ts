import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type pg from 'pg';

/**
 * The shopper's session, as Magento keeps it: a random id in the `PHPSESSID` cookie (HttpOnly,
 * SameSite=Lax), a row in storefront_session with the customer and customer group, and a
 * per-session `form_key` that every state-changing form must echo back (Magento's CSRF defence).
 * A session is created only when a page needs one (a form, the cart, a login), so crawlers
 * reading the catalog do not fill the table.
 */
export const SESSION_COOKIE = 'PHPSESSID';
const SESSION_ID = /^[0-9a-f]{64}$/;

export interface StorefrontSession {
  sessionId: string;
  customerId: number | null;
  customerGroupId: number;
  formKey: string;
}

/** The guest's view when there is no session yet: NOT LOGGED IN (group 0). */
export const GUEST_GROUP_ID = 0;

export async function findSession(pool: pg.Pool, req: Request): Promise<StorefrontSession | null> {
  const sessionId = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (!sessionId || !SESSION_ID.test(sessionId)) return null;
  const { rows } = await pool.query<{ session_id: string; customer_id: number | null; customer_group_id: number; form_key: string }>(
    'SELECT session_id, customer_id, customer_group_id, form_key FROM storefront_session WHERE session_id = $1',
    [sessionId],
  );
  const row = rows[0];
  return row ? { sessionId: row.session_id, customerId: row.customer_id, customerGroupId: row.customer_group_id, formKey: row.form_key } : null;
}

/** The existing session, or a new guest session whose cookie is set on `res`. */
export async function ensureSession(pool: pg.Pool, req: Request, res: Response): Promise<StorefrontSession> {
  const existing = await findSession(pool, req);
  if (existing) return existing;
  const session: StorefrontSession = { sessionId: newSessionId(), customerId: null, customerGroupId: GUEST_GROUP_ID, formKey: newFormKey() };
  await pool.query('INSERT INTO storefront_session (session_id, customer_group_id, form_key) VALUES ($1, $2, $3)', [
    session.sessionId,
    session.customerGroupId,
    session.formKey,
  ]);
  setSessionCookie(res, session.sessionId);
  return session;
}

/**
 * Signs a customer in: a NEW session id (so a session id planted before login is worthless —
 * session fixation), the customer's group, a new form key; the guest's cart moves along.
 */
export async function signIn(
  client: pg.PoolClient,
  res: Response,
  previous: StorefrontSession,
  customer: { customerId: number; customerGroupId: number },
): Promise<StorefrontSession> {
  const session: StorefrontSession = { sessionId: newSessionId(), customerId: customer.customerId, customerGroupId: customer.customerGroupId, formKey: newFormKey() };
  await client.query('INSERT INTO storefront_session (session_id, customer_id, customer_group_id, form_key) VALUES ($1, $2, $3, $4)', [
    session.sessionId,
    session.customerId,
    session.customerGroupId,
    session.formKey,
  ]);
  await client.query('UPDATE quote SET session_id = $1, customer_id = $2, customer_group_id = $3, updated_at = now() WHERE session_id = $4', [
    session.sessionId,
    session.customerId,
    session.customerGroupId,
    previous.sessionId,
  ]);
  await client.query('DELETE FROM storefront_session WHERE session_id = $1', [previous.sessionId]);
  setSessionCookie(res, session.sessionId);
  return session;
}

/** Ends the session: its row and cart go, and the browser forgets the cookie. */
export async function signOut(pool: pg.Pool, res: Response, session: StorefrontSession | null): Promise<void> {
  if (session) await pool.query('DELETE FROM storefront_session WHERE session_id = $1', [session.sessionId]);
  res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' });
}

/** Constant-time comparison of the form key a form sent with the session's. */
export function formKeyMatches(session: StorefrontSession | null, sent: unknown): boolean {
  if (!session || typeof sent !== 'string') return false;
  const expected = Buffer.from(session.formKey);
  const actual = Buffer.from(sent);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function setSessionCookie(res: Response, sessionId: string): void {
  res.cookie(SESSION_COOKIE, sessionId, { path: '/', httpOnly: true, sameSite: 'lax' });
}

function newSessionId(): string {
  return randomBytes(32).toString('hex');
}

/** 16 letters and digits, like Magento's form key. */
function newFormKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(16)].map((byte) => alphabet[byte % alphabet.length]).join('');
}
