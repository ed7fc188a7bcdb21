import type { FastifyBaseLogger } from 'fastify';
import type { Cluster } from '../cluster/redis.js';
import type { PoolName } from '../routing/pools.js';
import type { AccessKeyRepo } from '../store/access-keys.js';
import { hashSecret, presentedSecrets, type AccessKey } from './keys.js';
import { LocalLimits } from './limits.js';

/** Why a client request is refused before it reaches any provider (nothing is cooled). */
export interface Refusal {
  status: 401 | 403 | 429;
  message: string;
  /** Seconds, for 429. */
  retryAfter?: number;
}

export interface Admission {
  /** Frees the request's concurrent slot; call once when the request is over. */
  release(): void;
}

const FLUSH_MS = 5_000;
const HEARTBEAT_MS = 20_000;
const STALE_MS = 60_000;

export const isRefusal = (x: unknown): x is Refusal => typeof x === 'object' && x !== null && 'status' in x;

/**
 * Client authentication and per-key limits on the hot path: keys live in memory (by the SHA-256 of
 * their secret, reloaded from the database on every change), limits are counted in memory, or in
 * Redis when it is there so that they hold across replicas. No database round trip per request.
 */
export class AccessGuard {
  private byHash = new Map<string, AccessKey>();
  private byId = new Map<number, AccessKey>();
  private readonly local = new LocalLimits();
  /** Requests holding a concurrent slot in Redis: request id → key id (refreshed by the heartbeat). */
  private readonly shared = new Map<string, number>();
  private readonly used = new Map<number, number>();
  private seq = 0;
  private flushTimer: NodeJS.Timeout;
  private heartbeatTimer: NodeJS.Timeout;

  constructor(
    private readonly repo: AccessKeyRepo,
    private readonly cluster: () => Cluster | null,
    private readonly log: FastifyBaseLogger,
  ) {
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_MS);
    this.flushTimer.unref();
    this.heartbeatTimer = setInterval(() => {
      const c = this.cluster();
      if (c && this.shared.size) void c.heartbeat([...this.shared].map(([id, keyId]) => [keyId, id] as [number, string]), STALE_MS);
    }, HEARTBEAT_MS);
    this.heartbeatTimer.unref();
  }

  /** True while no access key exists: /v1/* is open to anyone (the seed's behaviour). */
  get open(): boolean {
    return this.byId.size === 0;
  }

  /** Reads of the keys table are numbered when they start, so that an older read finishing late
   *  (the 1 s poll racing a reload after a delete) never brings a deleted key back. */
  private readSeq = 0;
  private appliedSeq = 0;

  /** Call before reading the keys table; pass the number to `load`. */
  beginRead(): number {
    return ++this.readSeq;
  }

  /** Replaces the keys (after a change here or on another replica). Last-used times seen here are kept. */
  load(keys: AccessKey[], seq = this.beginRead()): void {
    if (seq < this.appliedSeq) return;
    this.appliedSeq = seq;
    const byHash = new Map<string, AccessKey>();
    const byId = new Map<number, AccessKey>();
    for (const k of keys) {
      const prev = this.byId.get(k.id);
      if (prev?.lastUsedAt && (k.lastUsedAt ?? 0) < prev.lastUsedAt) k.lastUsedAt = prev.lastUsedAt;
      byHash.set(k.hash, k);
      byId.set(k.id, k);
    }
    this.byHash = byHash;
    this.byId = byId;
    this.local.retain(new Set(keys.filter((k) => k.rpm !== null).map((k) => k.id)));
  }

  async reload(): Promise<void> {
    const seq = this.beginRead();
    this.load(await this.repo.list(), seq);
  }

  /** The keys as known here, with last-used times not yet stored. */
  list(): AccessKey[] {
    return [...this.byId.values()];
  }

  /** One key as known here (its last-used time may be newer than the stored one). */
  key(id: number): AccessKey | undefined {
    return this.byId.get(id);
  }

  /**
   * Who is calling: null while access is open, the key, or a 401 refusal. The presented secret is
   * never echoed.
   */
  authenticate(headers: Record<string, string | string[] | undefined>, now: number): AccessKey | Refusal | null {
    if (this.byId.size === 0) return null;
    const secrets = presentedSecrets(headers);
    if (secrets.length === 0) {
      return { status: 401, message: 'an access key is required: send it as x-api-key or Authorization: Bearer (ask the gateway admin for one)' };
    }
    let refusal: Refusal | null = null;
    for (const s of secrets) {
      const k = this.byHash.get(hashSecret(s));
      if (!k) continue;
      if (!k.enabled) refusal = { status: 401, message: `access key "${k.name}" is disabled` };
      else if (k.expiresAt !== null && k.expiresAt <= now) refusal = { status: 401, message: `access key "${k.name}" expired at ${new Date(k.expiresAt).toISOString()}` };
      else {
        k.lastUsedAt = now;
        this.used.set(k.id, now);
        return k;
      }
    }
    return refusal ?? { status: 401, message: 'invalid access key: check the key you send (ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN, x-api-key or Authorization: Bearer)' };
  }

  /** May this key send a request to this pool now? Takes a concurrent slot and a place in the minute. */
  async admit(key: AccessKey, pool: PoolName, now: number): Promise<Admission | Refusal> {
    if (!key.pools.includes(pool)) {
      return { status: 403, message: `access key "${key.name}" may not use the ${pool} pool (allowed: ${key.pools.join(', ')})` };
    }
    if (key.rpm === null && key.maxConcurrent === null) return NO_LIMITS;
    const cluster = this.cluster();
    const requestId = `${cluster?.origin ?? 'local'}:${++this.seq}`;
    let release: () => void = () => {};
    if (key.maxConcurrent !== null) {
      const shared = cluster ? await cluster.acquire(key.id, key.maxConcurrent, requestId, STALE_MS) : null;
      if (shared === false) return tooManyAtOnce(key);
      if (shared === true) {
        this.shared.set(requestId, key.id);
        release = () => {
          this.shared.delete(requestId);
          void cluster!.release(key.id, requestId);
        };
      } else {
        if (!this.local.acquire(key.id, key.maxConcurrent)) return tooManyAtOnce(key);
        release = () => this.local.release(key.id);
      }
    }
    if (key.rpm !== null) {
      const r = (cluster ? await cluster.takeRpm(key.id, key.rpm, requestId) : null) ?? this.local.takeRpm(key.id, key.rpm, now);
      if (!r.ok) {
        release();
        return { status: 429, message: `access key "${key.name}" is over its limit of ${key.rpm} requests per minute; retry in ${r.retryAfter} s`, retryAfter: r.retryAfter };
      }
    }
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        release();
      },
    };
  }

  /** Stores last-used times (every few seconds, off the hot path). */
  async flush(): Promise<void> {
    if (this.used.size === 0) return;
    const batch = new Map(this.used);
    this.used.clear();
    try {
      await this.repo.touch(batch);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not store access keys\' last use');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.heartbeatTimer);
    await this.flush();
  }
}

const NO_LIMITS: Admission = { release() {} };

function tooManyAtOnce(key: AccessKey): Refusal {
  return { status: 429, message: `access key "${key.name}" already has ${key.maxConcurrent} requests running (its limit); retry when one ends`, retryAfter: 1 };
}
