import { amountNumber, parseAmount } from '../domain/decimal-amount.ts';
import { priceFor } from '../domain/price-rule.ts';
import type { PriceStore, ProductFacts } from '../store/price-store.ts';
import type { FactsCache } from './facts-cache.ts';
import { MagentoError, MagentoErrors } from './magento-error.ts';
import { parseFinalPriceQuery, type ParsedQuery } from './price-request.ts';

export interface FinalPriceDeps {
  store: PriceStore;
  cache: FactsCache;
  clock: () => Date;
}

export interface FinalPriceAnswer {
  status: number;
  body: unknown;
}

/**
 * GET /rest/V1/products/:sku/final-price, as the legacy answers it: the query is checked first
 * (customerGroupId, then qty), then the sku; the rule runs with "now" on the (cached) facts.
 * A Magento error becomes its status and body; anything else is thrown (a 500 for the caller).
 */
export async function answerFinalPrice(deps: FinalPriceDeps, sku: string, query: ParsedQuery): Promise<FinalPriceAnswer> {
  try {
    parseFinalPriceQuery(query);
  } catch (error) {
    if (error instanceof MagentoError) return errorAnswer(error);
    throw error;
  }
  const product = await deps.cache.get(sku, (key) => deps.store.factsOf(key));
  return finalPriceAnswer(product, query, deps.clock());
}

/** The answer for facts in hand (null: no such sku), synchronously: query checks first, then the sku. */
export function finalPriceAnswer(product: ProductFacts | null, query: ParsedQuery, now: Date): FinalPriceAnswer {
  try {
    const asked = parseFinalPriceQuery(query);
    if (!product) throw MagentoErrors.productNotFound();
    const qty = parseAmount(asked.qty);
    const answer = priceFor(product.facts, { customerGroupId: asked.customerGroupId, qty, now });
    return {
      status: 200,
      body: {
        sku: product.sku,
        customer_group_id: asked.customerGroupId,
        qty: amountNumber(qty),
        regular_price: amountNumber(answer.regular),
        final_price: amountNumber(answer.final),
      },
    };
  } catch (error) {
    if (error instanceof MagentoError) return errorAnswer(error);
    throw error;
  }
}

function errorAnswer(error: MagentoError): FinalPriceAnswer {
  return { status: error.status, body: { message: error.message, parameters: error.parameters } };
}
