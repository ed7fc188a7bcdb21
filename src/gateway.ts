import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import { openDb, type Db } from './store/db.js';
import { Repo } from './store/repo.js';
import { Registry } from './routing/registry.js';
import { UpstreamPool } from './upstream/client.js';

/**
 * Everything a request needs, built once at start: configuration, storage, the in-memory routing
 * table and the upstream connection pools.
 */
export class Gateway {
  readonly registry = new Registry();
  readonly upstreams: UpstreamPool;
  readonly repo: Repo;

  private constructor(
    readonly config: Config,
    readonly db: Db,
    readonly log: FastifyBaseLogger,
  ) {
    this.repo = new Repo(db.kysely);
    this.upstreams = new UpstreamPool(config.connectTimeoutMs);
  }

  static async open(config: Config, log: FastifyBaseLogger): Promise<Gateway> {
    const db = await openDb({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
    const gw = new Gateway(config, db, log);
    await gw.reload();
    return gw;
  }

  /** Rebuilds the routing table from the database (after every admin write). */
  async reload(): Promise<void> {
    const [providers, members] = await Promise.all([this.repo.listProviders(), this.repo.listMembers()]);
    this.registry.load(providers, members);
    this.upstreams.retain(new Set(providers.map((p) => p.id)));
  }

  /** Cools a member now in memory; the database write happens in the background. */
  cool(memberId: number, until: number, lastError: string): void {
    this.registry.cool(memberId, until, lastError);
    this.repo.setMemberCooldown(memberId, until, lastError).catch((err) => {
      this.log.error({ err, memberId }, 'could not store a cooldown');
    });
  }

  /** Clears a member's cooldown, in memory and in storage. */
  async resetCooldown(memberId: number): Promise<void> {
    this.registry.reset(memberId);
    const m = this.registry.member(memberId);
    await this.repo.setMemberCooldown(memberId, null, m?.lastError ?? null);
  }

  async close(): Promise<void> {
    await this.upstreams.close();
    await this.db.close();
  }
}
