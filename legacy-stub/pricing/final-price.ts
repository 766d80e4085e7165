import { minMicros, percentOff, toMicros, type Micros } from './money.ts';

/**
 * The legacy shop's price rule — THE specification the extracted pricing service is tested against.
 *
 * A shopper pays the lowest of:
 *  1. the base price (`price` attribute);
 *  2. the special price, when "now" is inside its window: from the start of the `from` day, through
 *     the whole `to` day (Magento stores both as `YYYY-MM-DD 00:00:00` and adds a day to the `to`
 *     bound, Magento\Framework\Stdlib\DateTime\Timezone::isScopeDateInInterval); a missing bound is
 *     open. The shop's timezone is UTC, so days are UTC calendar days;
 *  3. the best tier price that applies: a tier for all groups or for the shopper's group, whose
 *     quantity threshold is at or below the quantity asked for; a percentage tier is the base price
 *     × (1 − percentage/100).
 *
 * Pure: no clock, no database. Amounts are exact decimal strings (numeric(20,6) as PostgreSQL
 * returns them) and the arithmetic is in integer micro-units (see money.ts), so no float drift.
 */

/** A decimal number as text, e.g. "19.990000" (how node-postgres returns numeric). */
export type DecimalString = string;

/** A Magento date-time, `YYYY-MM-DD hh:mm:ss` (only the date part counts for a special window). */
export type MagentoDateTime = string;

export interface TierPriceFact {
  /** true: the tier applies to every customer group and `customerGroupId` is ignored. */
  allGroups: boolean;
  customerGroupId: number;
  /** The quantity threshold: the tier applies from this many units up. */
  qty: DecimalString;
  /** The fixed unit price; ignored when `percentageValue` is set. */
  value: DecimalString;
  /** A discount in percent off the base price (0–100), or null for a fixed tier. */
  percentageValue: DecimalString | null;
}

export interface PriceFacts {
  price: DecimalString;
  specialPrice: DecimalString | null;
  specialFromDate: MagentoDateTime | null;
  specialToDate: MagentoDateTime | null;
  tiers: readonly TierPriceFact[];
}

export interface PriceRequest {
  customerGroupId: number;
  qty: DecimalString | number;
  now: Date;
}

/** Which rule produced the final price; on a tie the earlier rule in this order is named. */
export type AppliedRule = 'regular' | 'special' | 'tier';

export interface FinalPrice {
  regularPrice: Micros;
  finalPrice: Micros;
  appliedRule: AppliedRule;
}

export function finalPrice(facts: PriceFacts, request: PriceRequest): FinalPrice {
  const regularPrice = toMicros(facts.price);
  let best: FinalPrice = { regularPrice, finalPrice: regularPrice, appliedRule: 'regular' };

  const special = specialPriceAt(facts, request.now);
  if (special !== null && special < best.finalPrice) best = { regularPrice, finalPrice: special, appliedRule: 'special' };

  const tier = bestTierPrice(regularPrice, facts.tiers, request.customerGroupId, toMicros(request.qty));
  if (tier !== null && tier < best.finalPrice) best = { regularPrice, finalPrice: tier, appliedRule: 'tier' };

  return best;
}

/** The special price when `now` is inside its window, else null. */
export function specialPriceAt(facts: Pick<PriceFacts, 'specialPrice' | 'specialFromDate' | 'specialToDate'>, now: Date): Micros | null {
  if (facts.specialPrice === null) return null;
  const today = now.toISOString().slice(0, 10);
  // Date parts compare correctly as text (YYYY-MM-DD), which is what makes `to` cover its whole day.
  if (facts.specialFromDate !== null && today < dayOf(facts.specialFromDate)) return null;
  if (facts.specialToDate !== null && today > dayOf(facts.specialToDate)) return null;
  return toMicros(facts.specialPrice);
}

/** The lowest unit price among the tiers that apply to this group and quantity, else null. */
export function bestTierPrice(
  regularPrice: Micros,
  tiers: readonly TierPriceFact[],
  customerGroupId: number,
  qty: Micros,
): Micros | null {
  const applicable = tiers
    .filter((tier) => tier.allGroups || tier.customerGroupId === customerGroupId)
    .filter((tier) => toMicros(tier.qty) <= qty)
    .map((tier) => (tier.percentageValue !== null ? percentOff(regularPrice, toMicros(tier.percentageValue)) : toMicros(tier.value)));
  const [first, ...rest] = applicable;
  return first === undefined ? null : minMicros(first, ...rest);
}

function dayOf(value: MagentoDateTime): string {
  const day = value.trim().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`not a Magento date: ${JSON.stringify(value)}`);
  return day;
}
