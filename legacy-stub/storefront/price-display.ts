import type { Micros } from '../pricing/money.ts';

/**
 * Prices as a shopper reads them: US dollars, rounded half-up to the cent. static/price-box.js
 * rounds the REST answer the same way (on its decimal text, not through a float), so the
 * server-rendered fallback and the browser's price box always agree.
 */
const CENT = 10_000n; // micro-units per cent

export function roundToCents(micros: Micros): Micros {
  const negative = micros < 0n;
  const magnitude = negative ? -micros : micros;
  const rounded = ((magnitude + CENT / 2n) / CENT) * CENT;
  return negative ? -rounded : rounded;
}

export function formatPrice(micros: Micros): string {
  const cents = roundToCents(micros) / CENT;
  const negative = cents < 0n;
  const magnitude = negative ? -cents : cents;
  const dollars = (magnitude / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}$${dollars}.${(magnitude % 100n).toString().padStart(2, '0')}`;
}
