import { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import crypto from 'node:crypto';
import type { PoolName } from '../routing/pools.js';
import type { CooldownUpdate } from '../routing/registry.js';
import type { SharedAffinity } from '../routing/affinity.js';

// Both scripts read Redis' own clock (TIME), so replicas whose clocks differ still count one minute.
const NOW_MS = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] the key's minute; ARGV window ms, limit, request id. → {1} taken, or {0, ms until a place frees}. */
const RPM_SCRIPT = `${NOW_MS}
local win = tonumber(ARGV[1]); local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + win - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], win)
return {1, 0}`;

/** KEYS[1] the key's running requests; ARGV stale ms, limit, request id. → 1 taken, 0 full. */
const ACQUIRE_SCRIPT = `${NOW_MS}
local stale = tonumber(ARGV[1]); local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - stale)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], stale)
return 1`;

/** KEYS[1] a key's running requests; ARGV stale ms, request ids still running here. */
const HEARTBEAT_SCRIPT = `${NOW_MS}
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1`;

/**
 * KEYS[1] a member's cooldown; ARGV the new value (JSON), its end (ms), TTL (ms), the failure's
 * time (ms). The later end wins: the key is set only when it holds no end as late (the stored one's
 * `at` then moves up to this failure's, so that a reset older than this failure does not clear it).
 * A reset marker (`{"reset":at}`) as new as the failure refuses it: the failure is older than the
 * reset (a notice delivered late). → nil when set, else the stored value.
 * (`until` is a Lua keyword, hence v['until'].)
 */
const COOL_SCRIPT = `local cur = redis.call('GET', KEYS[1])
local at = tonumber(ARGV[4])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' then
    if tonumber(v['reset']) then
      if at and tonumber(v['reset']) >= at then return cur end
    elseif tonumber(v['until']) and tonumber(v['until']) >= tonumber(ARGV[2]) then
      if at and (not tonumber(v['at']) or tonumber(v['at']) < at) then
        v['at'] = at
        cur = cjson.encode(v)
        redis.call('SET', KEYS[1], cur, 'KEEPTTL')
      end
      return cur
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return false`;

/**
 * KEYS[1] a member's cooldown; ARGV the reset's time (ms), the least TTL of its marker (ms). The
 * cooldown is replaced by a reset marker `{"reset":at}` kept as long as the cooldown would have
 * run (a replica that missed the notice learns the reset from it when it reconnects) — unless the
 * stored cooldown's latest failure came after the reset. → 1 reset, 0 kept.
 */
const RESET_SCRIPT = `local cur = redis.call('GET', KEYS[1])
local at = tonumber(ARGV[1])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' then
    if tonumber(v['reset']) and tonumber(v['reset']) >= at then return 1 end
    if tonumber(v['at']) and tonumber(v['at']) > at then return 0 end
  end
end
local ttl = math.max(redis.call('PTTL', KEYS[1]), tonumber(ARGV[2]))
redis.call('SET', KEYS[1], cjson.encode({reset = at}), 'PX', ttl)
return 1`;

/**
 * What one replica tells the others. `recovered`: a success; the member's failure count is 0 again.
 * `at` (ms): when the reset or success happened; a failure seen after it stands. `probe`: this
 * replica probes the member through these slots (announced again while it runs; lapses after
 * `ttlMs`); `probe-end`: the slots are free.
 */
export type ClusterEvent =
  | ({ type: 'cool'; memberId: number } & CooldownUpdate)
  | { type: 'reset'; memberId: number; at?: number }
  | { type: 'recovered'; memberId: number; at?: number }
  // the same three for one key of a provider (CONTRACT "Provider keys"), in `<prefix>cool:k<keyId>`
  | ({ type: 'key-cool'; keyId: number } & CooldownUpdate)
  | { type: 'key-reset'; keyId: number; at?: number }
  | { type: 'key-recovered'; keyId: number; at?: number }
  | { type: 'probe'; memberId: number; slots: string[]; ttlMs: number }
  | { type: 'probe-end'; memberId: number; slots: string[] }
  | { type: 'reload' };

/**
 * Whose cooldown: a member (`"12"`, its id) or a provider key (`"k5"`). Its Redis key is
 * `<prefix>cool:<subject>`, so one scan reads both.
 */
type Subject = string;
const memberSubject = (memberId: number): Subject => String(memberId);
const keySubject = (keyId: number): Subject => `k${keyId}`;

/** The event telling the other replicas about a subject's cooldown, reset or success. */
function subjectEvent(subject: Subject, type: 'cool', c: CooldownUpdate): ClusterEvent;
function subjectEvent(subject: Subject, type: 'reset' | 'recovered', at: number): ClusterEvent;
function subjectEvent(subject: Subject, type: 'cool' | 'reset' | 'recovered', v: CooldownUpdate | number): ClusterEvent {
  if (subject.startsWith('k')) {
    const keyId = Number(subject.slice(1));
    if (type === 'cool') return { type: 'key-cool', keyId, ...(v as CooldownUpdate) };
    return { type: type === 'reset' ? 'key-reset' : 'key-recovered', keyId, at: v as number };
  }
  const memberId = Number(subject);
  if (type === 'cool') return { type: 'cool', memberId, ...(v as CooldownUpdate) };
  return { type, memberId, at: v as number };
}

/** A member's (or key's) events not yet shared because Redis could not be reached: the latest of each kind. */
interface Pending {
  reset?: number;
  recovered?: number;
  cool?: CooldownUpdate & { at: number };
}

/** How long a reset marker outlives the cooldown it cleared, at least (ms). */
const RESET_MARKER_MS = 60_000;

/**
 * State shared between gateway replicas through Redis (REDIS_URL):
 * - cooldowns: a key per cooling member (expiring with the cooldown) plus a published notice,
 *   so every replica skips a member the moment any replica cools it; a reset turns the key into a
 *   reset marker for as long as the cooldown would have run, so that a replica that missed the
 *   notice learns the reset when it reconnects;
 * - probes: a notice when a replica probes a cooling member, so that the others do not probe it too;
 * - rotation: one ticket counter per pool (INCR), so replicas take turns as one;
 * - configuration: a notice after every admin write, so the others reload from the database.
 * Redis being away never stops a request: each replica falls back to its own state, and what it
 * could not share meanwhile (cooldowns, resets, successes) is sent when Redis answers again.
 */

/** The scripts as ioredis commands: sent once, then called by their SHA (EVALSHA), not re-sent per call. */
const SCRIPTS = { apgRpm: RPM_SCRIPT, apgAcquire: ACQUIRE_SCRIPT, apgHeartbeat: HEARTBEAT_SCRIPT, apgCool: COOL_SCRIPT, apgReset: RESET_SCRIPT };
type ScriptCall = (key: string, ...args: (string | number)[]) => Promise<unknown>;
type Scripted<T> = T & Record<keyof typeof SCRIPTS, ScriptCall>;

export class Cluster {
  readonly origin = crypto.randomBytes(6).toString('hex');
  private readonly cmd: Scripted<Redis>;
  private readonly sub: Redis;
  private readonly channel: string;
  /** Resets, successes and cooldowns not shared yet (Redis away): sent when it answers again. */
  private readonly pending = new Map<Subject, Pending>();
  private retryTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private closed = false;
  private onEvent: (e: ClusterEvent) => void = () => {};

  private constructor(url: string, private readonly prefix: string, private readonly log: FastifyBaseLogger) {
    const opts = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, connectTimeout: 2000 };
    this.cmd = new Redis(url, opts) as Scripted<Redis>;
    for (const [name, lua] of Object.entries(SCRIPTS)) this.cmd.defineCommand(name, { numberOfKeys: 1, lua });
    this.sub = new Redis(url, { ...opts, maxRetriesPerRequest: null, commandTimeout: undefined });
    this.channel = `${prefix}events`;
    for (const c of [this.cmd, this.sub]) c.on('error', (err) => this.log.warn({ err: err.message }, 'redis error'));
  }

  /**
   * Connects (waiting at most a few seconds) and keeps reconnecting in the background if Redis is
   * away; until it answers, callers fall back to local state. On every (re)connect, and each time
   * the subscription is (re)made, `sync` runs: what this replica could not share meanwhile is sent,
   * then the cooldowns and resets Redis holds reach `onEvent` (as `cool` / `reset` events); then
   * `onReady` runs. Subscribing before reading means nothing is missed between the two.
   */
  static async connect(url: string, prefix: string, log: FastifyBaseLogger, onEvent: (e: ClusterEvent) => void, onReady: () => void): Promise<Cluster> {
    const c = new Cluster(url, prefix, log);
    c.onEvent = onEvent;
    c.sub.on('message', (_channel: string, text: string) => {
      try {
        const msg = JSON.parse(text) as ClusterEvent & { origin?: string };
        if (msg.origin !== c.origin) onEvent(msg);
      } catch { /* ignore foreign messages */ }
    });
    c.sub.on('ready', () => {
      c.sub.subscribe(c.channel)
        .then(() => { if (c.ready) return c.sync(); })
        .catch((err) => log.warn({ err: err.message }, 'redis subscribe failed'));
    });
    c.cmd.on('ready', () => {
      c.sync().then(onReady, () => {});
    });
    // The subscriber connects in the background: its ready check has no command timeout, so a Redis
    // that takes connections and never answers would hold the start for ever. The command
    // connection's ready check times out (`commandTimeout`), so this wait is short either way.
    c.sub.connect().catch(() => {});
    await c.cmd.connect().catch((err) => log.error({ err: err.message }, 'Redis cannot be reached yet: using local state until it answers'));
    return c;
  }

  get ready(): boolean {
    return this.cmd.status === 'ready';
  }

  /**
   * Sends what waited for Redis, then reads the cooldowns and reset markers it holds into
   * `onEvent`. Concurrent calls coalesce into one more run. Failures are logged (and what could
   * not be sent stays queued for the next attempt).
   */
  sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          if (!this.ready) return;
          await this.flush();
          for (const e of await this.cooldowns()) this.onEvent(e);
        } while (this.syncAgain);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'could not read shared cooldowns');
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  /** The next rotation ticket of a pool, or null when Redis cannot answer right now. */
  async ticket(pool: PoolName): Promise<number | null> {
    if (!this.ready) return null;
    try {
      return await this.cmd.incr(`${this.prefix}rr:${pool}`);
    } catch {
      return null;
    }
  }

  /**
   * Conversations' members shared by all replicas (CONTRACT "Conversations"): `<prefix>conv:<id>`
   * holds the member id, expiring after `idleMs` without a turn. A lookup that Redis cannot
   * answer in its command timeout gives null (the replica's own table answers then).
   */
  affinityStore(idleMs: number): SharedAffinity {
    return {
      get: async (conversation) => {
        if (!this.ready) return null;
        try {
          const v = await this.cmd.get(`${this.prefix}conv:${conversation}`);
          const id = v === null ? NaN : Number(v);
          return Number.isInteger(id) ? id : null;
        } catch {
          return null;
        }
      },
      set: (conversation, memberId) => {
        if (!this.ready) return;
        this.cmd.set(`${this.prefix}conv:${conversation}`, String(memberId), 'PX', idleMs).catch(() => { /* the local table has it */ });
      },
    };
  }

  /**
   * Counts a request in a key's rolling minute shared by all replicas (a sorted set of request
   * ids scored by time). null: Redis cannot answer now (the caller falls back to local limits).
   */
  async takeRpm(keyId: number, rpm: number, requestId: string): Promise<{ ok: true } | { ok: false; retryAfter: number } | null> {
    if (!this.ready) return null;
    try {
      const r = (await this.cmd.apgRpm(`${this.prefix}rpm:${keyId}`, 60_000, rpm, requestId)) as [number, number];
      if (r[0] === 1) return { ok: true };
      return { ok: false, retryAfter: Math.max(1, Math.ceil(Number(r[1]) / 1000)) };
    } catch {
      return null;
    }
  }

  /**
   * Takes one of a key's concurrent slots shared by all replicas. Entries are refreshed by
   * `heartbeat` while their requests run, so a replica that dies frees its slots within `staleMs`.
   */
  async acquire(keyId: number, max: number, requestId: string, staleMs: number): Promise<boolean | null> {
    if (!this.ready) return null;
    try {
      return (await this.cmd.apgAcquire(`${this.prefix}conc:${keyId}`, staleMs, max, requestId)) === 1;
    } catch {
      return null;
    }
  }

  async release(keyId: number, requestId: string): Promise<void> {
    if (!this.ready) return;
    await this.cmd.zrem(`${this.prefix}conc:${keyId}`, requestId).catch(() => {});
  }

  /** Marks requests still running, so that their concurrent slots are not taken for stale. */
  async heartbeat(entries: Iterable<[number, string]>, staleMs: number): Promise<void> {
    if (!this.ready) return;
    const byKey = new Map<number, string[]>();
    for (const [keyId, id] of entries) {
      const list = byKey.get(keyId);
      if (list) list.push(id);
      else byKey.set(keyId, [id]);
    }
    const pipe = this.cmd.pipeline() as Scripted<ReturnType<Redis['pipeline']>>;
    for (const [keyId, ids] of byKey) void pipe.apgHeartbeat(`${this.prefix}conc:${keyId}`, staleMs, ...ids);
    if (byKey.size) await pipe.exec().catch(() => {});
  }

  /**
   * Records a cooldown in `<prefix>cool:<memberId>` unless one ending as late is there already
   * (an atomic compare in a script), and tells the other replicas. Resolves to the stored, later
   * cooldown when there was one (nothing is published then), else null. While Redis cannot be
   * reached the cooldown waits in a queue and is shared when it answers again (if still running).
   */
  async shareCooldown(memberId: number, c: CooldownUpdate): Promise<CooldownUpdate | null> {
    return this.share(memberSubject(memberId), c);
  }

  /** The same for one key of a provider: `<prefix>cool:k<keyId>`, the later end winning. */
  async shareKeyCooldown(keyId: number, c: CooldownUpdate): Promise<CooldownUpdate | null> {
    return this.share(keySubject(keyId), c);
  }

  private async share(subject: Subject, c: CooldownUpdate): Promise<CooldownUpdate | null> {
    const at = c.at ?? Date.now();
    if (!this.ready) {
      this.queue(subject, { cool: { ...c, at } });
      return null;
    }
    try {
      return await this.sendCooldown(subject, { ...c, at });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not share a cooldown through redis; it is sent when redis answers again');
      this.queue(subject, { cool: { ...c, at } });
      return null;
    }
  }

  private async sendCooldown(subject: Subject, c: CooldownUpdate & { at: number }): Promise<CooldownUpdate | null> {
    const ttl = Math.ceil(c.until - Date.now());
    if (ttl <= 0) return null; // over already: nothing to share
    const value = JSON.stringify({ until: c.until, lastError: c.lastError, kind: c.kind ?? null, failures: c.failures ?? 0, at: c.at });
    const stored = (await this.cmd.apgCool(`${this.prefix}cool:${subject}`, value, c.until, ttl, c.at)) as string | null;
    if (stored) return readCooldown(stored);
    await this.cmd.publish(this.channel, JSON.stringify({ ...subjectEvent(subject, 'cool', c), origin: this.origin }));
    return null;
  }

  /**
   * Tells the other replicas. A reset replaces the member's shared cooldown with a reset marker
   * (unless that cooldown's latest failure is newer than the reset). Resets and successes that
   * cannot be sent now (Redis away or not answering) wait in a queue and are sent, in the order
   * they happened, when Redis answers again; probe notices and reload notices are not kept.
   */
  async publish(e: ClusterEvent): Promise<void> {
    if (e.type === 'cool' || e.type === 'key-cool') {
      const { type: _type, ...rest } = e;
      const subject = 'keyId' in rest ? keySubject(rest.keyId) : memberSubject(rest.memberId);
      const { memberId: _m, keyId: _k, ...c } = rest as CooldownUpdate & { memberId?: number; keyId?: number };
      await this.share(subject, c);
      return;
    }
    if (e.type === 'reset' || e.type === 'recovered' || e.type === 'key-reset' || e.type === 'key-recovered') {
      const at = e.at ?? Date.now();
      const subject = 'keyId' in e ? keySubject(e.keyId) : memberSubject(e.memberId);
      const reset = e.type === 'reset' || e.type === 'key-reset';
      const later: Pending = reset ? { reset: at } : { recovered: at };
      if (!this.ready) return this.queue(subject, later);
      try {
        if (reset) await this.sendReset(subject, at);
        else await this.cmd.publish(this.channel, JSON.stringify({ ...subjectEvent(subject, 'recovered', at), origin: this.origin }));
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'could not share state through redis; it is sent when redis answers again');
        this.queue(subject, later);
      }
      return;
    }
    if (!this.ready) return;
    try {
      await this.cmd.publish(this.channel, JSON.stringify({ ...e, origin: this.origin }));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not share state through redis');
    }
  }

  private async sendReset(subject: Subject, at: number): Promise<void> {
    await this.cmd.apgReset(`${this.prefix}cool:${subject}`, at, RESET_MARKER_MS);
    await this.cmd.publish(this.channel, JSON.stringify({ ...subjectEvent(subject, 'reset', at), origin: this.origin }));
  }

  /** Keeps an event for later (the latest of each kind per member or key) and makes sure a retry comes. */
  private queue(subject: Subject, p: Pending): void {
    const cur = this.pending.get(subject) ?? {};
    if (p.reset !== undefined && (cur.reset === undefined || p.reset > cur.reset)) cur.reset = p.reset;
    if (p.recovered !== undefined && (cur.recovered === undefined || p.recovered > cur.recovered)) cur.recovered = p.recovered;
    if (p.cool) {
      const a = cur.cool;
      const b = p.cool;
      cur.cool = !a ? b : { ...(b.until >= a.until ? b : a), at: Math.max(a.at, b.at) }; // the later end, the latest failure
    }
    this.pending.set(subject, cur);
    this.scheduleRetry();
  }

  /** While something waits, try again every second (a command may fail while the connection stays up). */
  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.ready && this.pending.size) void this.sync();
      if (this.pending.size) this.scheduleRetry();
    }, 1000);
    this.retryTimer.unref();
  }

  /** Sends what waited, each member's events in the order they happened (an older one left out). */
  private async flush(): Promise<void> {
    for (const [subject, p] of [...this.pending]) {
      if (!this.ready) return;
      if (this.pending.get(subject) === p) this.pending.delete(subject);
      const steps: [number, () => Promise<unknown>][] = [];
      if (p.reset !== undefined) {
        const at = p.reset;
        steps.push([at, () => this.sendReset(subject, at)]);
      }
      if (p.recovered !== undefined && !(p.reset !== undefined && p.reset >= p.recovered)) {
        const at = p.recovered;
        steps.push([at, () => this.cmd.publish(this.channel, JSON.stringify({ ...subjectEvent(subject, 'recovered', at), origin: this.origin }))]);
      }
      if (p.cool && !(p.reset !== undefined && p.reset >= p.cool.at)) {
        const c = p.cool;
        steps.push([c.at, async () => {
          const later = await this.sendCooldown(subject, c);
          if (later) this.onEvent(subjectEvent(subject, 'cool', later));
        }]);
      }
      steps.sort((x, y) => x[0] - y[0]);
      try {
        for (const [, step] of steps) await step();
      } catch (err) {
        this.queue(subject, p); // all of it again: every step may be repeated
        throw err;
      }
    }
  }

  /** Announces a probe taken here (again while it runs, within `ttlMs`), or its end. Not queued. */
  announceProbe(e: Extract<ClusterEvent, { type: 'probe' | 'probe-end' }>): void {
    if (!this.ready) return;
    this.cmd.publish(this.channel, JSON.stringify({ ...e, origin: this.origin })).catch(() => {});
  }

  /** Cooldowns and reset markers Redis holds (read at start and on every reconnect), as events. */
  async cooldowns(): Promise<ClusterEvent[]> {
    const out: ClusterEvent[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.cmd.scan(cursor, 'MATCH', `${this.prefix}cool:*`, 'COUNT', 200);
      cursor = next;
      if (keys.length) {
        const values = await this.cmd.mget(...keys);
        keys.forEach((k, i) => {
          const v = values[i];
          if (!v) return;
          const subject = k.slice(k.lastIndexOf(':') + 1);
          if (!/^k?\d+$/.test(subject)) return;
          const at = readReset(v);
          if (at !== null) {
            out.push(subjectEvent(subject, 'reset', at));
            return;
          }
          const c = readCooldown(v);
          if (c) out.push(subjectEvent(subject, 'cool', c));
        });
      }
    } while (cursor !== '0');
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.sub.disconnect();
    this.cmd.disconnect();
  }
}

/** A reset marker's time, or null when the value is not one. */
function readReset(text: string): number | null {
  try {
    const v = JSON.parse(text) as { reset?: unknown };
    return typeof v.reset === 'number' ? v.reset : null;
  } catch {
    return null;
  }
}

/** A stored cooldown value (JSON), or null when it is not one. */
function readCooldown(text: string): CooldownUpdate | null {
  try {
    const v = JSON.parse(text) as { until?: unknown; lastError?: unknown; kind?: unknown; failures?: unknown; at?: unknown };
    if (typeof v.until !== 'number') return null;
    return {
      until: v.until,
      lastError: typeof v.lastError === 'string' ? v.lastError : '',
      kind: typeof v.kind === 'string' ? (v.kind as CooldownUpdate['kind']) : null,
      failures: typeof v.failures === 'number' ? v.failures : undefined,
      at: typeof v.at === 'number' ? v.at : undefined,
    };
  } catch {
    return null;
  }
}
