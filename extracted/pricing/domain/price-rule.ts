import { discounted, parseAmount, type Millionths } from './decimal-amount.ts';

/**
 * The pricing service's price rule: what a shopper pays for one unit.
 *
 * The legacy's rule (legacy-stub/pricing/final-price.ts) is the specification; this is an
 * independent implementation of it, pinned to it by a property test (price-rule.property.test.ts):
 *
 *   final = min( base price,
 *                special price          — when today (UTC) is within [from day, to day], bounds optional,
 *                best applicable tier   — for all groups or the shopper's group, threshold ≤ qty;
 *                                         a percentage tier is base × (1 − pct/100), half-up )
 *
 * Pure and synchronous: the caller passes "now", so cached facts never go stale across midnight.
 */
export interface TierFact {
  allGroups: boolean;
  customerGroupId: number;
  /** Threshold quantity, decimal text. */
  qty: string;
  /** Fixed unit price, decimal text; ignored for a percentage tier. */
  value: string;
  /** Percent off the base price, or null for a fixed tier. */
  percentageValue: string | null;
}

export interface ProductPriceFacts {
  /** Base price, decimal text ("0" when the product has none, as the legacy shows it). */
  price: string;
  specialPrice: string | null;
  /** `YYYY-MM-DD hh:mm:ss` (UTC); only the day counts. */
  specialFrom: string | null;
  specialTo: string | null;
  tiers: readonly TierFact[];
}

export interface PriceQuestion {
  customerGroupId: number;
  qty: Millionths;
  now: Date;
}

export type PriceSource = 'regular' | 'special' | 'tier';

export interface PriceAnswer {
  regular: Millionths;
  final: Millionths;
  /** Which rule won; a tie goes to the earlier of regular, special, tier. */
  source: PriceSource;
}

export function priceFor(facts: ProductPriceFacts, question: PriceQuestion): PriceAnswer {
  const regular = parseAmount(facts.price);
  const answer: PriceAnswer = { regular, final: regular, source: 'regular' };
  const special = activeSpecialPrice(facts, question.now);
  if (special !== null && special < answer.final) {
    answer.final = special;
    answer.source = 'special';
  }
  const tier = lowestTier(regular, facts.tiers, question.customerGroupId, question.qty);
  if (tier !== null && tier < answer.final) {
    answer.final = tier;
    answer.source = 'tier';
  }
  return answer;
}

/** The special price if `now`'s UTC day lies inside its window (both bound days included). */
export function activeSpecialPrice(facts: Pick<ProductPriceFacts, 'specialPrice' | 'specialFrom' | 'specialTo'>, now: Date): Millionths | null {
  if (facts.specialPrice === null) return null;
  const day = utcDay(now);
  if (facts.specialFrom !== null && day < dayPart(facts.specialFrom)) return null;
  if (facts.specialTo !== null && day > dayPart(facts.specialTo)) return null;
  return parseAmount(facts.specialPrice);
}

function lowestTier(regular: Millionths, tiers: readonly TierFact[], groupId: number, qty: Millionths): Millionths | null {
  let lowest: Millionths | null = null;
  for (const tier of tiers) {
    if (!tier.allGroups && tier.customerGroupId !== groupId) continue;
    if (parseAmount(tier.qty) > qty) continue;
    const unit = tier.percentageValue === null ? parseAmount(tier.value) : discounted(regular, parseAmount(tier.percentageValue));
    if (lowest === null || unit < lowest) lowest = unit;
  }
  return lowest;
}

/** `YYYY-MM-DD` of a UTC instant, as an integer YYYYMMDD so days compare as numbers. */
function utcDay(now: Date): number {
  return now.getUTCFullYear() * 10_000 + (now.getUTCMonth() + 1) * 100 + now.getUTCDate();
}

function dayPart(dateTime: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(dateTime.trim());
  if (!match) throw new RangeError(`not a Magento date: ${JSON.stringify(dateTime)}`);
  return Number(match[1]) * 10_000 + Number(match[2]) * 100 + Number(match[3]);
}
