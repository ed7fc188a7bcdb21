import type { Kysely, Selectable } from 'kysely';
import type { Database, PoolMembersTable, ProvidersTable } from './schema.js';
import type { Format } from '../protocol/formats.js';
import type { ProviderOptions } from '../protocol/convert/types.js';
import type { PoolName } from '../routing/pools.js';
import { isSealed, UnsealError, type Sealer } from '../secrets/seal.js';

export interface Provider {
  id: number;
  name: string;
  baseUrl: string;
  apiKey: string;
  format: Format;
  enabled: boolean;
  /** Null: DEFAULT_COOLDOWN_SECONDS applies. */
  cooldownSeconds: number | null;
  options: ProviderOptions;
  createdAt: number;
  /**
   * The stored key could not be opened with the current secret (SECRET_KEY changed): `apiKey` is
   * then "" (requests go without a key and fail upstream), and the admin API says so.
   */
  keyUnreadable?: boolean;
}

export interface Member {
  id: number;
  pool: PoolName;
  providerId: number;
  model: string;
  enabled: boolean;
  weight: number;
  cooldownUntil: number | null;
  lastError: string | null;
  createdAt: number;
  /** Tokens the member's model can hold (null: unknown, no limit applied). */
  contextWindow?: number | null;
  /** The model accepts images (false: image requests skip it; null: unknown, accepted). */
  vision?: boolean | null;
}

export type NewProvider = Omit<Provider, 'id' | 'createdAt' | 'keyUnreadable'>;

/** What a member's model can hold; null: unknown. */
export interface ModelCapabilities {
  contextWindow: number | null;
  vision: boolean | null;
}

/** A model of a provider's fetched list, with what the list says it can hold (null: it does not say). */
export interface ProviderModel extends ModelCapabilities {
  id: string;
}

/** A model to add to a pool; capabilities given here win over the fetched list's (null included). */
export interface NewMemberModel {
  id: string;
  contextWindow?: number | null;
  vision?: boolean | null;
}

/** A pool's affinity (CONTRACT "Conversations and member capabilities"); default "session". */
export type PoolAffinity = 'session' | 'none';
export const DEFAULT_POOL_AFFINITY: PoolAffinity = 'session';

/** Where Repo reports a stored key it cannot open (the process log; never the key). */
export type KeyProblemLog = (providerId: number, providerName: string, reason: string) => void;

function toMember(r: Selectable<PoolMembersTable>): Member {
  return {
    id: Number(r.id),
    pool: r.pool as PoolName,
    providerId: Number(r.provider_id),
    model: r.model,
    enabled: !!r.enabled,
    weight: Number(r.weight),
    cooldownUntil: r.cooldown_until === null ? null : Number(r.cooldown_until),
    lastError: r.last_error,
    createdAt: Number(r.created_at),
    contextWindow: r.context_window === null || r.context_window === undefined ? null : Number(r.context_window),
    vision: r.vision === null || r.vision === undefined ? null : Number(r.vision) === 1,
  };
}

const visionColumn = (v: boolean | null | undefined): number | null => (v === null || v === undefined ? null : v ? 1 : 0);

/** Every query the gateway makes, over either engine. */
export class Repo {
  private sealer: Sealer | null = null;
  private keyProblem: KeyProblemLog = () => {};
  /** `id:stored value` of unreadable keys already reported (a reload every few seconds must not repeat it). */
  private readonly reported = new Set<string>();

  constructor(private readonly db: Kysely<Database>) {}

  /** Provider keys are sealed with this on write and opened on read (set by Gateway.open before any query). */
  useSealer(sealer: Sealer, onKeyProblem?: KeyProblemLog): void {
    this.sealer = sealer;
    if (onKeyProblem) this.keyProblem = onKeyProblem;
  }

  private sealKey(plain: string): string {
    if (!this.sealer) throw new Error('provider keys cannot be stored before the sealer is set');
    return this.sealer.seal(plain);
  }

  private toProvider(r: Selectable<ProvidersTable>): Provider {
    let options: ProviderOptions = {};
    try { options = JSON.parse(r.options) ?? {}; } catch { /* keep defaults */ }
    const id = Number(r.id);
    let apiKey = r.api_key;
    let keyUnreadable = false;
    if (isSealed(apiKey)) {
      try {
        if (!this.sealer) throw new UnsealError('no sealer');
        apiKey = this.sealer.open(apiKey).value;
      } catch (err) {
        const tag = `${id}:${r.api_key}`;
        if (!this.reported.has(tag)) {
          this.reported.add(tag);
          this.keyProblem(id, r.name, (err as Error).message);
        }
        apiKey = '';
        keyUnreadable = true;
      }
    }
    return {
      id,
      name: r.name,
      baseUrl: r.base_url,
      apiKey,
      format: r.format as Format,
      enabled: !!r.enabled,
      cooldownSeconds: r.cooldown_seconds === null ? null : Number(r.cooldown_seconds),
      options,
      createdAt: Number(r.created_at),
      ...(keyUnreadable ? { keyUnreadable } : {}),
    };
  }

  /**
   * Start-up pass (idempotent): keys stored in plain text by an older version, or sealed with a
   * secret that only still opens them (the key file, once SECRET_KEY is set), are sealed with
   * the current secret. A row changed meanwhile (another replica) is left to that change.
   */
  async sealStoredKeys(): Promise<{ sealed: number; unreadable: number }> {
    if (!this.sealer) throw new Error('no sealer set');
    const rows = await this.db.selectFrom('providers').select(['id', 'name', 'api_key']).execute();
    let sealed = 0;
    let unreadable = 0;
    for (const r of rows) {
      if (r.api_key === '') continue;
      let plain: string;
      if (!isSealed(r.api_key)) {
        plain = r.api_key;
      } else {
        try {
          const o = this.sealer.open(r.api_key);
          if (!o.stale) continue;
          plain = o.value;
        } catch {
          unreadable++;
          continue;
        }
      }
      const res = await this.db.updateTable('providers').set({ api_key: this.sealer.seal(plain) })
        .where('id', '=', r.id).where('api_key', '=', r.api_key).executeTakeFirst();
      sealed += Number(res.numUpdatedRows) > 0 ? 1 : 0;
    }
    return { sealed, unreadable };
  }

  async listProviders(): Promise<Provider[]> {
    const rows = await this.db.selectFrom('providers').selectAll().orderBy('id').execute();
    return rows.map((r) => this.toProvider(r));
  }

  async getProvider(id: number): Promise<Provider | null> {
    const r = await this.db.selectFrom('providers').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? this.toProvider(r) : null;
  }

  async createProvider(p: NewProvider): Promise<Provider> {
    const r = await this.db
      .insertInto('providers')
      .values({
        name: p.name,
        base_url: p.baseUrl,
        api_key: this.sealKey(p.apiKey),
        format: p.format,
        enabled: p.enabled ? 1 : 0,
        cooldown_seconds: p.cooldownSeconds,
        options: JSON.stringify(p.options ?? {}),
        created_at: Date.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return this.toProvider(r);
  }

  async updateProvider(id: number, patch: Partial<NewProvider>): Promise<Provider | null> {
    const values: Partial<Record<keyof ProvidersTable, unknown>> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.baseUrl !== undefined) values.base_url = patch.baseUrl;
    if (patch.apiKey !== undefined) values.api_key = this.sealKey(patch.apiKey);
    if (patch.format !== undefined) values.format = patch.format;
    if (patch.enabled !== undefined) values.enabled = patch.enabled ? 1 : 0;
    if (patch.cooldownSeconds !== undefined) values.cooldown_seconds = patch.cooldownSeconds;
    if (patch.options !== undefined) values.options = JSON.stringify(patch.options);
    if (Object.keys(values).length > 0) {
      await this.db.updateTable('providers').set(values as never).where('id', '=', id).execute();
    }
    return this.getProvider(id);
  }

  /** Deletes a provider with its pool members and fetched models. False when it did not exist. */
  async deleteProvider(id: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('pool_members').where('provider_id', '=', id).execute();
      await tx.deleteFrom('provider_models').where('provider_id', '=', id).execute();
      const res = await tx.deleteFrom('providers').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  /** Replaces a provider's fetched model list (ids, or ids with what the list says they hold). */
  async setProviderModels(providerId: number, models: (string | ProviderModel)[]): Promise<void> {
    const now = Date.now();
    const rows = models.map((m) => (typeof m === 'string'
      ? { provider_id: providerId, model_id: m, fetched_at: now, context_window: null, vision: null }
      : { provider_id: providerId, model_id: m.id, fetched_at: now, context_window: m.contextWindow, vision: visionColumn(m.vision) }));
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('provider_models').where('provider_id', '=', providerId).execute();
      // chunk to stay under SQLite's bound-parameter limit
      for (let i = 0; i < rows.length; i += 150) {
        await tx.insertInto('provider_models').values(rows.slice(i, i + 150)).execute();
      }
    });
  }

  async listProviderModels(providerId: number): Promise<string[]> {
    return (await this.listProviderModelInfo(providerId)).map((m) => m.id);
  }

  /** The fetched model list with what it says each model holds (null: unknown). */
  async listProviderModelInfo(providerId: number): Promise<ProviderModel[]> {
    const rows = await this.db
      .selectFrom('provider_models')
      .select(['model_id', 'context_window', 'vision'])
      .where('provider_id', '=', providerId)
      .orderBy('model_id')
      .execute();
    return rows.map((r) => ({
      id: r.model_id,
      contextWindow: r.context_window === null ? null : Number(r.context_window),
      vision: r.vision === null ? null : Number(r.vision) === 1,
    }));
  }

  async listMembers(): Promise<Member[]> {
    const rows = await this.db.selectFrom('pool_members').selectAll().orderBy('id').execute();
    return rows.map(toMember);
  }

  async getMember(id: number): Promise<Member | null> {
    const r = await this.db.selectFrom('pool_members').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toMember(r) : null;
  }

  /**
   * Adds (pool, provider, model) members; pairs already there are returned as they are. A new
   * member's context window and vision come from the model entry when it gives them, else from
   * the provider's fetched model list (null when that does not say, or was never fetched).
   */
  async addMembers(pool: PoolName, providerId: number, models: (string | NewMemberModel)[]): Promise<Member[]> {
    return this.db.transaction().execute(async (tx) => {
      const out: Member[] = [];
      const fetched = new Map<string, { context_window: number | null; vision: number | null }>();
      const ids = models.map((m) => (typeof m === 'string' ? m : m.id));
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await tx.selectFrom('provider_models').select(['model_id', 'context_window', 'vision'])
          .where('provider_id', '=', providerId).where('model_id', 'in', ids.slice(i, i + 500)).execute();
        for (const r of rows) fetched.set(r.model_id, r);
      }
      for (const entry of models) {
        const given: NewMemberModel = typeof entry === 'string' ? { id: entry } : entry;
        const model = given.id;
        const known = fetched.get(model);
        const contextWindow = given.contextWindow !== undefined ? given.contextWindow : (known?.context_window ?? null);
        const vision = given.vision !== undefined ? visionColumn(given.vision) : (known?.vision ?? null);
        const existing = await tx
          .selectFrom('pool_members')
          .selectAll()
          .where('pool', '=', pool)
          .where('provider_id', '=', providerId)
          .where('model', '=', model)
          .executeTakeFirst();
        if (existing) {
          out.push(toMember(existing));
          continue;
        }
        const r = await tx
          .insertInto('pool_members')
          .values({ pool, provider_id: providerId, model, enabled: 1, weight: 1, cooldown_until: null, last_error: null, created_at: Date.now(), context_window: contextWindow === null ? null : Number(contextWindow), vision: vision === null ? null : Number(vision) })
          .returningAll()
          .executeTakeFirstOrThrow();
        out.push(toMember(r));
      }
      return out;
    });
  }

  async updateMember(id: number, patch: { enabled?: boolean; weight?: number; contextWindow?: number | null; vision?: boolean | null }): Promise<Member | null> {
    const values: Record<string, unknown> = {};
    if (patch.enabled !== undefined) values.enabled = patch.enabled ? 1 : 0;
    if (patch.weight !== undefined) values.weight = patch.weight;
    if (patch.contextWindow !== undefined) values.context_window = patch.contextWindow;
    if (patch.vision !== undefined) values.vision = visionColumn(patch.vision);
    if (Object.keys(values).length > 0) {
      await this.db.updateTable('pool_members').set(values as never).where('id', '=', id).execute();
    }
    return this.getMember(id);
  }

  async deleteMember(id: number): Promise<boolean> {
    const res = await this.db.deleteFrom('pool_members').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Records a member's cooldown (or clears it with nulls). */
  async setMemberCooldown(id: number, until: number | null, lastError: string | null): Promise<void> {
    await this.db
      .updateTable('pool_members')
      .set({ cooldown_until: until, last_error: lastError })
      .where('id', '=', id)
      .execute();
  }

  /** Each pool's affinity that is not the default (a pool without a row is "session"). */
  async poolAffinities(): Promise<Partial<Record<PoolName, PoolAffinity>>> {
    const rows = await this.db.selectFrom('pools').select(['name', 'affinity']).execute();
    const out: Partial<Record<PoolName, PoolAffinity>> = {};
    for (const r of rows) out[r.name as PoolName] = r.affinity === 'none' ? 'none' : 'session';
    return out;
  }

  async setPoolAffinity(pool: PoolName, affinity: PoolAffinity): Promise<void> {
    await this.db
      .insertInto('pools')
      .values({ name: pool, affinity })
      .onConflict((oc) => oc.column('name').doUpdateSet({ affinity }))
      .execute();
  }

  async createSession(tokenHash: string, expiresAt: number, mustChange = false): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('expires_at', '<', Date.now() - 24 * 3600 * 1000).execute();
    await this.db.insertInto('admin_sessions').values({ token_hash: tokenHash, expires_at: expiresAt, must_change: mustChange ? 1 : 0 }).execute();
  }

  /** Ends a session. Its row stays (expired) for a day, so that a client still presenting it is
   *  told "expired" and is not counted as guessing; createSession prunes older rows. */
  async endSession(tokenHash: string): Promise<void> {
    await this.db.updateTable('admin_sessions').set({ expires_at: Date.now() }).where('token_hash', '=', tokenHash).execute();
  }

  async endAllSessions(): Promise<void> {
    const now = Date.now();
    await this.db.updateTable('admin_sessions').set({ expires_at: now }).where('expires_at', '>', now).execute();
  }

  async getSetting(key: string): Promise<string | null> {
    const r = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return r ? r.value : null;
  }

  async putSetting(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async findSession(tokenHash: string): Promise<{ expiresAt: number; mustChange: boolean } | null> {
    const r = await this.db.selectFrom('admin_sessions').select(['expires_at', 'must_change']).where('token_hash', '=', tokenHash).executeTakeFirst();
    return r ? { expiresAt: Number(r.expires_at), mustChange: Number(r.must_change) === 1 } : null;
  }
}
