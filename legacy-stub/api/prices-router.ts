import { Router, type Request } from 'express';
import { z } from 'zod';
import type { LegacyDeps } from '../app.ts';
import { MagentoError, MagentoErrors } from './magento-error.ts';
import { finalPrice } from '../pricing/final-price.ts';
import { formatMicros, isDecimal, microsToNumber, toMicros } from '../pricing/money.ts';
import { loadPriceFacts } from '../pricing/price-facts-repository.ts';
import { getBasePrices, updateBasePrices } from '../pricing/base-price-storage.ts';
import { deleteSpecialPrices, getSpecialPrices, updateSpecialPrices } from '../pricing/special-price-storage.ts';
import { deleteTierPrices, getTierPrices, replaceTierPrices, updateTierPrices } from '../pricing/tier-price-storage.ts';

/**
 * Magento 2's bulk price API (BasePriceStorageInterface, TierPriceStorageInterface,
 * SpecialPriceStorageInterface) and the shop's own final-price endpoint, mounted under /rest/V1.
 * Only these paths are handled here; `GET /products/:sku` and the rest fall through to the products router.
 *
 * Bodies are parsed at this boundary: a body of the wrong shape is a 400 naming the field
 * (`prices[0].price`); a well-formed row that breaks a business rule (unknown sku, negative price,
 * unknown store) is reported per row in Magento's PriceUpdateResult list while the other rows are written.
 */
export function pricesRouter(deps: LegacyDeps): Router {
  const router = Router();

  router.post('/products/base-prices-information', async (req, res) => {
    const { skus } = parseBody(skusBody, req);
    res.json(await getBasePrices(deps.pool, skus));
  });
  router.post('/products/tier-prices-information', async (req, res) => {
    const { skus } = parseBody(skusBody, req);
    res.json(await getTierPrices(deps.pool, skus));
  });
  router.post('/products/special-price-information', async (req, res) => {
    const { skus } = parseBody(skusBody, req);
    res.json(await getSpecialPrices(deps.pool, skus));
  });

  router.post('/products/base-prices', async (req, res) => {
    const { prices } = parseBody(pricesBody(basePriceRow), req);
    res.json(await updateBasePrices(deps.pool, prices, deps.clock()));
  });
  router.post('/products/tier-prices', async (req, res) => {
    const { prices } = parseBody(pricesBody(tierPriceRow), req);
    res.json(await updateTierPrices(deps.pool, prices, deps.clock()));
  });
  router.put('/products/tier-prices', async (req, res) => {
    const { prices } = parseBody(pricesBody(tierPriceRow), req);
    res.json(await replaceTierPrices(deps.pool, prices, deps.clock()));
  });
  router.post('/products/tier-prices-delete', async (req, res) => {
    const { prices } = parseBody(pricesBody(tierPriceRow), req);
    res.json(await deleteTierPrices(deps.pool, prices, deps.clock()));
  });
  router.post('/products/special-price', async (req, res) => {
    const { prices } = parseBody(pricesBody(specialPriceRow), req);
    res.json(await updateSpecialPrices(deps.pool, prices, deps.clock()));
  });
  router.post('/products/special-price-delete', async (req, res) => {
    const { prices } = parseBody(pricesBody(specialPriceRow), req);
    res.json(await deleteSpecialPrices(deps.pool, prices, deps.clock()));
  });

  router.get('/products/:sku/final-price', async (req, res) => {
    const customerGroupId = queryParameter(req, 'customerGroupId', '0', (value) => /^\d{1,5}$/.test(value) && Number(value) <= 32767);
    const qty = queryParameter(req, 'qty', '1', (value) => isDecimal(value) && toMicros(value) > 0n && toMicros(value) < toMicros('100000000'));
    const [product] = await loadPriceFacts(deps.pool, { skus: [req.params.sku] });
    if (!product) throw MagentoErrors.productNotFound();
    const result = finalPrice(product.facts, { customerGroupId: Number(customerGroupId), qty, now: deps.clock() });
    res.json({
      sku: product.sku,
      customer_group_id: Number(customerGroupId),
      qty: microsToNumber(toMicros(qty)),
      regular_price: microsToNumber(result.regularPrice),
      final_price: microsToNumber(result.finalPrice),
    });
  });

  return router;
}

/** A price as Magento's clients send it: a JSON number or a decimal string, kept as exact decimal text. */
const priceValue = z
  .union([z.number().finite(), z.string().trim().refine(isDecimal)])
  .transform((value) => formatMicros(toMicros(value)))
  // numeric(20,6) holds 14 integer digits; beyond that PostgreSQL would refuse the row.
  .refine((value) => toMicros(value) < 10n ** 20n && toMicros(value) > -(10n ** 20n));

const quantityValue = z
  .union([z.number().finite(), z.string().trim().refine(isDecimal)])
  .transform((value) => formatMicros(toMicros(value)))
  .refine((value) => toMicros(value) < toMicros('100000000'));

const idValue = z.union([z.number().int().min(0).max(32767), z.string().regex(/^\d{1,5}$/).transform(Number)]);

const dateValue = z
  .string()
  .nullish()
  .transform((value) => (value === undefined || value === null || value.trim() === '' ? null : value.trim()));

const skusBody = z.object({ skus: z.array(z.string()) });

const basePriceRow = z.object({ price: priceValue, store_id: idValue, sku: z.string() });

const specialPriceRow = z.object({ price: priceValue, store_id: idValue, sku: z.string(), price_from: dateValue, price_to: dateValue });

const tierPriceRow = z.object({
  price: priceValue,
  price_type: z.string(),
  website_id: idValue,
  sku: z.string(),
  customer_group: z.string(),
  quantity: quantityValue,
});

function pricesBody<Row extends z.ZodType>(row: Row) {
  return z.object({ prices: z.array(row) });
}

/** Parses a JSON body with `schema`; the first problem becomes Magento's 400 naming the field. */
function parseBody<Schema extends z.ZodType>(schema: Schema, req: Request): z.output<Schema> {
  const parsed = schema.safeParse(req.body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
    '',
  );
  const missing = valueAt(req.body, issue.path) === undefined;
  throw missing ? MagentoErrors.requiredField(field || 'body') : MagentoErrors.invalidField(field || 'body');
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** A single-valued query parameter, its default when absent; a bad value is a 400 naming it. */
function queryParameter(req: Request, name: string, fallback: string, valid: (value: string) => boolean): string {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string' || !valid(raw.trim())) {
    throw new MagentoError(400, 'Invalid value of "%value" provided for the %fieldName field.', { value: String(raw), fieldName: name });
  }
  return raw.trim();
}
