import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import { openDb, type Db } from './store/db.js';
import { Repo } from './store/repo.js';
import { Registry, type CooldownUpdate, type LiveKey, type Probe } from './routing/registry.js';
import { UpstreamPool } from './upstream/client.js';
import type { Cluster, ClusterEvent } from './cluster/redis.js';
import { KyselyBackgroundWriter, SqliteBackgroundWriter, type BackgroundWriter } from './store/background-writer.js';
import { Telemetry } from './telemetry/index.js';
import { AccessKeyRepo } from './store/access-keys.js';
import { AccessGuard } from './access/guard.js';
import type { AdminAuth } from './admin/auth.js';
import { openSealer } from './secrets/seal.js';
import { Lifecycle } from './lifecycle.js';
import { Affinity } from './routing/affinity.js';
import { POOL_NAMES, type PoolName } from './routing/pools.js';
import { SignatureBook } from './protocol/anthropic/signatures.js';
import { TokenCounter } from './protocol/tokens.js';

/** A probe announced to the other replicas holds its slots there this long unless announced again (every third of it while it runs). */
const PROBE_ANNOUNCE_TTL_MS = 15_000;

/**
 * Everything a request needs, built once at start: configuration, storage, the in-memory routing
 * table, the upstream connection pools and (with REDIS_URL) the state shared with other replicas.
 */
export class Gateway {
  readonly registry = new Registry();
  readonly upstreams: UpstreamPool;
  readonly repo: Repo;
  cluster: Cluster | null = null;
  readonly writer: BackgroundWriter;
  readonly keys: AccessKeyRepo;
  /** Client access keys and their limits (the hot path's authentication). */
  readonly access: AccessGuard;
  telemetry!: Telemetry;
  /** Set by the admin routes; the status route reads the password mode from it. */
  adminAuth: AdminAuth | null = null;
  readonly startedAt = Date.now();
  /** Serving phase, requests in flight and the end of the shutdown grace (`lifecycle.expired`). */
  readonly lifecycle = new Lifecycle();
  /** Which member served each conversation's last turn (CONTRACT "Conversations and member capabilities"). */
  readonly affinity = new Affinity();
  /** Which provider signed which thinking block passed through. */
  readonly signatures = new SignatureBook();
  /** count_tokens counted here (no Anthropic member to ask): a worker started on demand, ended when idle. */
  readonly tokens = new TokenCounter();
  /** Pools whose affinity is turned off (`"none"`); the others keep conversations on their member. */
  readonly affinityOff = new Set<PoolName>();
  private pollTimer: NodeJS.Timeout | null = null;
  private keysTimer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  /** Probes taken here and announced to the other replicas: their slots → the re-announce timer. */
  private readonly probeTimers = new Map<string, NodeJS.Timeout>();

  private constructor(
    readonly config: Config,
    readonly db: Db,
    readonly log: FastifyBaseLogger,
  ) {
    this.repo = new Repo(db.kysely);
    this.upstreams = new UpstreamPool(config.connectTimeoutMs);
    this.keys = new AccessKeyRepo(db.kysely);
    this.access = new AccessGuard(this.keys, () => this.cluster, log);
    this.writer = db.file
      ? new SqliteBackgroundWriter(db.file, 2000, log)
      : new KyselyBackgroundWriter(db.kysely);
  }

  static async open(config: Config, log: FastifyBaseLogger): Promise<Gateway> {
    // Before the database: DATABASE_URL without SECRET_KEY refuses to start, saying so.
    const sealer = await openSealer(config);
    const db = await openDb({
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      onIdleError: (err) => log.warn({ err: err.message }, 'a PostgreSQL connection was closed by the server; the next query opens a new one'),
    });
    const gw = new Gateway(config, db, log);
    gw.repo.useSealer(sealer, (id, name, reason) => {
      log.error({ providerId: id, provider: name, reason }, `the stored API key of provider "${name}" cannot be decrypted (SECRET_KEY changed?): its requests go without a key until the key is entered again`);
    });
    const { sealed } = await gw.repo.sealStoredKeys();
    if (sealed > 0) log.info({ providers: sealed }, 'provider keys stored in plain text (or under the old key file) are now encrypted');
    await gw.reload();
    gw.telemetry = await Telemetry.start(db.kysely, gw.writer, gw.registry, log);
    if (config.redisUrl) {
      // On every (re)connect the cluster sends what waited for Redis, then hands over the cooldowns
      // and resets the other replicas recorded meanwhile (as events), then says so here.
      // (loaded only here: a single replica never holds the Redis client in memory)
      const { Cluster } = await import('./cluster/redis.js');
      gw.cluster = await Cluster.connect(config.redisUrl, config.redisKeyPrefix, log, (e) => gw.onClusterEvent(e), () => {
        log.info('sharing cooldowns and rotation with other replicas through Redis');
      });
      gw.registry.onProbe = (probe, taken) => gw.announceProbe(probe, taken);
      gw.affinity.shared = gw.cluster.affinityStore(gw.affinity.table.idleMs);
      if (gw.cluster.ready) await gw.cluster.sync();
    }
    if (db.dialect === 'postgres') {
      // Several replicas may share this database: pick up their admin changes even when no Redis
      // notice arrives (no REDIS_URL, or a notice lost while Redis was away).
      let tick = 0;
      gw.pollTimer = setInterval(() => {
        tick++;
        if (!gw.cluster?.ready || tick % 12 === 0) gw.reload().catch((err) => log.warn({ err: (err as Error).message }, 'periodic reload failed'));
      }, 5000);
      gw.pollTimer.unref();
      // A revoked access key must stop working on every replica within 2 s, even if a Redis
      // notice is lost: the keys table is small, read it again every second.
      gw.keysTimer = setInterval(() => {
        gw.access.reload().catch((err) => log.warn({ err: (err as Error).message }, 'access key reload failed'));
      }, 1000);
      gw.keysTimer.unref();
    }
    return gw;
  }

  /** Rebuilds the routing table from the database. Concurrent calls coalesce into one more run. */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          const keysRead = this.access.beginRead();
          const membersRead = this.registry.beginRead();
          const [providers, members, keys, affinities] = await Promise.all([this.repo.listProviders(), this.repo.listMembers(), this.keys.list(), this.repo.poolAffinities()]);
          this.registry.load(providers, members, membersRead);
          this.access.load(keys, keysRead);
          for (const pool of POOL_NAMES) {
            if (affinities[pool] === 'none') this.affinityOff.add(pool);
            else this.affinityOff.delete(pool);
          }
          this.upstreams.retain(new Set(providers.map((p) => p.id)));
          // The price table too (set on another replica); not yet at the first load (telemetry starts after it).
          if (this.telemetry) await this.telemetry.reloadPrices().catch((err) => this.log.warn({ err: (err as Error).message }, 'price table reload failed'));
        } while (this.reloadAgain);
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  /** After an admin write: reload here and tell the other replicas to do the same. */
  async changed(): Promise<void> {
    await this.reload();
    void this.cluster?.publish({ type: 'reload' });
  }

  /** A pool's affinity setting (default "session"). */
  poolAffinity(pool: PoolName): 'session' | 'none' {
    return this.affinityOff.has(pool) ? 'none' : 'session';
  }

  /**
   * Cools a member now in memory (never shortening a running cooldown); storage and the other
   * replicas hear of it in the background. With Redis the later end wins there too: when another
   * replica's cooldown ends later, that one is adopted here.
   */
  cool(memberId: number, c: CooldownUpdate): void {
    const m = this.registry.cool(memberId, { ...c, at: c.at ?? Date.now() });
    if (!m || m.cooldownUntil === null) return;
    const shared: CooldownUpdate = { until: m.cooldownUntil, lastError: c.lastError, kind: m.cooldownKind, failures: m.failures, at: m.cooledAt ?? undefined };
    this.cluster?.shareCooldown(memberId, shared)
      .then((later) => { if (later) this.registry.cool(memberId, later); })
      .catch(() => { /* logged by the cluster; local state stands */ });
    this.writer.setCooldown(memberId, shared.until, shared.lastError).catch((err) => {
      this.log.error({ err, memberId }, 'could not store a cooldown');
    });
  }

  /**
   * A member served (a whole answer, or a stream's first content): its failures in a row start
   * again from 0 everywhere, and when this was a probe its cooldown ends everywhere. Nothing to do
   * (the usual case) when it had no failures. A member that is cooling although it was not probed
   * was cooled by a failure racing this request: that failure stands.
   */
  served(memberId: number, probe: Probe | null, key?: LiveKey | null): void {
    if (key) this.keyServed(key.id);
    const m = this.registry.member(memberId);
    if (!m || (m.failures === 0 && m.cooldownUntil === null)) return;
    const now = Date.now();
    const cooling = m.cooldownUntil !== null && m.cooldownUntil > now;
    // A probe proves the cooldown it probed wrong, not one set since (a failure racing it stands).
    const probed = probe !== null && m.cooldownUntil === probe.until;
    if (cooling && !probed) return;
    if (cooling) {
      // A probe answered: the member is ready; a host that was unreachable is back for every
      // member of its provider that cooled for that reason.
      const back = m.cooldownKind === 'unreachable'
        ? this.registry.providerMembers(m.providerId).filter((o) => o.cooldownKind === 'unreachable' && (o.cooldownUntil ?? 0) > now)
        : [m];
      if (!back.includes(m)) back.push(m);
      for (const o of back) {
        this.registry.reset(o.id);
        void this.cluster?.publish({ type: 'reset', memberId: o.id, at: now });
        const stored = this.registry.storing(o.id);
        this.writer.setCooldown(o.id, null, o.lastError).then(() => stored(), (err) => {
          stored(false);
          this.log.error({ err, memberId: o.id }, 'could not store a cooldown');
        });
      }
      return;
    }
    if (m.failures === 0) return;
    this.registry.clearFailures(memberId);
    void this.cluster?.publish({ type: 'recovered', memberId, at: now });
  }

  /**
   * Cools one key of a provider (CONTRACT "Provider keys"), like `cool` a member: in memory at
   * once, then Redis (the later end wins) and the database in the background.
   */
  coolKey(keyId: number, c: CooldownUpdate): void {
    const k = this.registry.coolKey(keyId, { ...c, at: c.at ?? Date.now() });
    if (!k || k.cooldownUntil === null || keyId <= 0) return;
    const shared: CooldownUpdate = { until: k.cooldownUntil, lastError: c.lastError, kind: k.cooldownKind, failures: k.failures, at: k.cooledAt ?? undefined };
    this.cluster?.shareKeyCooldown(keyId, shared)
      .then((later) => { if (later) this.registry.coolKey(keyId, later); })
      .catch(() => { /* logged by the cluster; local state stands */ });
    this.writer.setKeyCooldown(keyId, shared.until, shared.lastError).catch((err) => {
      this.log.error({ err, keyId }, 'could not store a key cooldown');
    });
  }

  /** A key served: its failures in a row start again from 0, here and on the other replicas. */
  private keyServed(keyId: number): void {
    const k = this.registry.key(keyId);
    if (!k || k.failures === 0) return;
    const now = Date.now();
    this.registry.clearKeyFailures(keyId);
    void this.cluster?.publish({ type: 'key-recovered', keyId, at: now });
  }

  /** Clears a key's cooldown, in memory, in storage and on the other replicas. */
  async resetKey(keyId: number): Promise<void> {
    const at = Date.now();
    const k = this.registry.resetKey(keyId);
    if (keyId <= 0) return; // the one key of a row an older version wrote: nothing stored or shared
    await this.repo.setKeyCooldown(keyId, null, k?.lastError ?? null);
    await this.cluster?.publish({ type: 'key-reset', keyId, at });
  }

  /**
   * Clears a member's cooldown, in memory, in storage and on the other replicas — and when every
   * key of its provider was cooling (which held the member back), those keys' cooldowns too.
   */
  async resetCooldown(memberId: number): Promise<void> {
    const at = Date.now();
    const held = this.registry.member(memberId);
    if (held && this.registry.keysHold(held.providerId, at) !== null) {
      for (const k of this.registry.keysOf(held.providerId)) await this.resetKey(k.id);
    }
    this.registry.reset(memberId);
    const m = this.registry.member(memberId);
    const stored = this.registry.storing(memberId);
    try {
      await this.repo.setMemberCooldown(memberId, null, m?.lastError ?? null);
      stored();
    } catch (err) {
      stored(false);
      throw err;
    }
    await this.cluster?.publish({ type: 'reset', memberId, at });
  }

  /** Tells the other replicas about a probe slot taken or freed here; announced again while it runs. */
  private announceProbe(probe: Probe, taken: boolean): void {
    const cluster = this.cluster;
    if (!cluster) return;
    const memberId = probe.member.id;
    const key = probe.slots.join(',');
    const timer = this.probeTimers.get(key);
    if (timer) clearInterval(timer);
    this.probeTimers.delete(key);
    if (!taken) {
      cluster.announceProbe({ type: 'probe-end', memberId, slots: probe.slots });
      return;
    }
    const announce = () => cluster.announceProbe({ type: 'probe', memberId, slots: probe.slots, ttlMs: PROBE_ANNOUNCE_TTL_MS });
    announce();
    const again = setInterval(announce, PROBE_ANNOUNCE_TTL_MS / 3);
    again.unref();
    this.probeTimers.set(key, again);
  }

  private onClusterEvent(e: ClusterEvent): void {
    if (e.type === 'cool') this.registry.cool(e.memberId, e); // never shortens
    else if (e.type === 'reset') this.registry.reset(e.memberId, { at: e.at, remote: true }); // a newer failure stands
    else if (e.type === 'recovered') this.registry.clearFailures(e.memberId, e.at);
    else if (e.type === 'probe') this.registry.remoteProbe(e.memberId, e.slots, e.ttlMs);
    else if (e.type === 'probe-end') this.registry.remoteProbeEnd(e.memberId, e.slots);
    else if (e.type === 'key-cool') this.registry.coolKey(e.keyId, e); // never shortens
    else if (e.type === 'key-reset') this.registry.resetKey(e.keyId, { at: e.at, remote: true });
    else if (e.type === 'key-recovered') this.registry.clearKeyFailures(e.keyId, e.at);
    else if (e.type === 'reload') {
      this.reload().catch((err) => this.log.error({ err }, 'reload after a change on another replica failed'));
    }
  }

  async close(): Promise<void> {
    for (const t of this.probeTimers.values()) clearInterval(t);
    this.probeTimers.clear();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.keysTimer) clearInterval(this.keysTimer);
    await this.access.close().catch(() => {});
    await this.tokens.close();
    await this.cluster?.close();
    await this.telemetry?.close();
    await this.writer.close();
    await this.upstreams.close();
    await this.db.close();
  }
}
