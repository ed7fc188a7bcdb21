import { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import crypto from 'node:crypto';
import type { PoolName } from '../routing/pools.js';

/** What one replica tells the others. */
export type ClusterEvent =
  | { type: 'cool'; memberId: number; until: number; lastError: string }
  | { type: 'reset'; memberId: number }
  | { type: 'reload' };

/**
 * State shared between gateway replicas through Redis (REDIS_URL):
 * - cooldowns: a key per cooling member (expiring with the cooldown) plus a published notice,
 *   so every replica skips a member the moment any replica cools it;
 * - rotation: one ticket counter per pool (INCR), so replicas take turns as one;
 * - configuration: a notice after every admin write, so the others reload from the database.
 * Redis being away never stops a request: each replica falls back to its own state.
 */
export class Cluster {
  readonly origin = crypto.randomBytes(6).toString('hex');
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly channel: string;

  private constructor(url: string, private readonly prefix: string, private readonly log: FastifyBaseLogger) {
    const opts = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, connectTimeout: 2000 };
    this.cmd = new Redis(url, opts);
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

  async publish(e: ClusterEvent): Promise<void> {
    if (!this.ready) return;
    try {
      if (e.type === 'cool') {
        const ttl = Math.max(1, e.until - Date.now());
        await this.cmd.set(`${this.prefix}cool:${e.memberId}`, JSON.stringify({ until: e.until, lastError: e.lastError }), 'PX', ttl);
      } else if (e.type === 'reset') {
        await this.cmd.del(`${this.prefix}cool:${e.memberId}`);
      }
      await this.cmd.publish(this.channel, JSON.stringify({ ...e, origin: this.origin }));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not share state through redis');
    }
  }

  /** Cooldowns other replicas recorded (read once at start). */
  async cooldowns(): Promise<{ memberId: number; until: number; lastError: string }[]> {
    const out: { memberId: number; until: number; lastError: string }[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.cmd.scan(cursor, 'MATCH', `${this.prefix}cool:*`, 'COUNT', 200);
      cursor = next;
      if (keys.length) {
        const values = await this.cmd.mget(...keys);
        keys.forEach((k, i) => {
          const v = values[i];
          if (!v) return;
          try {
            const { until, lastError } = JSON.parse(v);
            out.push({ memberId: Number(k.slice(k.lastIndexOf(':') + 1)), until, lastError });
          } catch { /* skip */ }
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
