import type { Provider, Member } from '../store/repo.js';
import { POOL_NAMES, type PoolName } from './pools.js';
import { Rotation, pickByTicket } from './rotation.js';
import { isProbeable, type CooldownKind } from './cooldown.js';

export type MemberState = 'ready' | 'cooling' | 'disabled';

/** A pool member with its provider attached, as the hot path sees it. */
export interface LiveMember extends Member {
  provider: Provider;
  /** Failures in a row (0 after a success); sets how long the next failure cools it. In memory. */
  failures: number;
  /** Why the running cooldown was set; null when not known (read back from the database). */
  cooldownKind: CooldownKind | null;
}

/** What a cooldown notice carries: its end, its reason, and (when known) its kind and count. */
export interface CooldownUpdate {
  until: number;
  lastError: string;
  kind?: CooldownKind | null;
  failures?: number;
}

/** A probe slot held by one request: released exactly once, whatever happens to the request. */
export interface Probe {
  member: LiveMember;
  /** The slots held: the member's own, and its provider's while the host is unreachable. */
  slots: string[];
  /** The end of the cooldown being probed: a success ends that cooldown only, not a newer one. */
  until: number;
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
  /** Probe slots taken: slot → the member being probed through it. */
  private readonly probes = new Map<string, number>();

  /**
   * Replaces the table. Cooldowns already known in memory win over stored ones ending no later
   * (keeping their kind); failure counts are carried over.
   */
  load(providers: Provider[], members: Member[]): void {
    const previous = this.membersById;
    this.providersById = new Map(providers.map((p) => [p.id, p]));
    this.membersById = new Map();
    const byPool: Record<PoolName, LiveMember[]> = { tool: [], normal: [], advanced: [] };
    for (const m of members) {
      const provider = this.providersById.get(m.providerId);
      if (!provider || !byPool[m.pool]) continue;
      const live: LiveMember = { ...m, provider, failures: 0, cooldownKind: null };
      const prev = previous.get(m.id);
      if (prev) {
        live.failures = prev.failures;
        if (prev.cooldownUntil !== null && prev.cooldownUntil >= (live.cooldownUntil ?? 0)) {
          live.cooldownUntil = prev.cooldownUntil;
          live.lastError = prev.lastError;
          live.cooldownKind = prev.cooldownKind;
        }
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

  /**
   * When nothing in `pool` is ready: a cooling member that may take a probe request (cooled by a
   * transient failure or an unreachable host, not tried yet by this request, its probe slot free),
   * the one whose cooldown ends first. Its slot is taken: release it with `releaseProbe`.
   * A host found unreachable is probed through one member at a time for the whole provider.
   */
  takeProbe(pool: PoolName, now: number, exclude: ReadonlySet<number>, accept?: (m: LiveMember) => boolean): Probe | null {
    let best: LiveMember | null = null;
    for (const m of this.byPool[pool]) {
      if (exclude.has(m.id) || this.state(m, now) !== 'cooling' || !isProbeable(m.cooldownKind)) continue;
      if (probeSlots(m).some((s) => this.probes.has(s)) || (accept && !accept(m))) continue;
      if (!best || m.cooldownUntil! < best.cooldownUntil! || (m.cooldownUntil === best.cooldownUntil && m.id < best.id)) best = m;
    }
    if (!best) return null;
    const slots = probeSlots(best);
    for (const s of slots) this.probes.set(s, best.id);
    return { member: best, slots, until: best.cooldownUntil! };
  }

  /** Frees a probe's slots (idempotent). */
  releaseProbe(probe: Probe): void {
    for (const s of probe.slots) if (this.probes.get(s) === probe.member.id) this.probes.delete(s);
  }

  /** Is a probe request running on this member now? */
  probing(memberId: number): boolean {
    for (const id of this.probes.values()) if (id === memberId) return true;
    return false;
  }

  /** Is a probe request running on some member of `pool`? */
  probingIn(pool: PoolName): boolean {
    for (const id of this.probes.values()) if (this.membersById.get(id)?.pool === pool) return true;
    return false;
  }

  /** Every member of a provider, in all pools. */
  providerMembers(providerId: number): LiveMember[] {
    const out: LiveMember[] = [];
    for (const m of this.membersById.values()) if (m.providerId === providerId) out.push(m);
    return out;
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

  /**
   * Marks a member as cooling until `c.until` (ms). Never shortens: a cooldown ending later stays,
   * with its kind. The reason always becomes the last error; the failure count only goes up here.
   */
  cool(memberId: number, c: CooldownUpdate): LiveMember | undefined {
    const m = this.membersById.get(memberId);
    if (m) {
      if (m.cooldownUntil === null || c.until > m.cooldownUntil) {
        m.cooldownUntil = c.until;
        m.cooldownKind = c.kind ?? null;
      } else if (c.until === m.cooldownUntil && m.cooldownKind === null) {
        m.cooldownKind = c.kind ?? null; // the same cooldown read back from the database, its kind from Redis
      }
      m.lastError = c.lastError;
      if (c.failures !== undefined && c.failures > m.failures) m.failures = c.failures;
    }
    return m;
  }

  /** Clears a member's cooldown and its failure count (its last error stays as history). */
  reset(memberId: number): LiveMember | undefined {
    const m = this.membersById.get(memberId);
    if (m) {
      m.cooldownUntil = null;
      m.cooldownKind = null;
      m.failures = 0;
    }
    return m;
  }

  /** A success elsewhere: the member's failures in a row start again from 0 (its cooldown stays). */
  clearFailures(memberId: number): void {
    const m = this.membersById.get(memberId);
    if (m) m.failures = 0;
  }
}

/** A member's probe slots: always its own, and its provider's while the provider's host is
 *  unreachable (one probe at a time per member, and per unreachable host). */
function probeSlots(m: LiveMember): string[] {
  return m.cooldownKind === 'unreachable' ? [`m${m.id}`, `p${m.providerId}`] : [`m${m.id}`];
}
