import { describe, expect, it } from 'vitest';
import { Registry } from '../../../src/routing/registry.js';
import type { Member, Provider } from '../../../src/store/repo.js';
import type { PoolName } from '../../../src/routing/pools.js';

const now = Date.parse('2026-11-26T12:00:00Z');

const provider = (id: number, over: Partial<Provider> = {}): Provider => ({
  id, name: `p${id}`, baseUrl: 'http://127.0.0.1:1', apiKey: 'k', format: 'anthropic', enabled: true, cooldownSeconds: null, options: {}, createdAt: 0, ...over,
});
const member = (id: number, providerId: number, pool: PoolName = 'normal', over: Partial<Member> = {}): Member => ({
  id, pool, providerId, model: `m${id}`, enabled: true, weight: 1, cooldownUntil: null, lastError: null, createdAt: 0, ...over,
});

function table(members: Member[], providers = [provider(1), provider(2)]): Registry {
  const r = new Registry();
  r.load(providers, members);
  return r;
}

describe('Registry cooldowns', () => {
  it('never shortens a running cooldown (a later notice wins, an earlier one only updates the reason)', () => {
    const r = table([member(1, 1)]);
    r.cool(1, { until: now + 60_000, lastError: 'a', kind: 'rate-limit', failures: 1 });
    r.cool(1, { until: now + 10_000, lastError: 'b', kind: 'transient', failures: 1 });
    expect(r.member(1)).toMatchObject({ cooldownUntil: now + 60_000, cooldownKind: 'rate-limit', lastError: 'b', failures: 1 });
    r.cool(1, { until: now + 90_000, lastError: 'c', kind: 'transient', failures: 3 });
    expect(r.member(1)).toMatchObject({ cooldownUntil: now + 90_000, cooldownKind: 'transient', failures: 3 });
  });

  it('the same end learnt again (database first, then Redis) gains its kind', () => {
    const r = table([member(1, 1, 'normal', { cooldownUntil: now + 60_000, lastError: 'db' })]);
    expect(r.member(1)!.cooldownKind).toBeNull();
    r.cool(1, { until: now + 60_000, lastError: 'redis', kind: 'transient', failures: 2 });
    expect(r.member(1)).toMatchObject({ cooldownUntil: now + 60_000, cooldownKind: 'transient', failures: 2 });
  });

  it('reset clears the cooldown, its kind and the count; clearFailures only the count', () => {
    const r = table([member(1, 1)]);
    r.cool(1, { until: now + 60_000, lastError: 'x', kind: 'transient', failures: 2 });
    r.clearFailures(1);
    expect(r.member(1)).toMatchObject({ cooldownUntil: now + 60_000, failures: 0 });
    r.cool(1, { until: now + 90_000, lastError: 'x', kind: 'transient', failures: 2 });
    r.reset(1);
    expect(r.member(1)).toMatchObject({ cooldownUntil: null, cooldownKind: null, failures: 0, lastError: 'x' });
  });

  it('a reload keeps the count, and a cooldown known in memory unless the stored one ends later (whose end wins, the kind known here staying)', () => {
    const r = table([member(1, 1), member(2, 1)]);
    r.cool(1, { until: now + 60_000, lastError: 'mem', kind: 'transient', failures: 2 });
    r.cool(2, { until: now + 60_000, lastError: 'mem', kind: 'transient', failures: 1 });
    // the database holds what was written for 1, and a later end for 2 (another replica, no Redis)
    r.load([provider(1), provider(2)], [member(1, 1, 'normal', { cooldownUntil: now + 60_000, lastError: 'db' }), member(2, 1, 'normal', { cooldownUntil: now + 99_000, lastError: 'db' })], r.beginRead());
    expect(r.member(1)).toMatchObject({ cooldownUntil: now + 60_000, cooldownKind: 'transient', lastError: 'mem', failures: 2 });
    expect(r.member(2)).toMatchObject({ cooldownUntil: now + 99_000, cooldownKind: 'transient', lastError: 'db', failures: 1 });
  });

  describe('a reload racing a reset or a fresh cooldown (memory wins; a stored row older than a reset never comes back)', () => {
    const stale = (until: number) => [member(1, 1, 'normal', { cooldownUntil: until, lastError: 'stale row' })];

    it('read before the reset was written: the stored cooldown stays cleared', () => {
      const r = table(stale(now + 120_000));
      r.cool(1, { until: now + 120_000, lastError: 'x', kind: 'transient', failures: 2, at: now });
      const read = r.beginRead(); // the reload reads the old row…
      r.reset(1); // …a probe succeeds meanwhile; its write of the cleared row is on its way
      const written = r.storing(1);
      r.load([provider(1), provider(2)], stale(now + 120_000), read);
      expect(r.member(1)).toMatchObject({ cooldownUntil: null, cooldownKind: null, failures: 0 });
      // a read begun before the write settled is just as old
      const read2 = r.beginRead();
      written();
      r.load([provider(1), provider(2)], stale(now + 120_000), read2);
      expect(r.member(1)!.cooldownUntil).toBeNull();
      // a read begun after it sees the row as it is now: a cooldown stored since (another replica) is taken
      r.load([provider(1), provider(2)], stale(now + 30_000), r.beginRead());
      expect(r.member(1)!.cooldownUntil).toBe(now + 30_000);
    });

    it('a fresh, shorter cooldown after the reset: it stays, with its kind, not the stale longer row', () => {
      const r = table(stale(now + 120_000));
      r.cool(1, { until: now + 120_000, lastError: 'x', kind: 'transient', failures: 2, at: now });
      r.reset(1);
      const written = r.storing(1);
      r.cool(1, { until: now + 60_000, lastError: 'fresh', kind: 'rate-limit', failures: 1, at: now + 1 });
      r.load([provider(1), provider(2)], stale(now + 120_000), r.beginRead());
      expect(r.member(1)).toMatchObject({ cooldownUntil: now + 60_000, cooldownKind: 'rate-limit', lastError: 'fresh', failures: 1 });
      written();
    });

    it('the reset\'s write failed: stored ends up to the one it cleared stay ignored', () => {
      const r = table(stale(now + 120_000));
      r.cool(1, { until: now + 120_000, lastError: 'x', kind: 'transient', failures: 2, at: now });
      r.reset(1);
      r.storing(1)(false);
      r.load([provider(1), provider(2)], stale(now + 120_000), r.beginRead());
      expect(r.member(1)!.cooldownUntil).toBeNull();
      r.load([provider(1), provider(2)], stale(now + 150_000), r.beginRead()); // a later one is news
      expect(r.member(1)!.cooldownUntil).toBe(now + 150_000);
    });

    it('a reset heard from another replica (whose write may land later): stored ends up to the cleared one are ignored', () => {
      const r = table(stale(now + 120_000));
      r.cool(1, { until: now + 120_000, lastError: 'x', kind: 'transient', failures: 2, at: now });
      r.reset(1, { at: now + 5, remote: true });
      r.load([provider(1), provider(2)], stale(now + 120_000), r.beginRead());
      expect(r.member(1)!.cooldownUntil).toBeNull();
    });
  });

  it('a reset older than the cooldown\'s latest failure leaves it (a reset delivered late, or racing a failure)', () => {
    const r = table([member(1, 1)]);
    r.cool(1, { until: now + 60_000, lastError: 'x', kind: 'transient', failures: 1, at: now });
    // a shorter failure absorbed by the running cooldown still makes it newer
    r.cool(1, { until: now + 30_000, lastError: 'y', kind: 'transient', failures: 1, at: now + 10 });
    expect(r.reset(1, { at: now + 5 })).toBeUndefined();
    r.clearFailures(1, now + 5);
    expect(r.member(1)).toMatchObject({ cooldownUntil: now + 60_000, failures: 1, cooledAt: now + 10 });
    expect(r.reset(1, { at: now + 10 })).toBeDefined();
    expect(r.member(1)).toMatchObject({ cooldownUntil: null, failures: 0, cooledAt: null });
  });

  it('providerMembers: every member of a provider, in all pools', () => {
    const r = table([member(1, 1, 'tool'), member(2, 1, 'normal'), member(3, 2, 'normal'), member(4, 1, 'advanced')]);
    expect(r.providerMembers(1).map((m) => m.id).sort()).toEqual([1, 2, 4]);
  });
});

describe('Registry probes', () => {
  const cooled = (r: Registry, id: number, kind: 'transient' | 'unreachable' | 'rate-limit' | 'auth' | 'other', inMs = 60_000) =>
    r.cool(id, { until: now + inMs, lastError: kind, kind, failures: 1 });

  const cases: [string, ('transient' | 'unreachable' | 'rate-limit' | 'auth' | 'other' | null)[], number | null][] = [
    // kinds of members 1, 2 (null: ready) → the member probed
    ['a transient failure may be probed', ['transient'], 1],
    ['an unreachable host may be probed', ['unreachable'], 1],
    ['a 429 is never probed', ['rate-limit'], null],
    ['a refused key is never probed', ['auth'], null],
    ['a 404 is never probed', ['other'], null],
    ['the probeable one among others', ['rate-limit', 'transient'], 2],
  ];
  for (const [name, kinds, expected] of cases) {
    it(name, () => {
      const r = table(kinds.map((_, i) => member(i + 1, i + 1)));
      kinds.forEach((k, i) => { if (k) cooled(r, i + 1, k); });
      expect(r.takeProbe('normal', now, new Set())?.member.id ?? null).toBe(expected);
    });
  }

  it('a probe released twice (at its first content, then when its stream ends) never frees a later probe\'s slot', () => {
    const r = table([member(1, 1)]);
    cooled(r, 1, 'transient');
    const first = r.takeProbe('normal', now, new Set())!;
    r.releaseProbe(first); // its stream's first content: the member may be probed again
    const second = r.takeProbe('normal', now, new Set())!;
    expect(second).not.toBeNull();
    r.releaseProbe(first); // the first stream ends
    expect(r.probing(1)).toBe(true); // the second probe still holds the slot
    expect(r.takeProbe('normal', now, new Set())).toBeNull();
    r.releaseProbe(second);
    expect(r.probing(1)).toBe(false);
  });

  it('one probe at a time per member; the slot frees on release (idempotent)', () => {
    const r = table([member(1, 1)]);
    cooled(r, 1, 'transient');
    const p = r.takeProbe('normal', now, new Set())!;
    expect(p.member.id).toBe(1);
    expect(r.probing(1)).toBe(true);
    expect(r.probingIn('normal')).toBe(true);
    expect(r.takeProbe('normal', now, new Set())).toBeNull();
    r.releaseProbe(p);
    r.releaseProbe(p);
    expect(r.probing(1)).toBe(false);
    expect(r.takeProbe('normal', now, new Set())?.member.id).toBe(1);
  });

  it('the member whose cooldown ends first; members tried by this request, disabled or refused by accept are skipped', () => {
    const r = table([member(1, 1), member(2, 2), member(3, 2, 'normal', { enabled: false })]);
    cooled(r, 1, 'transient', 90_000);
    cooled(r, 2, 'transient', 30_000);
    cooled(r, 3, 'transient', 10_000);
    expect(r.takeProbe('normal', now, new Set())?.member.id).toBe(2);
    expect(r.takeProbe('normal', now, new Set([1]))).toBeNull();
    expect(r.takeProbe('normal', now, new Set(), (m) => m.id !== 1)).toBeNull();
  });

  it('an unreachable host is probed through one member at a time for the whole provider', () => {
    const r = table([member(1, 1, 'normal'), member(2, 1, 'tool'), member(3, 1, 'normal')]);
    for (const id of [1, 2, 3]) cooled(r, id, 'unreachable');
    const p = r.takeProbe('normal', now, new Set())!;
    expect(r.takeProbe('tool', now, new Set())).toBeNull();
    expect(r.takeProbe('normal', now, new Set())).toBeNull();
    r.releaseProbe(p);
    expect(r.takeProbe('tool', now, new Set())?.member.id).toBe(2);
  });

  it('slots announced by another replica are taken until freed or lapsed; they count as probing', () => {
    const r = table([member(1, 1), member(2, 2, 'tool')]);
    cooled(r, 1, 'transient');
    const told: [number, boolean][] = [];
    r.onProbe = (p, taken) => told.push([p.member.id, taken]);
    r.remoteProbe(1, ['m1'], 15_000, now);
    expect(r.takeProbe('normal', now, new Set())).toBeNull();
    expect(r.probing(1, now)).toBe(true);
    expect(r.probingIn('normal', now)).toBe(true);
    expect(r.probingIn('tool', now)).toBe(false);
    expect(r.probing(1, now + 15_000)).toBe(false);
    expect(r.takeProbe('normal', now + 15_000, new Set())?.member.id).toBe(1); // lapsed
    expect(told).toEqual([[1, true]]);
    r.releaseProbe(r.takeProbe('normal', now + 15_000, new Set()) ?? { member: r.member(1)!, slots: ['m1'], until: 0 });
    expect(told).toEqual([[1, true], [1, false]]);
    r.remoteProbe(1, ['m1'], 15_000, now + 20_000);
    r.remoteProbeEnd(1, ['m1']);
    expect(r.takeProbe('normal', now + 20_000, new Set())?.member.id).toBe(1);
  });

  it('a member that is ready or whose cooldown has ended is not a probe', () => {
    const r = table([member(1, 1)]);
    cooled(r, 1, 'transient', 10_000);
    expect(r.takeProbe('normal', now + 10_000, new Set())).toBeNull();
  });
});
