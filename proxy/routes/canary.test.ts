import { describe, expect, it } from 'vitest';
import { choosesTarget, cookieValue, createCanarySplit } from './canary.ts';

describe('canary split', () => {
  it('with a sticky cookie, the same session always lands on the same side', () => {
    const split = createCanarySplit('final-price', 30, 'cookie:PHPSESSID');
    for (let session = 0; session < 200; session += 1) {
      const headers = { cookie: `foo=1; PHPSESSID=s${session}; bar=2` };
      const first = choosesTarget(split, headers);
      for (let again = 0; again < 5; again += 1) expect(choosesTarget(split, headers, Math.random)).toBe(first);
    }
  });

  it('sends about `percent` of 20,000 distinct sessions to the target', () => {
    const split = createCanarySplit('final-price', 10, 'cookie:PHPSESSID');
    let toTarget = 0;
    for (let session = 0; session < 20_000; session += 1) if (choosesTarget(split, { cookie: `PHPSESSID=${session.toString(36)}abc` })) toTarget += 1;
    expect(toTarget / 20_000).toBeGreaterThan(0.09);
    expect(toTarget / 20_000).toBeLessThan(0.11);
  });

  it('raising the percentage only moves sessions onto the target, never back', () => {
    const at10 = createCanarySplit('r', 10, 'header:X-Customer');
    const at50 = createCanarySplit('r', 50, 'header:X-Customer');
    for (let id = 0; id < 2_000; id += 1) {
      const headers = { 'x-customer': `c-${id}` };
      if (choosesTarget(at10, headers)) expect(choosesTarget(at50, headers)).toBe(true);
    }
  });

  it('without the cookie, each request is split on its own; 0 and 100 are absolute', () => {
    const split = createCanarySplit('r', 50, 'cookie:PHPSESSID');
    expect(choosesTarget(split, {}, () => 0.1)).toBe(true);
    expect(choosesTarget(split, {}, () => 0.9)).toBe(false);
    expect(choosesTarget(createCanarySplit('r', 0, undefined), {}, () => 0)).toBe(false);
    expect(choosesTarget(createCanarySplit('r', 100, undefined), {}, () => 0.9999)).toBe(true);
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(cookieValue('a=1; PHPSESSID=xyz; b=2', 'PHPSESSID')).toBe('xyz');
    expect(cookieValue('XPHPSESSID=no; PHPSESSID=yes', 'PHPSESSID')).toBe('yes');
    expect(cookieValue('a=1', 'PHPSESSID')).toBeUndefined();
    expect(cookieValue(undefined, 'PHPSESSID')).toBeUndefined();
  });
});
