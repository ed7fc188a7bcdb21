import { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import crypto from 'node:crypto';
import type { PoolName } from '../routing/pools.js';
import type { CooldownUpdate } from '../routing/registry.js';

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
 * KEYS[1] a member's cooldown; ARGV the new value (JSON), its end (ms), TTL (ms). The later end
 * wins: the key is set only when it holds no end as late. → nil when set, else the stored value.
 * (`until` is a Lua keyword, hence v['until'].)
 */
const COOL_SCRIPT = `local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' and tonumber(v['until']) and tonumber(v['until']) >= tonumber(ARGV[2]) then return cur end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return false`;

/** What one replica tells the others. `recovered`: a success; the member's failure count is 0 again. */
export type ClusterEvent =
  | ({ type: 'cool'; memberId: number } & CooldownUpdate)
  | { type: 'reset'; memberId: number }
  | { type: 'recovered'; memberId: number }
  | { type: 'reload' };

/**
 * State shared between gateway replicas through Redis (REDIS_URL):
 * - cooldowns: a key per cooling member (expiring with the cooldown) plus a published notice,
 *   so every replica skips a member the moment any replica cools it;
 * - rotation: one ticket counter per pool (INCR), so replicas take turns as one;
 * - configuration: a notice after every admin write, so the others reload from the database.
 * Redis being away never stops a request: each replica falls back to its own state.
 */
/** The scripts as ioredis commands: sent once, then called by their SHA (EVALSHA), not re-sent per call. */
const SCRIPTS = { apgRpm: RPM_SCRIPT, apgAcquire: ACQUIRE_SCRIPT, apgHeartbeat: HEARTBEAT_SCRIPT, apgCool: COOL_SCRIPT };
type ScriptCall = (key: string, ...args: (string | number)[]) => Promise<unknown>;
type Scripted<T> = T & Record<keyof typeof SCRIPTS, ScriptCall>;

export class Cluster {
  readonly origin = crypto.randomBytes(6).toString('hex');
  private readonly cmd: Scripted<Redis>;
  private readonly sub: Redis;
  private readonly channel: string;

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
   * away; until it answers, callers fall back to local state. `onReady` runs on every (re)connect.
   */
  static async connect(url: string, prefix: string, log: FastifyBaseLogger, onEvent: (e: ClusterEvent) => void, onReady: () => void): Promise<Cluster> {
    const c = new Cluster(url, prefix, log);
    c.sub.on('message', (_channel: string, text: string) => {
      try {
        const msg = JSON.parse(text) as ClusterEvent & { origin?: string };
        if (msg.origin !== c.origin) onEvent(msg);
      } catch { /* ignore foreign messages */ }
    });
    c.sub.on('ready', () => {
      c.sub.subscribe(c.channel).catch((err) => log.warn({ err: err.message }, 'redis subscribe failed'));
    });
    c.cmd.on('ready', onReady);
    await Promise.all([
      c.cmd.connect().catch((err) => log.error({ err: err.message }, 'Redis cannot be reached yet: using local state until it answers')),
      c.sub.connect().catch(() => {}),
    ]);
    return c;
  }

  get ready(): boolean {
    return this.cmd.status === 'ready';
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
   * cooldown when there was one (nothing is published then), else null.
   */
  async shareCooldown(memberId: number, c: CooldownUpdate): Promise<CooldownUpdate | null> {
    if (!this.ready) return null;
    try {
      const ttl = Math.max(1, Math.ceil(c.until - Date.now()));
      const value = JSON.stringify({ until: c.until, lastError: c.lastError, kind: c.kind ?? null, failures: c.failures ?? 0 });
      const stored = (await this.cmd.apgCool(`${this.prefix}cool:${memberId}`, value, c.until, ttl)) as string | null;
      if (stored) return readCooldown(stored);
      await this.cmd.publish(this.channel, JSON.stringify({ type: 'cool', memberId, ...c, origin: this.origin }));
      return null;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not share a cooldown through redis');
      return null;
    }
  }

  async publish(e: ClusterEvent): Promise<void> {
    if (!this.ready) return;
    if (e.type === 'cool') {
      const { type: _type, memberId, ...c } = e;
      await this.shareCooldown(memberId, c);
      return;
    }
    try {
      if (e.type === 'reset') {
        await this.cmd.del(`${this.prefix}cool:${e.memberId}`);
      }
      await this.cmd.publish(this.channel, JSON.stringify({ ...e, origin: this.origin }));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not share state through redis');
    }
  }

  /** Cooldowns other replicas recorded (read at start and on every reconnect). */
  async cooldowns(): Promise<({ memberId: number } & CooldownUpdate)[]> {
    const out: ({ memberId: number } & CooldownUpdate)[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.cmd.scan(cursor, 'MATCH', `${this.prefix}cool:*`, 'COUNT', 200);
      cursor = next;
      if (keys.length) {
        const values = await this.cmd.mget(...keys);
        keys.forEach((k, i) => {
          const v = values[i];
          const c = v ? readCooldown(v) : null;
          if (c) out.push({ memberId: Number(k.slice(k.lastIndexOf(':') + 1)), ...c });
        });
      }
    } while (cursor !== '0');
    return out;
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.cmd.disconnect();
  }
}

/** A stored cooldown value (JSON), or null when it is not one. */
function readCooldown(text: string): CooldownUpdate | null {
  try {
    const v = JSON.parse(text) as { until?: unknown; lastError?: unknown; kind?: unknown; failures?: unknown };
    if (typeof v.until !== 'number') return null;
    return {
      until: v.until,
      lastError: typeof v.lastError === 'string' ? v.lastError : '',
      kind: typeof v.kind === 'string' ? (v.kind as CooldownUpdate['kind']) : null,
      failures: typeof v.failures === 'number' ? v.failures : undefined,
    };
  } catch {
    return null;
  }
}
