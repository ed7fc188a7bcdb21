import type { Provider, Member } from '../store/repo.js';
import { POOL_NAMES, type PoolName } from './pools.js';
import { Rotation, pickByTicket } from './rotation.js';

export type MemberState = 'ready' | 'cooling' | 'disabled';

/** A pool member with its provider attached, as the hot path sees it. */
export interface LiveMember extends Member {
  provider: Provider;
}

/**
 * The routing table in memory: providers, pool members and their cooldowns. The hot path reads
 * only this; admin writes rebuild it from the database (keeping cooldowns known here).
 */
export class Registry {
  private providersById = new Map<number, Provider>();
  private membersById = new Map<number, LiveMember>();
  private byPool: Record<PoolName, LiveMember[]> = { tool: [], normal: [], advanced: [] };
  private readonly rotations: Record<PoolName, Rotation> = {
    tool: new Rotation(),
    normal: new Rotation(),
    advanced: new Rotation(),
  };

  /** Replaces the table. Cooldowns already known in memory win over older stored ones. */
  load(providers: Provider[], members: Member[]): void {
    const previous = this.membersById;
    this.providersById = new Map(providers.map((p) => [p.id, p]));
    this.membersById = new Map();
    const byPool: Record<PoolName, LiveMember[]> = { tool: [], normal: [], advanced: [] };
    for (const m of members) {
      const provider = this.providersById.get(m.providerId);
      if (!provider || !byPool[m.pool]) continue;
      const live: LiveMember = { ...m, provider };
      const prev = previous.get(m.id);
      if (prev && (prev.cooldownUntil ?? 0) > (live.cooldownUntil ?? 0)) {
        live.cooldownUntil = prev.cooldownUntil;
        live.lastError = prev.lastError;
      }
      this.membersById.set(m.id, live);
      byPool[m.pool].push(live);
    }
    for (const pool of POOL_NAMES) {
      byPool[pool].sort((a, b) => a.providerId - b.providerId || a.id - b.id);
      for (const old of this.byPool[pool]) if (!this.membersById.has(old.id)) this.rotations[pool].forget(old.id);
    }
    this.byPool = byPool;
  }

  providers(): Provider[] {
    return [...this.providersById.values()];
  }

  provider(id: number): Provider | undefined {
    return this.providersById.get(id);
  }

  member(id: number): LiveMember | undefined {
    return this.membersById.get(id);
  }

  members(pool: PoolName): readonly LiveMember[] {
    return this.byPool[pool];
  }

  state(m: LiveMember, now: number): MemberState {
    if (!m.enabled || !m.provider.enabled) return 'disabled';
    if (m.cooldownUntil !== null && m.cooldownUntil > now) return 'cooling';
    return 'ready';
  }

  /**
   * The next member to try in `pool`, advancing the rotation; skips members in `exclude` and
   * those `accept` refuses. Null when nothing is ready. With a shared `ticket` (several replicas)
   * the ticket decides instead of this replica's own rotation.
   */
  next(pool: PoolName, now: number, exclude: ReadonlySet<number>, accept?: (m: LiveMember) => boolean, ticket?: number | null): LiveMember | null {
    const ready: LiveMember[] = [];
    for (const m of this.byPool[pool]) {
      if (exclude.has(m.id) || this.state(m, now) !== 'ready') continue;
      if (accept && !accept(m)) continue;
      ready.push(m);
    }
    if (ticket !== undefined && ticket !== null) return pickByTicket(ready, ticket);
    return this.rotations[pool].pick(ready);
  }

  /** Some ready member that `accept` takes, without moving the rotation (side calls such as count_tokens). */
  firstReady(pool: PoolName, now: number, accept: (m: LiveMember) => boolean): LiveMember | null {
    for (const m of this.byPool[pool]) if (this.state(m, now) === 'ready' && accept(m)) return m;
    return null;
  }

  /** When the first cooling member of `pool` becomes ready again, or null when none is cooling. */
  soonestReady(pool: PoolName, now: number, accept?: (m: LiveMember) => boolean): number | null {
    let soonest: number | null = null;
    for (const m of this.byPool[pool]) {
      if (!m.enabled || !m.provider.enabled || (accept && !accept(m))) continue;
      if (m.cooldownUntil !== null && m.cooldownUntil > now && (soonest === null || m.cooldownUntil < soonest)) {
        soonest = m.cooldownUntil;
      }
    }
    return soonest;
  }

  /** Marks a member as cooling until `until` (ms) with the reason. */
  cool(memberId: number, until: number, lastError: string): LiveMember | undefined {
    const m = this.membersById.get(memberId);
    if (m) {
      m.cooldownUntil = until;
      m.lastError = lastError;
    }
    return m;
  }

  /** Clears a member's cooldown (its last error stays as history). */
  reset(memberId: number): LiveMember | undefined {
    const m = this.membersById.get(memberId);
    if (m) m.cooldownUntil = null;
    return m;
  }
}
