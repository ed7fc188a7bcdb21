import type { Provider, Member, ProviderKey } from '../store/repo.js';
import { POOL_NAMES, type PoolName } from './pools.js';
import { Rotation, groupByProvider, pickByTicket, type ProviderGroup } from './rotation.js';
import { isProbeable, type CooldownKind } from './cooldown.js';
import { keyCooling, keysCoolingUntil, pickKey, soonestKey } from './keys.js';
import { maskedForm } from '../secrets/redact.js';

export type MemberState = 'ready' | 'cooling' | 'disabled';

/** A pool member with its provider attached, as the hot path sees it. */
export interface LiveMember extends Member {
  provider: Provider;
  /** Failures in a row (0 after a success); sets how long the next failure cools it. In memory. */
  failures: number;
  /** Why the running cooldown was set; null when not known (read back from the database). */
  cooldownKind: CooldownKind | null;
  /**
   * When the latest failure behind the running cooldown happened (ms, the clock of the replica that
   * saw it); null when not known. A reset older than this does not clear the cooldown.
   */
  cooledAt: number | null;
}

/**
 * One key of a provider, as the hot path sees it (CONTRACT "Provider keys"): its own cooldown,
 * kept like a member's (never shortened, failures in a row, the time of the latest failure).
 */
export interface LiveKey {
  /** Its provider_keys row (negative: the one key of a provider stored only in providers.api_key). */
  id: number;
  providerId: number;
  apiKey: string;
  /** How the admin API shows it: at most its last four characters. */
  masked: string;
  unreadable: boolean;
  cooldownUntil: number | null;
  lastError: string | null;
  cooldownKind: CooldownKind | null;
  failures: number;
  cooledAt: number | null;
}

/** What holds a member back, when it is not ready: its own cooldown, or all of its provider's keys. */
export interface EffectiveCooldown {
  until: number | null;
  kind: CooldownKind | null;
  lastError: string | null;
  /** The member cools because every key of its provider is cooling. */
  byKeys: boolean;
}

/** What a cooldown notice carries: its end, its reason, and (when known) its kind, count and time. */
export interface CooldownUpdate {
  until: number;
  lastError: string;
  kind?: CooldownKind | null;
  failures?: number;
  /** When the failure happened (ms). Given, it makes the member's `cooledAt` at least this. */
  at?: number;
}

/** How a reset is applied: `at` when it happened (a cooldown set later stands); `remote`: heard
 *  from another replica, whose write of the cleared row to the database may still be on its way. */
export interface ResetOptions {
  at?: number;
  remote?: boolean;
}

/** A probe slot held by one request: released exactly once, whatever happens to the request. */
export interface Probe {
  member: LiveMember;
  /** The slots held: the member's own, and its provider's while the host is unreachable. */
  slots: string[];
  /** The end of the cooldown being probed: a success ends that cooldown only, not a newer one. */
  until: number;
  /** Released already (its slot may belong to a later probe now). */
  released?: boolean;
}

/**
 * The routing table in memory: providers, pool members and their cooldowns. The hot path reads
 * only this; admin writes rebuild it from the database (keeping cooldowns known here).
 */
export class Registry {
  private providersById = new Map<number, Provider>();
  private membersById = new Map<number, LiveMember>();
  private byPool: Record<PoolName, LiveMember[]> = { tool: [], normal: [], advanced: [] };
  /** The same members grouped by provider, in provider-id order (the rotation's first level). */
  private groups: Record<PoolName, ProviderGroup<LiveMember>[]> = { tool: [], normal: [], advanced: [] };
  private readonly rotations: Record<PoolName, Rotation> = {
    tool: new Rotation(),
    normal: new Rotation(),
    advanced: new Rotation(),
  };
  /** Each provider's keys in order, and where its round-robin stands. */
  private rings = new Map<number, { keys: LiveKey[]; cursor: number }>();
  private keysById = new Map<number, LiveKey>();
  /** Per key: the latest cooldown end a reset cleared; a stored end up to it is older than the reset. */
  private readonly keyResets = new Map<number, number>();
  /** Probe slots taken: slot → the member being probed through it. */
  private readonly probes = new Map<string, number>();
  /** Probe slots other replicas announced: slot → the member and when the announcement lapses (ms). */
  private readonly remoteProbes = new Map<string, { memberId: number; until: number }>();
  /** Told when this process takes (`true`) or frees (`false`) a probe slot: the gateway tells the other replicas. */
  onProbe: ((probe: Probe, taken: boolean) => void) | null = null;
  /** Counts reads of the table (see `beginRead`) and settled writes of resets, in one order. */
  private seq = 0;
  /** Per member: resets still being written to the database, the `seq` when the last one was
   *  written, the end the last reset cleared, and the latest end that stored rows must not bring
   *  back (cleared by another replica's reset, or by a reset here whose write failed). */
  private readonly resets = new Map<number, { writing: number; written: number; cleared: number | null; clearedUntil: number | null }>();

  /**
   * Call before reading the table from the database; hand the number to `load`. It tells which
   * stored cooldowns may be older than a reset made here (see `load`).
   */
  beginRead(): number {
    return ++this.seq;
  }

  /**
   * A reset of `memberId` is being written to the database: until the returned function is called
   * (once the write settled), and for reads begun before that, a stored cooldown of this member is
   * older than the reset and `load` ignores it. Called with `false` (the write failed), stored ends
   * up to the one that reset cleared stay ignored.
   */
  storing(memberId: number): (written?: boolean) => void {
    const r = this.resetState(memberId);
    r.writing++;
    let done = false;
    return (written = true) => {
      if (done) return;
      done = true;
      r.writing--;
      r.written = ++this.seq;
      if (!written) this.ignoreStoredUpTo(r, r.cleared);
    };
  }

  private resetState(memberId: number) {
    let r = this.resets.get(memberId);
    if (!r) this.resets.set(memberId, (r = { writing: 0, written: 0, cleared: null, clearedUntil: null }));
    return r;
  }

  private ignoreStoredUpTo(r: { clearedUntil: number | null }, until: number | null): void {
    if (until !== null && (r.clearedUntil === null || until > r.clearedUntil)) r.clearedUntil = until;
  }

  /**
   * Replaces the table. Memory is authoritative for cooldowns: a stored cooldown is taken only
   * when it ends later than the one known here, and then the kind known here stays. A stored row
   * that may be older than a reset made here is ignored: read (`readSeq` from `beginRead`) before
   * that reset's own write settled, or ending no later than a cooldown another replica's reset
   * cleared. Failure counts are carried over.
   */
  load(providers: Provider[], members: Member[], readSeq?: number): void {
    const previous = this.membersById;
    this.providersById = new Map(providers.map((p) => [p.id, p]));
    this.loadKeys(providers);
    this.membersById = new Map();
    const byPool: Record<PoolName, LiveMember[]> = { tool: [], normal: [], advanced: [] };
    for (const m of members) {
      const provider = this.providersById.get(m.providerId);
      if (!provider || !byPool[m.pool]) continue;
      const live: LiveMember = { ...m, provider, failures: 0, cooldownKind: null, cooledAt: null };
      const prev = previous.get(m.id);
      if (prev) {
        live.failures = prev.failures;
        const r = this.resets.get(m.id);
        const stale = live.cooldownUntil !== null && r !== undefined && (
          (readSeq !== undefined && (r.writing > 0 || readSeq < r.written))
          || (r.clearedUntil !== null && live.cooldownUntil <= r.clearedUntil));
        if (stale || (prev.cooldownUntil !== null && prev.cooldownUntil >= (live.cooldownUntil ?? 0))) {
          // memory wins: its cooldown (or none, after a reset), with its reason and kind
          live.cooldownUntil = prev.cooldownUntil;
          live.lastError = prev.lastError;
          live.cooldownKind = prev.cooldownKind;
          live.cooledAt = prev.cooledAt;
        } else if (prev.cooldownUntil !== null) {
          // the stored end is later (another replica, without Redis): it wins, the kind known here stays
          live.cooldownKind = prev.cooldownKind;
          live.cooledAt = prev.cooledAt;
        }
      }
      this.membersById.set(m.id, live);
      byPool[m.pool].push(live);
    }
    for (const pool of POOL_NAMES) {
      byPool[pool].sort((a, b) => a.providerId - b.providerId || a.id - b.id);
      for (const old of this.byPool[pool]) if (!this.membersById.has(old.id)) this.rotations[pool].forget(old.id);
    }
    for (const id of this.resets.keys()) if (!this.membersById.has(id)) this.resets.delete(id);
    this.byPool = byPool;
    this.groups = { tool: groupByProvider(byPool.tool), normal: groupByProvider(byPool.normal), advanced: groupByProvider(byPool.advanced) };
  }

  /**
   * The providers' keys, with the state known here carried over (by row id), as for members: a
   * stored cooldown is taken only when it ends later than the one known here, and never when it
   * ends no later than one a reset cleared.
   */
  private loadKeys(providers: Provider[]): void {
    const previous = this.keysById;
    const rings = new Map<number, { keys: LiveKey[]; cursor: number }>();
    this.keysById = new Map();
    for (const p of providers) {
      const stored: ProviderKey[] = p.keys ?? (p.apiKey !== '' ? [{ id: -p.id, apiKey: p.apiKey, cooldownUntil: null, lastError: null }] : []);
      const keys = stored.map((k): LiveKey => {
        const live: LiveKey = {
          id: k.id, providerId: p.id, apiKey: k.apiKey, masked: maskedForm(k.apiKey), unreadable: k.unreadable === true,
          cooldownUntil: k.cooldownUntil, lastError: k.lastError, cooldownKind: null, failures: 0, cooledAt: null,
        };
        const cleared = this.keyResets.get(k.id);
        const stale = live.cooldownUntil !== null && cleared !== undefined && live.cooldownUntil <= cleared;
        const prev = previous.get(k.id);
        if (prev) {
          live.failures = prev.failures;
          if (stale || (prev.cooldownUntil !== null && prev.cooldownUntil >= (live.cooldownUntil ?? 0))) {
            live.cooldownUntil = prev.cooldownUntil;
            live.lastError = prev.lastError;
            live.cooldownKind = prev.cooldownKind;
            live.cooledAt = prev.cooledAt;
          } else if (prev.cooldownUntil !== null) {
            live.cooldownKind = prev.cooldownKind;
            live.cooledAt = prev.cooledAt;
          }
        } else if (stale) {
          live.cooldownUntil = null;
        }
        this.keysById.set(k.id, live);
        return live;
      });
      rings.set(p.id, { keys, cursor: this.rings.get(p.id)?.cursor ?? 0 });
    }
    for (const id of this.keyResets.keys()) if (!this.keysById.has(id)) this.keyResets.delete(id);
    this.rings = rings;
  }

  providers(): Provider[] {
    return [...this.providersById.values()];
  }

  /** A provider's keys, in order (empty: the provider has none). */
  keysOf(providerId: number): readonly LiveKey[] {
    return this.rings.get(providerId)?.keys ?? [];
  }

  key(keyId: number): LiveKey | undefined {
    return this.keysById.get(keyId);
  }

  /**
   * The key the next request to this provider takes: round-robin over its keys that are not
   * cooling; when all are (a request already on its way), the one that comes back first. Null:
   * the provider has no key.
   */
  pickKey(providerId: number, now: number): LiveKey | null {
    const ring = this.rings.get(providerId);
    if (!ring || ring.keys.length === 0) return null;
    if (ring.keys.length === 1) return ring.keys[0]!;
    const p = pickKey(ring.keys, ring.cursor, now);
    if (p) {
      ring.cursor = p.cursor;
      return ring.keys[p.index]!;
    }
    return ring.keys[soonestKey(ring.keys)]!;
  }

  /** When every key of the provider is cooling: the end of the first to come back; else null. */
  keysHold(providerId: number, now: number): number | null {
    const ring = this.rings.get(providerId);
    return ring ? keysCoolingUntil(ring.keys, now) : null;
  }

  /**
   * What keeps a member from being ready: its own cooldown, or (while every key of its provider
   * is cooling) the keys' — the later of the two ends, with the reason that goes with it.
   */
  cooldownOf(m: LiveMember, now: number): EffectiveCooldown {
    const own = m.cooldownUntil !== null && m.cooldownUntil > now ? m.cooldownUntil : null;
    const keys = this.keysHold(m.providerId, now);
    if (keys === null || (own !== null && own >= keys)) return { until: own, kind: own === null ? null : m.cooldownKind, lastError: m.lastError, byKeys: false };
    // the reason of the key that failed last
    let last: LiveKey | null = null;
    for (const k of this.keysOf(m.providerId)) if (!last || (k.cooledAt ?? 0) > (last.cooledAt ?? 0)) last = k;
    return { until: keys, kind: last?.cooldownKind ?? null, lastError: last?.lastError ?? m.lastError, byKeys: true };
  }

  /** Marks a key as cooling, exactly as `cool` does a member (never shortens; count only up; `cooledAt` only later). */
  coolKey(keyId: number, c: CooldownUpdate): LiveKey | undefined {
    const k = this.keysById.get(keyId);
    if (k) mergeCooldown(k, c);
    return k;
  }

  /**
   * Clears a key's cooldown and count (its last error stays). With `at`, a cooldown whose latest
   * failure came after it stands. A stored end up to the one cleared is not brought back by a reload.
   */
  resetKey(keyId: number, opts: ResetOptions = {}): LiveKey | undefined {
    const k = this.keysById.get(keyId);
    if (!k) return undefined;
    if (failedSince(k, opts.at)) return undefined;
    if (k.cooldownUntil !== null && k.cooldownUntil > (this.keyResets.get(keyId) ?? 0)) this.keyResets.set(keyId, k.cooldownUntil);
    clearCooldown(k);
    return k;
  }

  /** A success with this key: its failures in a row start again from 0 (with `at`, a failure seen after it keeps its count). */
  clearKeyFailures(keyId: number, at?: number): void {
    const k = this.keysById.get(keyId);
    if (k && !failedSince(k, at)) k.failures = 0;
  }

  /** Is this key cooling now? */
  keyCooling(k: LiveKey, now: number): boolean {
    return keyCooling(k, now);
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
    if (this.keysHold(m.providerId, now) !== null) return 'cooling'; // every key of its provider is
    return 'ready';
  }

  /**
   * The next member to try in `pool`, advancing the rotation; skips members in `exclude` and
   * those `accept` refuses. Null when nothing is ready. With a shared `ticket` (several replicas)
   * the ticket decides instead of this replica's own rotation.
   */
  next(pool: PoolName, now: number, exclude: ReadonlySet<number>, accept?: (m: LiveMember) => boolean, ticket?: number | null): LiveMember | null {
    const usable = (m: LiveMember) => !exclude.has(m.id) && this.state(m, now) === 'ready' && (!accept || accept(m));
    if (ticket !== undefined && ticket !== null) return pickByTicket(this.byPool[pool].filter(usable), ticket);
    // (visits providers in turn until one has a usable member: the cost does not grow with the pool)
    return this.rotations[pool].pickFrom(this.groups[pool], usable);
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
      if (this.keysHold(m.providerId, now) !== null) continue; // no key to probe with
      if (probeSlots(m).some((s) => this.slotTaken(s, now)) || (accept && !accept(m))) continue;
      if (!best || m.cooldownUntil! < best.cooldownUntil! || (m.cooldownUntil === best.cooldownUntil && m.id < best.id)) best = m;
    }
    if (!best) return null;
    const slots = probeSlots(best);
    for (const s of slots) this.probes.set(s, best.id);
    const probe = { member: best, slots, until: best.cooldownUntil! };
    this.onProbe?.(probe, true);
    return probe;
  }

  /** Frees a probe's slots (idempotent). */
  releaseProbe(probe: Probe): void {
    // Once: a probe freed at its stream's first content must not, when the stream ends, free the
    // slot a later probe of the same member has taken since.
    if (probe.released) return;
    probe.released = true;
    let freed = false;
    for (const s of probe.slots) {
      if (this.probes.get(s) === probe.member.id) {
        this.probes.delete(s);
        freed = true;
      }
    }
    if (freed) this.onProbe?.(probe, false);
  }

  /** Is this slot held, here or (announced and not lapsed) by another replica? */
  private slotTaken(slot: string, now: number): boolean {
    if (this.probes.has(slot)) return true;
    const r = this.remoteProbes.get(slot);
    if (!r) return false;
    if (r.until > now) return true;
    this.remoteProbes.delete(slot);
    return false;
  }

  /** Another replica took these probe slots, for `ttlMs` unless it announces them again or frees them. */
  remoteProbe(memberId: number, slots: readonly string[], ttlMs: number, now = Date.now()): void {
    for (const s of slots) this.remoteProbes.set(s, { memberId, until: now + ttlMs });
  }

  /** Another replica freed these probe slots. */
  remoteProbeEnd(memberId: number, slots: readonly string[]): void {
    for (const s of slots) if (this.remoteProbes.get(s)?.memberId === memberId) this.remoteProbes.delete(s);
  }

  /** Is a probe request running on this member now (here or on another replica)? */
  probing(memberId: number, now = Date.now()): boolean {
    for (const id of this.probes.values()) if (id === memberId) return true;
    for (const r of this.remoteProbes.values()) if (r.memberId === memberId && r.until > now) return true;
    return false;
  }

  /** Is a probe request running on some member of `pool` (here or on another replica)? */
  probingIn(pool: PoolName, now = Date.now()): boolean {
    for (const id of this.probes.values()) if (this.membersById.get(id)?.pool === pool) return true;
    for (const r of this.remoteProbes.values()) if (r.until > now && this.membersById.get(r.memberId)?.pool === pool) return true;
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
      const until = this.cooldownOf(m, now).until;
      if (until !== null && (soonest === null || until < soonest)) soonest = until;
    }
    return soonest;
  }

  /**
   * Marks a member as cooling until `c.until` (ms). Never shortens: a cooldown ending later stays,
   * with its kind. The reason always becomes the last error; the failure count only goes up here;
   * `cooledAt` only moves later (a failure absorbed by a longer running cooldown still counts as
   * its latest).
   */
  cool(memberId: number, c: CooldownUpdate): LiveMember | undefined {
    const m = this.membersById.get(memberId);
    if (m) mergeCooldown(m, c);
    return m;
  }

  /**
   * Clears a member's cooldown and its failure count (its last error stays as history). With `at`,
   * a cooldown whose latest failure came after `at` stands (a reset delivered late, or racing a new
   * failure, does not undo it). `remote`: the stored row may still hold the cleared cooldown for a
   * moment, so `load` ignores stored ends up to the one cleared. Returns the member when cleared.
   */
  reset(memberId: number, opts: ResetOptions = {}): LiveMember | undefined {
    const m = this.membersById.get(memberId);
    if (!m) return undefined;
    if (failedSince(m, opts.at)) return undefined;
    const r = this.resetState(memberId);
    r.cleared = m.cooldownUntil;
    if (opts.remote) this.ignoreStoredUpTo(r, m.cooldownUntil);
    clearCooldown(m);
    return m;
  }

  /**
   * A success elsewhere: the member's failures in a row start again from 0 (its cooldown stays).
   * With `at`, a failure seen after it keeps its count.
   */
  clearFailures(memberId: number, at?: number): void {
    const m = this.membersById.get(memberId);
    if (m && !failedSince(m, at)) m.failures = 0;
  }
}

/** What a member and a provider key both carry: a cooldown, its kind, the failures in a row and when the latest came. */
type Cooling = Pick<LiveKey, 'cooldownUntil' | 'cooldownKind' | 'lastError' | 'failures' | 'cooledAt'>;

/**
 * Merges a cooldown in: its end never moves earlier (the kind goes with the end; the same end read
 * back from the database without a kind takes the known one), the count only up, `cooledAt` only later.
 */
function mergeCooldown(s: Cooling, c: CooldownUpdate): void {
  if (s.cooldownUntil === null || c.until > s.cooldownUntil) {
    s.cooldownUntil = c.until;
    s.cooldownKind = c.kind ?? null;
  } else if (c.until === s.cooldownUntil && s.cooldownKind === null) {
    s.cooldownKind = c.kind ?? null; // the same cooldown read back from the database, its kind from Redis
  }
  s.lastError = c.lastError;
  if (c.failures !== undefined && c.failures > s.failures) s.failures = c.failures;
  if (c.at !== undefined && (s.cooledAt === null || c.at > s.cooledAt)) s.cooledAt = c.at;
}

/** A failure came after `at`: a reset or success stamped `at` (late, or racing it) must not undo it. */
function failedSince(s: Cooling, at: number | undefined): boolean {
  return at !== undefined && s.cooledAt !== null && s.cooledAt > at;
}

/** No cooldown, no failures in a row (the last error stays as history). */
function clearCooldown(s: Cooling): void {
  s.cooldownUntil = null;
  s.cooldownKind = null;
  s.cooledAt = null;
  s.failures = 0;
}

/** A member's probe slots: always its own, and its provider's while the provider's host is
 *  unreachable (one probe at a time per member, and per unreachable host). */
function probeSlots(m: LiveMember): string[] {
  return m.cooldownKind === 'unreachable' ? [`m${m.id}`, `p${m.providerId}`] : [`m${m.id}`];
}
