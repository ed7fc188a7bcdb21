import { describe, expect, it } from 'vitest';
import { cooldownUntil, parseRetryAfter, retryAfterSeconds } from '../../../src/routing/cooldown.js';

const now = Date.parse('2026-11-26T12:00:00Z');

describe('parseRetryAfter', () => {
  const table: [string | undefined, string | undefined, number | null][] = [
    ['7', undefined, 7],
    ['0', undefined, 0],
    ['2.5', undefined, 2.5],
    [' 30 ', undefined, 30],
    ['Thu, 26 Nov 2026 12:02:00 GMT', undefined, 120],
    ['Thu, 26 Nov 2026 11:00:00 GMT', undefined, 0], // in the past
    ['soon', undefined, null],
    ['', undefined, null],
    [undefined, undefined, null],
    [undefined, '1500', 1.5],
    ['9', '250', 0.25], // retry-after-ms is the finer one
  ];
  for (const [ra, ms, expected] of table) {
    it(`Retry-After ${JSON.stringify(ra)}, retry-after-ms ${JSON.stringify(ms)} → ${expected}`, () => {
      expect(parseRetryAfter(ra, now, ms)).toBe(expected);
    });
  }
  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['5', '9'], now)).toBe(5);
  });
});

describe('cooldownUntil', () => {
  const table: [number, number | null, number | null, number][] = [
    [60, null, null, now + 60_000],
    [60, 7, null, now + 60_000], // Retry-After shorter: the configured cooldown stands
    [60, 120, null, now + 120_000], // longer Retry-After wins
    [0, null, null, now],
    [10, 0.5, null, now + 10_000],
    [5, 30, null, now + 30_000],
    [60, null, now + 300_000, now + 300_000], // a longer cooldown already running is never shortened
    [60, null, now + 1_000, now + 60_000],
  ];
  for (const [base, ra, current, expected] of table) {
    it(`base ${base}s, Retry-After ${ra}, current ${current === null ? null : (current - now) / 1000 + 's'} → +${(expected - now) / 1000}s`, () => {
      expect(cooldownUntil(now, base, ra, current)).toBe(expected);
    });
  }
  it('retryAfterSeconds rounds up and is at least 1', () => {
    expect(retryAfterSeconds(now + 1500, now)).toBe(2);
    expect(retryAfterSeconds(now + 10, now)).toBe(1);
    expect(retryAfterSeconds(now - 10, now)).toBe(1);
  });
});
