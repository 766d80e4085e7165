import type { Request } from 'express';
import { z } from 'zod';
import { isDecimalText, parseAmount } from '../domain/decimal-amount.ts';
import { MagentoErrors } from './magento-error.ts';

/** `{ "skus": [...] }` of the three *-information endpoints. */
export const skusBody = z.object({ skus: z.array(z.string()) });

/** Parses a JSON body; the first problem is Magento's 400 naming the field (`skus[0]`), "required" when it is absent. */
export function parseBody<Schema extends z.ZodType>(schema: Schema, req: Request): z.output<Schema> {
  const body: unknown = req.body ?? {};
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  let field = '';
  for (const key of issue.path) field = typeof key === 'number' ? `${field}[${key}]` : field ? `${field}.${String(key)}` : String(key);
  let value: unknown = body;
  for (const key of issue.path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value === undefined ? throwError(MagentoErrors.requiredField(field || 'body')) : throwError(MagentoErrors.invalidField(field || 'body'));
}

function throwError(error: Error): never {
  throw error;
}

const MAX_QTY = parseAmount('100000000');

export interface FinalPriceQuery {
  customerGroupId: number;
  /** As the client wrote it (trimmed). */
  qty: string;
}

/** The query of a request as express's "simple" parser (node:querystring) gives it. */
export type ParsedQuery = Record<string, unknown>;

/** `customerGroupId` (default 0, 0–32767) and `qty` (default 1, 0 < qty < 10^8) of GET …/final-price. */
export function parseFinalPriceQuery(query: ParsedQuery): FinalPriceQuery {
  const group = queryValue(query, 'customerGroupId', '0', (value) => /^\d{1,5}$/.test(value) && Number(value) <= 32767);
  const qty = queryValue(query, 'qty', '1', (value) => {
    if (!isDecimalText(value)) return false;
    const amount = parseAmount(value);
    return amount > 0n && amount < MAX_QTY;
  });
  return { customerGroupId: Number(group), qty };
}

function queryValue(query: ParsedQuery, name: string, fallback: string, valid: (value: string) => boolean): string {
  const raw = query[name];
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string' || !valid(raw.trim())) throw MagentoErrors.invalidValue(String(raw), name);
  return raw.trim();
}
