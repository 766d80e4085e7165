import type pg from 'pg';
import { verifyPassword } from '../seed/password.ts';

export interface Customer {
  id: number;
  email: string;
  firstname: string;
  lastname: string;
  groupId: number;
  groupCode: string;
}

/**
 * The customer with this email and password, or null. Emails match case-insensitively, as
 * Magento's do. An unknown email still costs one scrypt derivation, so the response time does not
 * tell an attacker which emails have an account.
 */
export async function authenticate(pool: pg.Pool, email: string, password: string): Promise<Customer | null> {
  const { rows } = await pool.query<{ id: number; email: string; firstname: string; lastname: string; group_id: number; group_code: string; password_hash: string }>(
    `SELECT c.entity_id AS id, c.email, c.firstname, c.lastname, c.group_id, g.customer_group_code AS group_code, c.password_hash
       FROM customer_entity c JOIN customer_group g ON g.customer_group_id = c.group_id
      WHERE lower(c.email) = lower($1)`,
    [email.trim()],
  );
  const row = rows[0];
  const matches = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
  if (!row || !matches) return null;
  return { id: row.id, email: row.email, firstname: row.firstname, lastname: row.lastname, groupId: row.group_id, groupCode: row.group_code };
}

export async function findCustomer(pool: pg.Pool, id: number): Promise<Customer | null> {
  const { rows } = await pool.query<{ id: number; email: string; firstname: string; lastname: string; group_id: number; group_code: string }>(
    `SELECT c.entity_id AS id, c.email, c.firstname, c.lastname, c.group_id, g.customer_group_code AS group_code
       FROM customer_entity c JOIN customer_group g ON g.customer_group_id = c.group_id WHERE c.entity_id = $1`,
    [id],
  );
  const row = rows[0];
  return row ? { id: row.id, email: row.email, firstname: row.firstname, lastname: row.lastname, groupId: row.group_id, groupCode: row.group_code } : null;
}

// A well-formed hash of a random password nobody knows: verifying against it takes as long as a real check.
const DUMMY_HASH = `scrypt$${'00'.repeat(16)}$${'11'.repeat(32)}`;
