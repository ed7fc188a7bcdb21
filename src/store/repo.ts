import type { Kysely, Selectable } from 'kysely';
import type { Database, PoolMembersTable, ProviderKeysTable, ProvidersTable } from './schema.js';
import type { Format } from '../protocol/formats.js';
import type { ProviderOptions } from '../protocol/convert/types.js';
import type { PoolName } from '../routing/pools.js';
import { isSealed, UnsealError, type Sealer } from '../secrets/seal.js';

export interface Provider {
  id: number;
  name: string;
  baseUrl: string;
  /** The first key ("" when none): what a single-key provider sends, the Test button and model fetches too. */
  apiKey: string;
  /**
   * Every key, in order (CONTRACT "Provider keys": requests take them in turn). Always set by the
   * store; absent (a provider object built elsewhere), `apiKey` is the one key.
   */
  keys?: ProviderKey[];
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

/** One key of a provider, opened; `id` is its provider_keys row (negative: a key only in providers.api_key). */
export interface ProviderKey {
  id: number;
  apiKey: string;
  cooldownUntil: number | null;
  lastError: string | null;
  /** Sealed under another secret (SECRET_KEY changed): `apiKey` is "". */
  unreadable?: boolean;
}

/** A provider to store: `apiKeys` (several keys) wins over `apiKey` (one key, "" for none). */
export type NewProvider = Omit<Provider, 'id' | 'createdAt' | 'keyUnreadable' | 'keys'> & { apiKeys?: string[] };

/** The keys a write sets: `apiKeys` when given, else `apiKey` (one key; "" none); undefined when neither. */
function keysOf(p: { apiKey?: string; apiKeys?: string[] }): string[] | undefined {
  if (p.apiKeys !== undefined) return p.apiKeys;
  if (p.apiKey !== undefined) return p.apiKey === '' ? [] : [p.apiKey];
  return undefined;
}

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

  /**
   * A provider with its keys: the provider_keys rows, or (none there: a row written by an older
   * version) providers.api_key as its one key. A key that does not open is "" and reported once.
   */
  private toProvider(r: Selectable<ProvidersTable>, keyRows: Selectable<ProviderKeysTable>[] = []): Provider {
    let options: ProviderOptions = {};
    try { options = JSON.parse(r.options) ?? {}; } catch { /* keep defaults */ }
    const id = Number(r.id);
    const stored: { id: number; api_key: string; cooldown_until: number | null; last_error: string | null }[] = keyRows.length > 0
      ? keyRows
      : r.api_key !== '' ? [{ id: -id, api_key: r.api_key, cooldown_until: null, last_error: null }] : [];
    let problem: string | null = null;
    const keys: ProviderKey[] = stored.map((k) => {
      const key: ProviderKey = {
        id: Number(k.id),
        apiKey: k.api_key,
        cooldownUntil: k.cooldown_until === null ? null : Number(k.cooldown_until),
        lastError: k.last_error,
      };
      if (isSealed(k.api_key)) {
        try {
          if (!this.sealer) throw new UnsealError('no sealer');
          key.apiKey = this.sealer.open(k.api_key).value;
        } catch (err) {
          problem ??= (err as Error).message;
          key.apiKey = '';
          key.unreadable = true;
        }
      }
      return key;
    });
    // (two replicas repairing the same row at one start could store a key twice: it is one key)
    for (let i = keys.length - 1; i > 0; i--) {
      if (!keys[i]!.unreadable && keys.findIndex((k) => !k.unreadable && k.apiKey === keys[i]!.apiKey) < i) keys.splice(i, 1);
    }
    if (problem !== null) {
      // once per provider and stored value (a reload every few seconds must not repeat it)
      const tag = `${id}:${stored.map((k) => k.api_key).join(',')}`;
      if (!this.reported.has(tag)) {
        this.reported.add(tag);
        this.keyProblem(id, r.name, problem);
      }
    }
    const keyUnreadable = problem !== null;
    return {
      id,
      name: r.name,
      baseUrl: r.base_url,
      apiKey: keys[0]?.apiKey ?? '',
      keys,
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
   * the current secret — in providers.api_key and in provider_keys. A row changed meanwhile
   * (another replica) is left to that change. providers.api_key is the first key: when an older
   * version changed it after the upgrade (it knows no provider_keys), its key becomes the
   * provider's only key; a provider without provider_keys rows gets its key copied there.
   */
  async sealStoredKeys(): Promise<{ sealed: number; unreadable: number }> {
    const sealer = this.sealer;
    if (!sealer) throw new Error('no sealer set');
    const rows = await this.db.selectFrom('providers').select(['id', 'name', 'api_key']).execute();
    const keyRows = await this.db.selectFrom('provider_keys').select(['id', 'provider_id', 'api_key']).orderBy('provider_id').orderBy('position').execute();
    /** The plain value, whether it must be sealed again, or null when it does not open. */
    const open = (stored: string): { plain: string; reseal: boolean } | null => {
      if (!isSealed(stored)) return { plain: stored, reseal: stored !== '' };
      try {
        const o = sealer.open(stored);
        return { plain: o.value, reseal: o.stale };
      } catch {
        return null;
      }
    };
    const touched = new Set<number>();
    let unreadable = 0;
    for (const r of rows) {
      const first = open(r.api_key);
      if (first === null) unreadable++;
      else if (first.reseal) {
        const res = await this.db.updateTable('providers').set({ api_key: sealer.seal(first.plain) })
          .where('id', '=', r.id).where('api_key', '=', r.api_key).executeTakeFirst();
        if (Number(res.numUpdatedRows) > 0) touched.add(Number(r.id));
      }
      const mine = keyRows.filter((k) => Number(k.provider_id) === Number(r.id));
      if (first === null) continue;
      const listed = mine.length > 0 ? open(mine[0]!.api_key) : null;
      if ((mine.length === 0 && first.plain !== '') || (listed !== null && listed.plain !== first.plain)) {
        await this.db.transaction().execute(async (tx) => {
          await tx.deleteFrom('provider_keys').where('provider_id', '=', r.id).execute();
          if (first.plain !== '') await tx.insertInto('provider_keys').values({ provider_id: Number(r.id), position: 0, api_key: sealer.seal(first.plain), cooldown_until: null, last_error: null, created_at: Date.now() }).execute();
        });
        touched.add(Number(r.id));
        continue;
      }
      for (const k of mine) {
        const o = open(k.api_key);
        if (o === null || !o.reseal) continue;
        const res = await this.db.updateTable('provider_keys').set({ api_key: sealer.seal(o.plain) })
          .where('id', '=', k.id).where('api_key', '=', k.api_key).executeTakeFirst();
        if (Number(res.numUpdatedRows) > 0) touched.add(Number(r.id));
      }
    }
    return { sealed: touched.size, unreadable };
  }

  /** Every provider's keys, in order, by provider id. */
  private async keyRows(providerId?: number): Promise<Map<number, Selectable<ProviderKeysTable>[]>> {
    let q = this.db.selectFrom('provider_keys').selectAll();
    if (providerId !== undefined) q = q.where('provider_id', '=', providerId);
    const rows = await q.orderBy('provider_id').orderBy('position').orderBy('id').execute();
    const out = new Map<number, Selectable<ProviderKeysTable>[]>();
    for (const k of rows) {
      const list = out.get(Number(k.provider_id));
      if (list) list.push(k);
      else out.set(Number(k.provider_id), [k]);
    }
    return out;
  }

  /**
   * Makes `keys` the provider's key list: rows of keys that stay keep their id (and so their
   * cooldown), in their new place; rows of keys no longer listed go; new keys get rows.
   * providers.api_key is set to the first key by the caller.
   */
  private async writeKeys(tx: Kysely<Database>, providerId: number, keys: readonly string[]): Promise<void> {
    const rows = await tx.selectFrom('provider_keys').select(['id', 'api_key']).where('provider_id', '=', providerId).orderBy('position').execute();
    const kept = new Map<string, number>();
    const gone: number[] = [];
    for (const r of rows) {
      let plain: string | null = null;
      try { plain = this.sealer!.open(r.api_key).value; } catch { /* unreadable: replaced */ }
      if (plain !== null && keys.includes(plain) && !kept.has(plain)) kept.set(plain, Number(r.id));
      else gone.push(Number(r.id));
    }
    if (gone.length) await tx.deleteFrom('provider_keys').where('id', 'in', gone).execute();
    const now = Date.now();
    for (let i = 0; i < keys.length; i++) {
      const id = kept.get(keys[i]!);
      if (id !== undefined) await tx.updateTable('provider_keys').set({ position: i }).where('id', '=', id).execute();
      else await tx.insertInto('provider_keys').values({ provider_id: providerId, position: i, api_key: this.sealKey(keys[i]!), cooldown_until: null, last_error: null, created_at: now }).execute();
    }
  }

  async listProviders(): Promise<Provider[]> {
    const [rows, keys] = await Promise.all([this.db.selectFrom('providers').selectAll().orderBy('id').execute(), this.keyRows()]);
    return rows.map((r) => this.toProvider(r, keys.get(Number(r.id))));
  }

  async getProvider(id: number): Promise<Provider | null> {
    const [r, keys] = await Promise.all([this.db.selectFrom('providers').selectAll().where('id', '=', id).executeTakeFirst(), this.keyRows(id)]);
    return r ? this.toProvider(r, keys.get(id)) : null;
  }

  async createProvider(p: NewProvider): Promise<Provider> {
    const keys = keysOf(p) ?? [];
    const id = await this.db.transaction().execute(async (tx) => {
      const r = await tx
        .insertInto('providers')
        .values({
          name: p.name,
          base_url: p.baseUrl,
          api_key: this.sealKey(keys[0] ?? ''),
          format: p.format,
          enabled: p.enabled ? 1 : 0,
          cooldown_seconds: p.cooldownSeconds,
          options: JSON.stringify(p.options ?? {}),
          created_at: Date.now(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.writeKeys(tx, Number(r.id), keys);
      return Number(r.id);
    });
    return (await this.getProvider(id))!;
  }

  async updateProvider(id: number, patch: Partial<NewProvider>): Promise<Provider | null> {
    const values: Partial<Record<keyof ProvidersTable, unknown>> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.baseUrl !== undefined) values.base_url = patch.baseUrl;
    const keys = keysOf(patch);
    if (keys !== undefined) values.api_key = this.sealKey(keys[0] ?? '');
    if (patch.format !== undefined) values.format = patch.format;
    if (patch.enabled !== undefined) values.enabled = patch.enabled ? 1 : 0;
    if (patch.cooldownSeconds !== undefined) values.cooldown_seconds = patch.cooldownSeconds;
    if (patch.options !== undefined) values.options = JSON.stringify(patch.options);
    if (Object.keys(values).length > 0) {
      await this.db.transaction().execute(async (tx) => {
        await tx.updateTable('providers').set(values as never).where('id', '=', id).execute();
        if (keys !== undefined) await this.writeKeys(tx, id, keys);
      });
    }
    return this.getProvider(id);
  }

  /** Deletes a provider with its pool members and fetched models. False when it did not exist. */
  async deleteProvider(id: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('pool_members').where('provider_id', '=', id).execute();
      await tx.deleteFrom('provider_models').where('provider_id', '=', id).execute();
      await tx.deleteFrom('provider_keys').where('provider_id', '=', id).execute();
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

  /** Records a provider key's cooldown (or clears it with nulls). */
  async setKeyCooldown(keyId: number, until: number | null, lastError: string | null): Promise<void> {
    await this.db.updateTable('provider_keys').set({ cooldown_until: until, last_error: lastError }).where('id', '=', keyId).execute();
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
