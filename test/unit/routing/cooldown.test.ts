import { describe, expect, it } from 'vitest';
import { applyFailure, cooldownUntil, escalatedSeconds, failureKind, isProbeable, parseRetryAfter, retryAfterSeconds, type CooldownKind, type CoolState } from '../../../src/routing/cooldown.js';

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

describe('failureKind: what a failure cools, and whether it may be probed', () => {
  const table: [number, boolean, CooldownKind, boolean, boolean][] = [
    // status, unreachable host, kind, provider-wide, probeable
    [500, false, 'transient', false, true],
    [502, false, 'transient', false, true], // broken connection
    [503, false, 'transient', false, true],
    [504, false, 'transient', false, true], // timeout
    [529, false, 'transient', false, true], // overloaded
    [408, false, 'transient', false, true],
    [429, false, 'rate-limit', false, false],
    [401, false, 'auth', true, false],
    [403, false, 'auth', true, false],
    [404, false, 'other', false, false],
    [402, false, 'other', false, false],
    [502, true, 'unreachable', true, true], // ECONNREFUSED, ENOTFOUND, …
    [504, true, 'unreachable', true, true], // connect timeout
  ];
  for (const [status, unreachable, kind, providerWide, probeable] of table) {
    it(`${status}${unreachable ? ' (host unreachable)' : ''} → ${kind}${providerWide ? ', provider-wide' : ''}${probeable ? ', probeable' : ''}`, () => {
      expect(failureKind(status, unreachable)).toEqual({ kind, providerWide });
      expect(isProbeable(kind)).toBe(probeable);
    });
  }
  it('an unknown kind (read back from the database) is not probed', () => {
    expect(isProbeable(null)).toBe(false);
  });
});

describe('escalatedSeconds: the base, doubled per failure in a row, capped', () => {
  const table: [number, number, number, number][] = [
    // base, failures in a row, max, seconds
    [60, 1, 900, 60],
    [60, 2, 900, 120],
    [60, 3, 900, 240],
    [60, 4, 900, 480],
    [60, 5, 900, 900],
    [60, 6, 900, 900],
    [60, 60, 900, 900], // never overflows
    [1, 1, 4, 1],
    [1, 2, 4, 2],
    [1, 3, 4, 4],
    [1, 4, 4, 4],
    [0, 5, 900, 0], // a provider with cooldown 0 never cools
    [1200, 1, 900, 1200], // an explicit provider cooldown above the ceiling stands…
    [1200, 3, 900, 1200], // …and is not doubled
    [60, 0, 900, 60],
  ];
  for (const [base, n, max, expected] of table) {
    it(`base ${base} s, failure #${n}, max ${max} s → ${expected} s`, () => {
      expect(escalatedSeconds(base, n, max)).toBe(expected);
    });
  }
});

describe('applyFailure: the state after one more failure', () => {
  const fresh: CoolState = { until: null, kind: null, failures: 0 };
  const f = (over: Partial<Parameters<typeof applyFailure>[1]> = {}) => ({ now, baseSeconds: 60, maxSeconds: 900, retryAfterSeconds: null, kind: 'transient' as CooldownKind, ...over });
  const table: [string, CoolState, Partial<Parameters<typeof applyFailure>[1]>, CoolState][] = [
    ['first failure: the base', fresh, {}, { until: now + 60_000, kind: 'transient', failures: 1 }],
    ['second in a row: doubled', { until: now - 1, kind: 'transient', failures: 1 }, {}, { until: now + 120_000, kind: 'transient', failures: 2 }],
    ['fifth in a row: capped', { until: now - 1, kind: 'transient', failures: 4 }, {}, { until: now + 900_000, kind: 'transient', failures: 5 }],
    ['a probe failing during the cooldown: escalated from now', { until: now + 30_000, kind: 'transient', failures: 1 }, {}, { until: now + 120_000, kind: 'transient', failures: 2 }],
    ['Retry-After longer wins', fresh, { retryAfterSeconds: 300, kind: 'rate-limit' }, { until: now + 300_000, kind: 'rate-limit', failures: 1 }],
    ['Retry-After shorter loses', fresh, { retryAfterSeconds: 5, kind: 'rate-limit' }, { until: now + 60_000, kind: 'rate-limit', failures: 1 }],
    ['Retry-After capped at the max', fresh, { retryAfterSeconds: 86_400, kind: 'rate-limit' }, { until: now + 900_000, kind: 'rate-limit', failures: 1 }],
    ['a running cooldown ending later is kept, with its kind', { until: now + 600_000, kind: 'rate-limit', failures: 0 }, { kind: 'auth' }, { until: now + 600_000, kind: 'rate-limit', failures: 1 }],
    ['a running shorter one is replaced, kind too', { until: now + 10_000, kind: 'rate-limit', failures: 0 }, { kind: 'auth' }, { until: now + 60_000, kind: 'auth', failures: 1 }],
    ['small settings: 1 s base, 4 s max, third failure', { until: now - 1, kind: 'transient', failures: 2 }, { baseSeconds: 1, maxSeconds: 4 }, { until: now + 4_000, kind: 'transient', failures: 3 }],
  ];
  for (const [name, state, input, expected] of table) {
    it(name, () => {
      expect(applyFailure(state, f(input))).toEqual(expected);
    });
  }
});
