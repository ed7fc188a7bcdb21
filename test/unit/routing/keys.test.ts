import { describe, expect, it } from 'vitest';
import { coolsKeyAlone, keyListProblem, keysCoolingUntil, normalizeKeyList, pickKey, soonestKey } from '../../../src/routing/keys.js';
import { Registry } from '../../../src/routing/registry.js';
import type { Member, Provider, ProviderKey } from '../../../src/store/repo.js';
import type { CooldownKind } from '../../../src/routing/cooldown.js';

/** CONTRACT "Provider keys": which key an attempt takes, and when a provider's keys hold its members back. */

const now = Date.parse('2026-11-26T12:00:00Z');
const ready = { cooldownUntil: null };
const cooling = (s: number) => ({ cooldownUntil: now + s * 1000 });
const over = { cooldownUntil: now - 1 }; // a cooldown that has ended

describe('pickKey: round-robin over the keys that are not cooling', () => {
  it.each([
    { name: 'no key', keys: [], cursor: 0, want: null },
    { name: 'one key', keys: [ready], cursor: 0, want: { index: 0, cursor: 0 } },
    { name: 'first of three', keys: [ready, ready, ready], cursor: 0, want: { index: 0, cursor: 1 } },
    { name: 'the cursor’s key', keys: [ready, ready, ready], cursor: 2, want: { index: 2, cursor: 0 } },
    { name: 'a cursor past the end wraps (a key was removed)', keys: [ready, ready], cursor: 5, want: { index: 1, cursor: 0 } },
    { name: 'a cooling key is skipped', keys: [ready, cooling(30), ready], cursor: 1, want: { index: 2, cursor: 0 } },
    { name: 'skipping wraps around', keys: [ready, cooling(30), cooling(5)], cursor: 1, want: { index: 0, cursor: 1 } },
    { name: 'an ended cooldown is ready', keys: [cooling(30), over], cursor: 0, want: { index: 1, cursor: 0 } },
    { name: 'all cooling', keys: [cooling(30), cooling(5)], cursor: 0, want: null },
  ])('$name', ({ keys, cursor, want }) => {
    expect(pickKey(keys, cursor, now)).toEqual(want);
  });

  it('taken in turn, the cursor handed back each time: every ready key once per round', () => {
    const keys = [ready, cooling(60), ready, ready];
    const seen: number[] = [];
    let cursor = 0;
    for (let i = 0; i < 6; i++) {
      const p = pickKey(keys, cursor, now)!;
      seen.push(p.index);
      cursor = p.cursor;
    }
    expect(seen).toEqual([0, 2, 3, 0, 2, 3]);
  });
});

describe('keysCoolingUntil: the members cool only while every key does', () => {
  it.each([
    { name: 'no key', keys: [], want: null },
    { name: 'one ready key', keys: [ready], want: null },
    { name: 'some ready', keys: [cooling(30), ready], want: null },
    { name: 'an ended cooldown counts as ready', keys: [cooling(30), over], want: null },
    { name: 'one cooling key', keys: [cooling(30)], want: now + 30_000 },
    { name: 'all cooling: the first to come back', keys: [cooling(30), cooling(5), cooling(90)], want: now + 5_000 },
  ])('$name', ({ keys, want }) => {
    expect(keysCoolingUntil(keys, now)).toBe(want);
  });

  it('soonestKey: the key to send when every key cools', () => {
    expect(soonestKey([])).toBe(-1);
    expect(soonestKey([cooling(30), cooling(5), cooling(90)])).toBe(1);
  });
});

describe('coolsKeyAlone: with several keys a refused or rate-limited key cools alone; one key behaves as before', () => {
  const cases: [CooldownKind, number, boolean][] = [
    ['auth', 2, true], ['rate-limit', 2, true], ['auth', 5, true],
    ['auth', 1, false], ['rate-limit', 1, false], ['auth', 0, false],
    ['transient', 2, false], ['unreachable', 2, false], ['other', 2, false],
  ];
  it.each(cases)('%s with %i keys → %s', (kind, n, want) => {
    expect(coolsKeyAlone(kind, n)).toBe(want);
  });
});

describe('key lists as stored', () => {
  it.each([
    { given: [], want: [] },
    { given: ['  sk-a  ', '', 'sk-b', '   '], want: ['sk-a', 'sk-b'] },
    { given: ['sk-a', 'sk-b', 'sk-a'], want: ['sk-a', 'sk-b'] },
  ])('normalizeKeyList($given)', ({ given, want }) => {
    expect(normalizeKeyList(given)).toEqual(want);
  });

  it('keyListProblem names what is wrong', () => {
    expect(keyListProblem(['sk-a', 'sk-b'])).toBeNull();
    expect(keyListProblem(Array.from({ length: 101 }, (_, i) => `k${i}`))).toMatch(/at most 100/);
    expect(keyListProblem(['ok', 'x'.repeat(8193)])).toMatch(/key 2 is too long/);
    expect(keyListProblem(['a\nb'])).toMatch(/key 1 must not contain line breaks/);
  });
});

// ---- the registry's key pools ----

const key = (id: number, over: Partial<ProviderKey> = {}): ProviderKey => ({ id, apiKey: `sk-key-${id}-0123456789`, cooldownUntil: null, lastError: null, ...over });
const provider = (id: number, keys: ProviderKey[]): Provider => ({
  id, name: `p${id}`, baseUrl: 'http://127.0.0.1:1', apiKey: keys[0]?.apiKey ?? '', keys, format: 'anthropic', enabled: true, cooldownSeconds: null, options: {}, createdAt: 0,
});
const member = (id: number, providerId: number, over: Partial<Member> = {}): Member => ({
  id, pool: 'normal', providerId, model: `m${id}`, enabled: true, weight: 1, cooldownUntil: null, lastError: null, createdAt: 0, ...over,
});

describe('Registry key pools', () => {
  it('pickKey takes the keys in turn, skipping cooling ones; a provider without keys has none', () => {
    const r = new Registry();
    r.load([provider(1, [key(11), key(12), key(13)]), provider(2, [])], [member(1, 1)]);
    expect([0, 1, 2, 3].map(() => r.pickKey(1, now)!.id)).toEqual([11, 12, 13, 11]);
    r.coolKey(12, { until: now + 60_000, lastError: '429', kind: 'rate-limit', failures: 1 });
    expect([0, 1, 2, 3].map(() => r.pickKey(1, now)!.id)).toEqual([13, 11, 13, 11]);
    expect(r.pickKey(2, now)).toBeNull();
  });

  it('a provider object without `keys` (built outside the store) has its apiKey as its one key', () => {
    const r = new Registry();
    const p: Provider = { ...provider(1, []), apiKey: 'sk-only-0123456789', keys: undefined };
    r.load([p], [member(1, 1)]);
    expect(r.pickKey(1, now)!.apiKey).toBe('sk-only-0123456789');
  });

  it('the member is cooling only while every key is; its cooldown is the first key to come back, with that failure’s reason', () => {
    const r = new Registry();
    r.load([provider(1, [key(11), key(12)])], [member(1, 1)]);
    const m = r.member(1)!;
    r.coolKey(11, { until: now + 60_000, lastError: 'HTTP 429: slow down', kind: 'rate-limit', failures: 1, at: now });
    expect(r.state(m, now)).toBe('ready');
    expect(r.next('normal', now, new Set())).toBe(m);
    r.coolKey(12, { until: now + 30_000, lastError: 'HTTP 401: revoked', kind: 'auth', failures: 1, at: now + 1 });
    expect(r.state(m, now)).toBe('cooling');
    expect(r.next('normal', now, new Set())).toBeNull();
    expect(r.cooldownOf(m, now)).toEqual({ until: now + 30_000, kind: 'auth', lastError: 'HTTP 401: revoked', byKeys: true });
    expect(r.soonestReady('normal', now)).toBe(now + 30_000);
    // the first key back makes the member ready
    expect(r.state(m, now + 30_001)).toBe('ready');
    // the member's own, longer cooldown wins while it runs
    r.cool(1, { until: now + 90_000, lastError: 'HTTP 503', kind: 'transient', failures: 1 });
    expect(r.cooldownOf(m, now)).toMatchObject({ until: now + 90_000, kind: 'transient', lastError: 'HTTP 503', byKeys: false });
  });

  it('no probe is taken while every key cools (there is no key to probe with)', () => {
    const r = new Registry();
    r.load([provider(1, [key(11), key(12)])], [member(1, 1)]);
    r.cool(1, { until: now + 10_000, lastError: 'HTTP 503', kind: 'transient', failures: 1 });
    r.coolKey(11, { until: now + 60_000, lastError: '429', kind: 'rate-limit' });
    r.coolKey(12, { until: now + 60_000, lastError: '429', kind: 'rate-limit' });
    expect(r.takeProbe('normal', now, new Set())).toBeNull();
    r.resetKey(12);
    const probe = r.takeProbe('normal', now, new Set());
    expect(probe?.member.id).toBe(1);
  });

  it('a key’s cooldown is never shortened; a reset clears it and its count', () => {
    const r = new Registry();
    r.load([provider(1, [key(11), key(12)])], [member(1, 1)]);
    r.coolKey(11, { until: now + 60_000, lastError: 'a', kind: 'rate-limit', failures: 1 });
    r.coolKey(11, { until: now + 10_000, lastError: 'b', kind: 'auth', failures: 1 });
    expect(r.key(11)).toMatchObject({ cooldownUntil: now + 60_000, cooldownKind: 'rate-limit', lastError: 'b', failures: 1 });
    r.resetKey(11);
    expect(r.key(11)).toMatchObject({ cooldownUntil: null, cooldownKind: null, failures: 0, lastError: 'b' });
  });

  it('a reload keeps the state known here, takes a later stored end, and never brings back an end a reset cleared', () => {
    const r = new Registry();
    r.load([provider(1, [key(11), key(12), key(13)])], [member(1, 1)]);
    r.coolKey(11, { until: now + 60_000, lastError: 'mem', kind: 'rate-limit', failures: 2 });
    r.coolKey(12, { until: now + 60_000, lastError: 'mem', kind: 'auth', failures: 1 });
    r.coolKey(13, { until: now + 60_000, lastError: 'mem', kind: 'auth', failures: 1 });
    r.resetKey(13);
    r.load([provider(1, [
      key(11, { cooldownUntil: now + 60_000, lastError: 'db' }), // what was written for it
      key(12, { cooldownUntil: now + 99_000, lastError: 'db' }), // another replica, later
      key(13, { cooldownUntil: now + 60_000, lastError: 'stale' }), // the row the reset clears
    ])], [member(1, 1)]);
    expect(r.key(11)).toMatchObject({ cooldownUntil: now + 60_000, cooldownKind: 'rate-limit', lastError: 'mem', failures: 2 });
    expect(r.key(12)).toMatchObject({ cooldownUntil: now + 99_000, cooldownKind: 'auth', lastError: 'db', failures: 1 });
    expect(r.key(13)!.cooldownUntil).toBeNull();
    // a key removed from the list goes; the rotation goes on over the keys left
    r.load([provider(1, [key(11), key(12)])], [member(1, 1)]);
    expect(r.key(13)).toBeUndefined();
    expect(r.keysOf(1).map((k) => k.id)).toEqual([11, 12]);
  });
});
