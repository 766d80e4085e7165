import { describe, expect, it } from 'vitest';
import { dayOffset, formatMagentoDate, parseMagentoDate } from './magento-date.ts';

describe('Magento dates', () => {
  it('formats in UTC as YYYY-MM-DD hh:mm:ss, whatever the process time zone', () => {
    expect(formatMagentoDate(new Date('2025-06-15T23:59:58.900Z'))).toBe('2025-06-15 23:59:58');
  });

  it('reads the forms a client sends, and refuses dates that do not exist', () => {
    expect(parseMagentoDate('2025-06-15')).toBe('2025-06-15 00:00:00');
    expect(parseMagentoDate('2025-06-15 10:20')).toBe('2025-06-15 10:20:00');
    expect(parseMagentoDate('2025-06-15T10:20:30')).toBe('2025-06-15 10:20:30');
    for (const bad of ['2025-02-30', '2025-06-15 25:00:00', '15/06/2025', 'soon', '']) expect(parseMagentoDate(bad), bad).toBeNull();
  });

  it('counts days from midnight UTC', () => {
    expect(formatMagentoDate(dayOffset(new Date('2025-06-15T18:00:00Z'), -15))).toBe('2025-05-31 00:00:00');
  });
});
