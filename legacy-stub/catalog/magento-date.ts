/**
 * Magento's date format on the wire and in its tables: `YYYY-MM-DD hh:mm:ss`, in UTC, no zone.
 * The schema's columns are `timestamp without time zone`; we always hand PostgreSQL (and read
 * back) these strings rather than JS Dates, because node-postgres would convert a Date through
 * the process's local time zone.
 */
export function formatMagentoDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** Midnight UTC of the day `days` away from `from` (negative for the past). */
export function dayOffset(from: Date, days: number): Date {
  const day = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  return new Date(day + days * 86_400_000);
}

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * Parses what a Magento client sends for a date (`2024-05-01`, `2024-05-01 10:00:00`,
 * `2024-05-01T10:00:00`) into the canonical string, or `null` when it is not a real date.
 */
export function parseMagentoDate(input: string): string | null {
  const match = DATE_PATTERN.exec(input.trim());
  if (!match) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = match;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  if (Number.isNaN(date.getTime())) return null;
  const canonical = formatMagentoDate(date);
  // Rejects 2024-02-30 and 25:00, which Date.UTC would silently roll over.
  return canonical === `${y}-${mo}-${d} ${h}:${mi}:${s}` ? canonical : null;
}
