import { Router } from 'express';
import { z } from 'zod';
import { PimErrors } from '../errors.ts';
import type { FullTextRequest, ProductStore } from '../store/product-store.ts';

/**
 * GET /search?q=&category=&color=&size=&price_from=&price_to=&page=&page_size= — full-text search
 * with facets (category, color, size, price ranges) and highlighting: what the legacy never had.
 * Answers { total, page, page_size, items: [{ sku, name, price, score, highlights, product }], facets }.
 */
const number = z.string().regex(/^\d+(\.\d+)?$/, 'must be a number').transform(Number);
const whole = (max: number) => z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(max));

const searchSchema = z.strictObject({
  q: z.string().max(500, 'at most 500 characters').optional(),
  category: whole(2_147_483_647).optional(),
  color: z.string().min(1).max(64).optional(),
  size: z.string().min(1).max(64).optional(),
  price_from: number.optional(),
  price_to: number.optional(),
  page: whole(10_000).optional(),
  page_size: whole(100).optional(),
});

export function searchRouter(deps: { store: ProductStore }): Router {
  const router = Router();
  router.get('/search', async (req, res) => {
    const params: Record<string, string> = {};
    for (const [key, value] of new URL(req.originalUrl, 'http://pim').searchParams) params[key] = value;
    const parsed = searchSchema.safeParse(params);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const name = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.join('.');
      throw PimErrors.searchInvalid(name, issue.message);
    }
    const p = parsed.data;
    const request: FullTextRequest = {
      q: (p.q ?? '').trim(),
      categoryId: p.category,
      color: p.color,
      size: p.size,
      priceFrom: p.price_from,
      priceTo: p.price_to,
      page: p.page ?? 1,
      pageSize: p.page_size ?? 20,
    };
    const result = await deps.store.fullText(request);
    res.json({ total: result.total, page: request.page, page_size: request.pageSize, items: result.items, facets: result.facets });
  });
  return router;
}
