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
