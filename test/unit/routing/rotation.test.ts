import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rotation, groupByProvider, pickByTicket, smoothSequence, type RotationCandidate } from '../../../src/routing/rotation.js';

const m = (id: number, providerId: number, weight = 1): RotationCandidate => ({ id, providerId, weight });

function run(r: Rotation, ready: RotationCandidate[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.pick(ready)!.id);
  return out;
}

describe('two-level rotation', () => {
  it('2 providers × 2 models: strict alternation of providers, 2/2/2/2 over models', () => {
    const members = [m(1, 10), m(2, 10), m(3, 20), m(4, 20)];
    const picks = run(new Rotation(), members, 8);
    const provider = (id: number) => members.find((x) => x.id === id)!.providerId;
    expect(picks.map(provider)).toEqual([10, 20, 10, 20, 10, 20, 10, 20]);
    const counts = picks.reduce<Record<number, number>>((a, id) => ((a[id] = (a[id] ?? 0) + 1), a), {});
    expect(counts).toEqual({ 1: 2, 2: 2, 3: 2, 4: 2 });
    expect(picks).toEqual([1, 3, 2, 4, 1, 3, 2, 4]);
  });

  it('providers take turns even when one has more models', () => {
    const members = [m(1, 1), m(2, 1), m(3, 1), m(4, 2)];
    const picks = run(new Rotation(), members, 6);
    expect(picks).toEqual([1, 4, 2, 4, 3, 4]);
  });

  it('weights inside a provider: 3:1 gives 3 of 4, spread out (smooth)', () => {
    const members = [m(1, 1, 3), m(2, 1, 1)];
    const picks = run(new Rotation(), members, 8);
    expect(picks.filter((x) => x === 1).length).toBe(6);
    expect(picks.filter((x) => x === 2).length).toBe(2);
    expect(picks.slice(0, 4)).toEqual([1, 1, 2, 1]);
  });

  it('weights 2:1 never pick the heavy member three times in a row', () => {
    const picks = run(new Rotation(), [m(1, 1, 2), m(2, 1, 1)], 9);
    expect(picks.join('')).not.toContain('111');
    expect(picks.filter((x) => x === 1).length).toBe(6);
  });

  it('a provider with no ready member drops out of its turn', () => {
    const r = new Rotation();
    const all = [m(1, 1), m(2, 2), m(3, 3)];
    expect(run(r, all, 3)).toEqual([1, 2, 3]);
    // provider 2 cooling: the caller leaves it out of the ready list
    const without2 = [m(1, 1), m(3, 3)];
    expect(run(r, without2, 4)).toEqual([1, 3, 1, 3]);
    // provider 2 back: it takes its turn again in id order
    expect(run(r, all, 3)).toEqual([1, 2, 3]);
  });

  it('disabled or cooling members are skipped by leaving them out; the rest keep rotating', () => {
    const r = new Rotation();
    expect(run(r, [m(1, 1), m(2, 1)], 2)).toEqual([1, 2]);
    expect(run(r, [m(2, 1)], 3)).toEqual([2, 2, 2]);
  });

  it('nothing ready: null', () => {
    expect(new Rotation().pick([])).toBeNull();
  });

  it('a single provider and model always gives that member', () => {
    expect(run(new Rotation(), [m(7, 3)], 3)).toEqual([7, 7, 7]);
  });
});

describe('ticket rotation (shared between replicas)', () => {
  it('2 providers × 2 models: tickets 0..7 alternate providers and give each model twice', () => {
    const members = [m(1, 10), m(2, 10), m(3, 20), m(4, 20)];
    const picks = Array.from({ length: 8 }, (_, n) => pickByTicket(members, n)!.id);
    expect(picks).toEqual([1, 3, 2, 4, 1, 3, 2, 4]);
  });
  it('weights inside a provider follow the smooth sequence', () => {
    expect(smoothSequence([3, 1])).toEqual([0, 0, 1, 0]);
    expect(smoothSequence([2, 1])).toEqual([0, 1, 0]);
    const members = [m(1, 1, 3), m(2, 1, 1)];
    const picks = Array.from({ length: 8 }, (_, n) => pickByTicket(members, n)!.id);
    expect(picks.filter((x) => x === 1).length).toBe(6);
  });
  it('a provider with nothing ready drops out: the rest share the tickets', () => {
    const picks = Array.from({ length: 4 }, (_, n) => pickByTicket([m(1, 1), m(3, 3)], n)!.providerId);
    expect(picks).toEqual([1, 3, 1, 3]);
  });
  it('nothing ready: null', () => expect(pickByTicket([], 5)).toBeNull());
});

describe('pickFrom: the rotation over provider groups, visiting only what it needs', () => {
  it('property: chooses exactly what pick() chooses over the flat list of usable members', () => {
    const member = fc.record({ providerId: fc.integer({ min: 1, max: 6 }), weight: fc.integer({ min: 0, max: 4 }) });
    fc.assert(
      fc.property(fc.array(member, { minLength: 0, maxLength: 14 }), fc.array(fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }), { minLength: 1, maxLength: 30 }), (specs, rounds) => {
        const members = specs.map((s, i) => ({ id: i + 1, ...s })).sort((a, b) => a.providerId - b.providerId || a.id - b.id);
        const groups = groupByProvider(members);
        const flat = new Rotation();
        const grouped = new Rotation();
        for (const up of rounds) {
          const usable = (m: { id: number }) => up[m.id - 1]!;
          const a = flat.pick(members.filter(usable));
          const b = grouped.pickFrom(groups, usable);
          expect(b?.id ?? null).toBe(a?.id ?? null);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('asks about one provider\'s members when its first is usable, however many providers there are', () => {
    const members = Array.from({ length: 500 }, (_, i) => ({ id: i + 1, providerId: Math.floor(i / 10) + 1, weight: 1 }));
    const groups = groupByProvider(members);
    const r = new Rotation();
    let asked = 0;
    for (let i = 0; i < 100; i++) r.pickFrom(groups, () => (asked++, true));
    expect(asked).toBe(100 * 10);
  });
});
