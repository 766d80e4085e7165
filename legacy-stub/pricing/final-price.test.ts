import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bestTierPrice, finalPrice, specialPriceAt, type AppliedRule, type PriceFacts, type TierPriceFact } from './final-price.ts';
import { priceFactsArbitrary, priceRequestArbitrary } from './price-facts-arbitrary.ts';
import { formatMicros, toMicros } from './money.ts';

const GUEST = 0;
const GENERAL = 1;
const WHOLESALE = 2;

const noSpecial = { specialPrice: null, specialFromDate: null, specialToDate: null } as const;

function tier(partial: Partial<TierPriceFact> & Pick<TierPriceFact, 'qty'>): TierPriceFact {
  return { allGroups: true, customerGroupId: 0, value: '0', percentageValue: null, ...partial };
}

interface Case {
  name: string;
  facts: PriceFacts;
  group?: number;
  qty?: string | number;
  now?: string;
  expected: string;
  rule: AppliedRule;
}

const cases: Case[] = [
  // Base price alone
  { name: 'with no special price and no tiers, the base price is the final price', facts: { price: '100.000000', ...noSpecial, tiers: [] }, expected: '100', rule: 'regular' },
  { name: 'a base price with six decimals is kept exactly', facts: { price: '19.999999', ...noSpecial, tiers: [] }, expected: '19.999999', rule: 'regular' },

  // Special price windows
  { name: 'a special price with open bounds applies', facts: { price: '100', specialPrice: '80', specialFromDate: null, specialToDate: null, tiers: [] }, expected: '80', rule: 'special' },
  { name: 'a special price inside its window applies', facts: { price: '100', specialPrice: '80', specialFromDate: '2026-03-01 00:00:00', specialToDate: '2026-03-31 00:00:00', tiers: [] }, now: '2026-03-15T12:00:00Z', expected: '80', rule: 'special' },
  { name: 'a special price applies from the very start of its from day', facts: { price: '100', specialPrice: '80', specialFromDate: '2026-03-01 00:00:00', specialToDate: null, tiers: [] }, now: '2026-03-01T00:00:00Z', expected: '80', rule: 'special' },
  { name: 'a from date with a time still opens the window at the start of that day', facts: { price: '100', specialPrice: '80', specialFromDate: '2026-03-01 18:30:00', specialToDate: null, tiers: [] }, now: '2026-03-01T08:00:00Z', expected: '80', rule: 'special' },
  { name: 'a special price does not apply the last second before its from day', facts: { price: '100', specialPrice: '80', specialFromDate: '2026-03-01 00:00:00', specialToDate: null, tiers: [] }, now: '2026-02-28T23:59:59.999Z', expected: '100', rule: 'regular' },
  { name: 'a to date covers that whole day, up to its last millisecond', facts: { price: '100', specialPrice: '80', specialFromDate: null, specialToDate: '2026-03-31 00:00:00', tiers: [] }, now: '2026-03-31T23:59:59.999Z', expected: '80', rule: 'special' },
  { name: 'a to date at noon of the day still covers the afternoon', facts: { price: '100', specialPrice: '80', specialFromDate: null, specialToDate: '2026-03-31 00:00:00', tiers: [] }, now: '2026-03-31T18:00:00Z', expected: '80', rule: 'special' },
  { name: 'the day after the to date, the special price no longer applies', facts: { price: '100', specialPrice: '80', specialFromDate: null, specialToDate: '2026-03-31 00:00:00', tiers: [] }, now: '2026-04-01T00:00:00Z', expected: '100', rule: 'regular' },
  { name: 'a one-day window (from = to) covers exactly that day', facts: { price: '100', specialPrice: '80', specialFromDate: '2026-03-10 00:00:00', specialToDate: '2026-03-10 00:00:00', tiers: [] }, now: '2026-03-10T23:00:00Z', expected: '80', rule: 'special' },
  { name: 'a window entirely in the past does not apply', facts: { price: '100', specialPrice: '80', specialFromDate: '2025-01-01 00:00:00', specialToDate: '2025-01-31 00:00:00', tiers: [] }, now: '2026-03-15T12:00:00Z', expected: '100', rule: 'regular' },
  { name: 'a window entirely in the future does not apply', facts: { price: '100', specialPrice: '80', specialFromDate: '2027-01-01 00:00:00', specialToDate: null, tiers: [] }, now: '2026-03-15T12:00:00Z', expected: '100', rule: 'regular' },
  { name: 'a special price above the base price is ignored', facts: { price: '100', specialPrice: '120', specialFromDate: null, specialToDate: null, tiers: [] }, expected: '100', rule: 'regular' },
  { name: 'window dates without a time part are accepted', facts: { price: '100', specialPrice: '80', specialFromDate: '2026-03-01', specialToDate: '2026-03-01', tiers: [] }, now: '2026-03-01T10:00:00Z', expected: '80', rule: 'special' },

  // Tier prices: groups
  { name: 'an all-groups tier applies to a guest', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '1', value: '90' })] }, group: GUEST, expected: '90', rule: 'tier' },
  { name: 'an all-groups tier applies to any group, whatever customer_group_id it carries', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '1', value: '90', customerGroupId: GENERAL })] }, group: WHOLESALE, expected: '90', rule: 'tier' },
  { name: "a group's tier applies to that group", facts: { price: '100', ...noSpecial, tiers: [tier({ allGroups: false, customerGroupId: WHOLESALE, qty: '1', value: '70' })] }, group: WHOLESALE, expected: '70', rule: 'tier' },
  { name: "a group's tier does not apply to another group", facts: { price: '100', ...noSpecial, tiers: [tier({ allGroups: false, customerGroupId: WHOLESALE, qty: '1', value: '70' })] }, group: GENERAL, expected: '100', rule: 'regular' },
  { name: "a group-0 tier (NOT LOGGED IN) is a guest's tier, not an all-groups tier", facts: { price: '100', ...noSpecial, tiers: [tier({ allGroups: false, customerGroupId: GUEST, qty: '1', value: '95' })] }, group: GENERAL, expected: '100', rule: 'regular' },

  // Tier prices: quantity thresholds
  { name: 'a tier applies when the quantity equals its threshold', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '5', value: '90' })] }, qty: 5, expected: '90', rule: 'tier' },
  { name: 'a tier applies above its threshold', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '5', value: '90' })] }, qty: 50, expected: '90', rule: 'tier' },
  { name: 'a quantity below the first tier gets no tier price', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '5', value: '90' }), tier({ qty: '10', value: '80' })] }, qty: 4, expected: '100', rule: 'regular' },
  { name: 'a fractional quantity just below the threshold gets no tier price', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '5.0000', value: '90' })] }, qty: '4.9999', expected: '100', rule: 'regular' },
  { name: 'of several thresholds reached, the lowest tier price wins', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '5', value: '90' }), tier({ qty: '10', value: '80' }), tier({ qty: '20', value: '70' })] }, qty: 12, expected: '80', rule: 'tier' },
  { name: 'a higher threshold with a worse price does not replace a better lower one', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '2', value: '75' }), tier({ qty: '10', value: '85' })] }, qty: 10, expected: '75', rule: 'tier' },

  // Tier prices: percentage
  { name: 'a percentage tier is a discount off the base price', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '1', percentageValue: '15.00' })] }, expected: '85', rule: 'tier' },
  { name: 'a percentage tier ignores its fixed value column', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '1', value: '1', percentageValue: '10' })] }, expected: '90', rule: 'tier' },
  { name: 'a percentage tier is computed off the base price, not off the special price', facts: { price: '100', specialPrice: '50', specialFromDate: null, specialToDate: null, tiers: [tier({ qty: '1', percentageValue: '10' })] }, expected: '50', rule: 'special' },
  { name: 'a percentage discount is exact in micro-units (no float drift)', facts: { price: '0.300000', ...noSpecial, tiers: [tier({ qty: '1', percentageValue: '10' })] }, expected: '0.27', rule: 'tier' },
  { name: 'a percentage discount that needs more than six decimals is rounded half-up', facts: { price: '0.000005', ...noSpecial, tiers: [tier({ qty: '1', percentageValue: '10' })] }, expected: '0.000005', rule: 'regular' },
  { name: 'a half micro-unit is rounded up (0.000015 × 0.9 = 0.0000135 → 0.000014)', facts: { price: '0.000015', ...noSpecial, tiers: [tier({ qty: '1', percentageValue: '10' })] }, expected: '0.000014', rule: 'tier' },
  { name: 'a 33.33% discount on 9.99 is exact to the micro-unit', facts: { price: '9.99', ...noSpecial, tiers: [tier({ qty: '1', percentageValue: '33.33' })] }, expected: '6.660333', rule: 'tier' },
  { name: 'a 100% discount makes the product free', facts: { price: '42', ...noSpecial, tiers: [tier({ qty: '1', percentageValue: '100' })] }, expected: '0', rule: 'tier' },
  { name: 'a fixed and a percentage tier at the same threshold: the lower wins', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '1', value: '88' }), tier({ allGroups: false, customerGroupId: WHOLESALE, qty: '1', percentageValue: '20' })] }, group: WHOLESALE, expected: '80', rule: 'tier' },

  // Lowest wins across rules
  { name: 'the special price wins when it is below every tier', facts: { price: '100', specialPrice: '60', specialFromDate: null, specialToDate: null, tiers: [tier({ qty: '1', value: '70' })] }, expected: '60', rule: 'special' },
  { name: 'a tier wins when it is below the special price', facts: { price: '100', specialPrice: '80', specialFromDate: null, specialToDate: null, tiers: [tier({ qty: '1', value: '70' })] }, expected: '70', rule: 'tier' },
  { name: 'a tier above the base price is ignored', facts: { price: '100', ...noSpecial, tiers: [tier({ qty: '1', value: '110' })] }, expected: '100', rule: 'regular' },
  { name: 'on a tie between special and tier, the special price is named', facts: { price: '100', specialPrice: '70', specialFromDate: null, specialToDate: null, tiers: [tier({ qty: '1', value: '70' })] }, expected: '70', rule: 'special' },
  { name: 'an expired special price leaves the tier price to win', facts: { price: '100', specialPrice: '50', specialFromDate: null, specialToDate: '2026-03-14 00:00:00', tiers: [tier({ qty: '1', value: '70' })] }, now: '2026-03-15T00:00:00Z', expected: '70', rule: 'tier' },
];

describe('final price (the legacy shop\'s price rule)', () => {
  it.each(cases)('$name', ({ facts, group, qty, now, expected, rule }) => {
    const result = finalPrice(facts, { customerGroupId: group ?? GUEST, qty: qty ?? 1, now: new Date(now ?? '2026-03-15T12:00:00Z') });
    expect(formatMicros(result.finalPrice)).toBe(expected);
    expect(result.appliedRule).toBe(rule);
    expect(result.regularPrice).toBe(toMicros(facts.price));
  });

  it('never answers more than the base price, nor below zero, and more units never cost more each', () => {
    fc.assert(
      fc.property(priceFactsArbitrary, priceRequestArbitrary, (facts, request) => {
        const result = finalPrice(facts, request);
        expect(result.finalPrice <= result.regularPrice).toBe(true);
        expect(result.finalPrice >= 0n).toBe(true);
        if (facts.specialPrice === null && facts.tiers.length === 0) expect(result.appliedRule).toBe('regular');
        // Thresholds only ever add candidates, so asking for one more unit never raises the unit price.
        const more = finalPrice(facts, { ...request, qty: Number(request.qty) + 1 });
        expect(more.finalPrice <= result.finalPrice).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('answers the minimum of the candidates it names: the applied rule really produces the final price', () => {
    fc.assert(
      fc.property(priceFactsArbitrary, priceRequestArbitrary, (facts, request) => {
        const result = finalPrice(facts, request);
        const special = specialPriceAt(facts, request.now);
        const tier = bestTierPrice(result.regularPrice, facts.tiers, request.customerGroupId, toMicros(request.qty));
        const candidates = [result.regularPrice, special, tier].filter((value): value is bigint => value !== null);
        expect(result.finalPrice).toBe(candidates.reduce((low, value) => (value < low ? value : low)));
        const byRule = { regular: result.regularPrice, special, tier };
        expect(byRule[result.appliedRule]).toBe(result.finalPrice);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a price that is not a decimal number instead of guessing', () => {
    expect(() => finalPrice({ price: '12,50', ...noSpecial, tiers: [] }, { customerGroupId: 0, qty: 1, now: new Date() })).toThrow(/not a decimal/);
  });
});
