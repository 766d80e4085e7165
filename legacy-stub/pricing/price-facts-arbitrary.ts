import fc from 'fast-check';
import type { PriceFacts, PriceRequest, TierPriceFact } from './final-price.ts';
import { formatMicros } from './money.ts';

/**
 * fast-check generators of price facts and requests, shaped like the legacy catalog's rows
 * (numeric(20,6) prices, numeric(12,4) quantities, numeric(5,2) percentages, day-aligned windows
 * around early 2026). Test support: the extracted pricing service's property tests draw from these
 * to check that it answers exactly what final-price.ts answers.
 */
const EPOCH = Date.UTC(2026, 0, 1);
const DAYS = 60;

export const amountArbitrary = fc.integer({ min: 0, max: 10_000_000_000 }).map((micros) => formatMicros(BigInt(micros)));

export const windowDayArbitrary = fc
  .integer({ min: 0, max: DAYS })
  .map((offset) => `${new Date(EPOCH + offset * 86_400_000).toISOString().slice(0, 10)} 00:00:00`);

export const tierArbitrary: fc.Arbitrary<TierPriceFact> = fc.record({
  allGroups: fc.boolean(),
  customerGroupId: fc.integer({ min: 0, max: 3 }),
  qty: fc.integer({ min: 1, max: 20 }).map(String),
  value: amountArbitrary,
  percentageValue: fc.option(fc.integer({ min: 0, max: 10_000 }).map((hundredths) => formatMicros(BigInt(hundredths) * 10_000n))),
});

export const priceFactsArbitrary: fc.Arbitrary<PriceFacts> = fc.record({
  price: amountArbitrary,
  specialPrice: fc.option(amountArbitrary),
  specialFromDate: fc.option(windowDayArbitrary),
  specialToDate: fc.option(windowDayArbitrary),
  tiers: fc.array(tierArbitrary, { maxLength: 5 }),
});

export const priceRequestArbitrary: fc.Arbitrary<PriceRequest> = fc.record({
  customerGroupId: fc.integer({ min: 0, max: 3 }),
  qty: fc.integer({ min: 1, max: 25 }),
  // Any hour of the window range, including the first and last instants of days.
  now: fc.integer({ min: 0, max: DAYS * 24 * 3600 - 1 }).map((seconds) => new Date(EPOCH + seconds * 1000)),
});
