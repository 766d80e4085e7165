import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { finalPrice as legacyFinalPrice } from '../../../legacy-stub/pricing/final-price.ts';
import { microsToNumber, toMicros } from '../../../legacy-stub/pricing/money.ts';
import { priceFor, type ProductPriceFacts } from './price-rule.ts';
import { amountNumber, parseAmount } from './decimal-amount.ts';

// The legacy's price rule is the specification: for any product, group, quantity and moment,
// the service must answer what the legacy answers, to the last digit.

const DAY_MS = 86_400_000;
const BASE = Date.UTC(2024, 0, 1);

/** Decimal text as numeric columns hold it, sometimes with more than six decimals or trailing zeros. */
const decimal = (maxWhole: number) =>
  fc
    .tuple(fc.integer({ min: 0, max: maxWhole }), fc.integer({ min: 0, max: 9_999_999 }), fc.integer({ min: 0, max: 7 }))
    .map(([whole, fraction, digits]) => (digits === 0 ? String(whole) : `${whole}.${String(fraction).padStart(7, '0').slice(0, digits)}`));

const magentoDate = fc
  .tuple(fc.integer({ min: -40, max: 40 }), fc.integer({ min: 0, max: DAY_MS - 1 }))
  .map(([day, ms]) => new Date(BASE + day * DAY_MS + ms).toISOString().slice(0, 19).replace('T', ' '));

const tier = fc.record({
  allGroups: fc.boolean(),
  customerGroupId: fc.integer({ min: 0, max: 4 }),
  qty: decimal(60),
  value: decimal(500),
  percentageValue: fc.option(decimal(100), { nil: null }),
});

const facts: fc.Arbitrary<ProductPriceFacts> = fc.record({
  price: decimal(1000),
  specialPrice: fc.option(decimal(1000), { nil: null }),
  specialFrom: fc.option(magentoDate, { nil: null }),
  specialTo: fc.option(magentoDate, { nil: null }),
  tiers: fc.array(tier, { maxLength: 6 }),
});

const question = fc.record({
  customerGroupId: fc.integer({ min: 0, max: 4 }),
  qty: decimal(80).filter((text) => toMicros(text) > 0n),
  now: fc.integer({ min: -45 * DAY_MS, max: 45 * DAY_MS }).map((offset) => new Date(BASE + offset)),
});

describe('the price rule agrees with the legacy specification', () => {
  it('for random products, customer groups, quantities and moments, the final and regular prices are the same to the micro-unit', () => {
    fc.assert(
      fc.property(facts, question, (product, asked) => {
        const expected = legacyFinalPrice(
          { price: product.price, specialPrice: product.specialPrice, specialFromDate: product.specialFrom, specialToDate: product.specialTo, tiers: product.tiers },
          { customerGroupId: asked.customerGroupId, qty: asked.qty, now: asked.now },
        );
        const actual = priceFor(product, { customerGroupId: asked.customerGroupId, qty: parseAmount(asked.qty), now: asked.now });
        expect(actual.final).toBe(expected.finalPrice);
        expect(actual.regular).toBe(expected.regularPrice);
        expect(actual.source).toBe(expected.appliedRule);
        // …and the JSON number the answer carries.
        expect(amountNumber(actual.final)).toBe(microsToNumber(expected.finalPrice));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads decimal text exactly as the legacy does, rounding the seventh decimal half-up', () => {
    fc.assert(
      fc.property(fc.tuple(fc.constantFrom('', '-', '+'), decimal(10 ** 9)), ([sign, text]) => {
        expect(parseAmount(sign + text)).toBe(toMicros(sign + text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the price rule, by example', () => {
  const product: ProductPriceFacts = {
    price: '100.000000',
    specialPrice: '80.000000',
    specialFrom: '2024-03-10 00:00:00',
    specialTo: '2024-03-20 00:00:00',
    tiers: [
      { allGroups: true, customerGroupId: 0, qty: '10.0000', value: '85.000000', percentageValue: null },
      { allGroups: false, customerGroupId: 2, qty: '1.0000', value: '0', percentageValue: '12.50' },
    ],
  };
  const at = (iso: string, customerGroupId = 0, qty = '1') => priceFor(product, { customerGroupId, qty: parseAmount(qty), now: new Date(iso) });

  it('when today is inside the special window (the to-day included), then the special price wins', () => {
    expect(at('2024-03-20T23:59:59Z')).toMatchObject({ final: 80_000_000n, source: 'special' });
    expect(at('2024-03-10T00:00:00Z')).toMatchObject({ final: 80_000_000n, source: 'special' });
  });

  it('when today is outside the window, then the base price applies', () => {
    expect(at('2024-03-21T00:00:00Z')).toMatchObject({ final: 100_000_000n, source: 'regular' });
    expect(at('2024-03-09T23:59:59Z')).toMatchObject({ final: 100_000_000n, source: 'regular' });
  });

  it('when the shopper\'s group has a percentage tier, then base × (1 − pct) is the price if it is the lowest', () => {
    expect(at('2024-04-01T00:00:00Z', 2)).toMatchObject({ final: 87_500_000n, source: 'tier' });
    expect(at('2024-04-01T00:00:00Z', 1, '9.99')).toMatchObject({ final: 100_000_000n, source: 'regular' });
    expect(at('2024-04-01T00:00:00Z', 1, '10')).toMatchObject({ final: 85_000_000n, source: 'tier' });
  });
});
