/**
 * Two-level rotation inside one pool. Pure state, no clocks and no I/O: the caller hands in the
 * members that are ready right now.
 *
 * Level 1: providers take turns — strict round-robin, in provider-id order, over the providers
 *          that have at least one ready member (a provider with none drops out of its turn).
 * Level 2: the chosen provider's ready members take turns by smooth weighted round-robin
 *          (nginx's algorithm: weights 2:1 give a, b, a, a, b, a … never a burst).
 */
export interface RotationCandidate {
  id: number;
  providerId: number;
  weight: number;
}

export class Rotation {
  private lastProviderId: number | null = null;
  private readonly current = new Map<number, number>();

  /** Picks the next member from `ready` (any order) and advances the rotation; null if empty. */
  pick<T extends RotationCandidate>(ready: readonly T[]): T | null {
    if (ready.length === 0) return null;
    const providerId = this.nextProvider(ready);
    let total = 0;
    let best: T | null = null;
    let bestWeight = -Infinity;
    for (const c of ready) {
      if (c.providerId !== providerId) continue;
      const w = Math.max(c.weight, 0);
      total += w;
      const cw = (this.current.get(c.id) ?? 0) + w;
      this.current.set(c.id, cw);
      if (cw > bestWeight || (cw === bestWeight && best !== null && c.id < best.id)) {
        best = c;
        bestWeight = cw;
      }
    }
    if (!best) return null;
    this.current.set(best.id, bestWeight - total);
    this.lastProviderId = providerId;
    return best;
  }

  /**
   * The same choice as `pick` over the members of `groups` that `usable` takes, visiting providers
   * in their turn and stopping at the first with a usable member: the cost is that of one
   * provider's members, however many providers the pool holds. `groups`: by provider id, ascending.
   */
  pickFrom<T extends RotationCandidate>(groups: readonly ProviderGroup<T>[], usable: (c: T) => boolean): T | null {
    const n = groups.length;
    if (n === 0) return null;
    const last = this.lastProviderId;
    let start = 0;
    if (last !== null) {
      while (start < n && groups[start]!.providerId <= last) start++;
      if (start === n) start = 0;
    }
    const ready: T[] = [];
    for (let k = 0; k < n; k++) {
      const g = groups[(start + k) % n]!;
      for (const c of g.members) if (usable(c)) ready.push(c);
      if (ready.length > 0) return this.pick(ready);
    }
    return null;
  }

  /** Forgets a member's weighted position (it was removed). */
  forget(memberId: number): void {
    this.current.delete(memberId);
  }

  private nextProvider(ready: readonly RotationCandidate[]): number {
    let lowest = Infinity;
    let next = Infinity;
    const last = this.lastProviderId;
    for (const c of ready) {
      if (c.providerId < lowest) lowest = c.providerId;
      if (last !== null && c.providerId > last && c.providerId < next) next = c.providerId;
    }
    return next === Infinity ? lowest : next;
  }
}

/** One provider's members in a pool. */
export interface ProviderGroup<T> {
  providerId: number;
  members: T[];
}

/** Members sorted by provider id → one group per provider, in that order. */
export function groupByProvider<T extends RotationCandidate>(sorted: readonly T[]): ProviderGroup<T>[] {
  const out: ProviderGroup<T>[] = [];
  for (const m of sorted) {
    const g = out[out.length - 1];
    if (g && g.providerId === m.providerId) g.members.push(m);
    else out.push({ providerId: m.providerId, members: [m] });
  }
  return out;
}

/**
 * The same two levels, driven by a shared ticket number instead of local state, so that several
 * gateway replicas drawing tickets from one counter (Redis INCR) rotate as one:
 * ticket n goes to provider (n mod P) of the ready providers in id order, and that provider's
 * k-th turn (k = ⌊n / P⌋) goes to the k-th entry of its smooth weighted round-robin sequence.
 */
export function pickByTicket<T extends RotationCandidate>(ready: readonly T[], ticket: number): T | null {
  if (ready.length === 0) return null;
  const providers = [...new Set(ready.map((c) => c.providerId))].sort((a, b) => a - b);
  const n = Math.max(0, Math.floor(ticket));
  const providerId = providers[n % providers.length];
  const turn = Math.floor(n / providers.length);
  const members = ready.filter((c) => c.providerId === providerId).sort((a, b) => a.id - b.id);
  const seq = smoothSequence(members.map((c) => Math.max(1, c.weight)));
  return members[seq[turn % seq.length]];
}

const sequenceCache = new Map<string, number[]>();

/** One full cycle of smooth weighted round-robin over weights (indices into the list). */
export function smoothSequence(weights: number[]): number[] {
  const key = weights.join(',');
  const hit = sequenceCache.get(key);
  if (hit) return hit;
  const total = weights.reduce((a, b) => a + b, 0);
  let seq: number[];
  if (total > 10_000) {
    // Very large weights: proportional blocks instead of a (huge) interleaved cycle.
    seq = [];
    const scale = 10_000 / total;
    weights.forEach((w, i) => { for (let k = 0; k < Math.max(1, Math.round(w * scale)); k++) seq.push(i); });
  } else {
    const cur = weights.map(() => 0);
    seq = [];
    for (let step = 0; step < total; step++) {
      let best = 0;
      for (let i = 0; i < weights.length; i++) {
        cur[i] += weights[i];
        if (cur[i] > cur[best]) best = i;
      }
      cur[best] -= total;
      seq.push(best);
    }
  }
  if (sequenceCache.size > 1000) sequenceCache.clear();
  sequenceCache.set(key, seq);
  return seq;
}
