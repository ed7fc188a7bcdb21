import { sql, type Kysely, type Selectable } from 'kysely';
import type { AccessKeysTable, Database } from './schema.js';
import type { AccessKey, AccessKeyInput } from '../access/keys.js';
import { POOL_NAMES, isPoolName, type PoolName } from '../routing/pools.js';

function toKey(r: Selectable<AccessKeysTable>): AccessKey {
  let pools: PoolName[] = [...POOL_NAMES];
  try {
    const parsed = JSON.parse(r.pools);
    if (Array.isArray(parsed)) pools = parsed.filter((p): p is PoolName => typeof p === 'string' && isPoolName(p));
  } catch { /* all pools */ }
  return {
    id: Number(r.id),
    name: r.name,
    hash: r.key_hash,
    last4: r.key_last4,
    pools,
    rpm: r.rpm === null ? null : Number(r.rpm),
    maxConcurrent: r.max_concurrent === null ? null : Number(r.max_concurrent),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    enabled: !!r.enabled,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

export interface KeyUsage {
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
}

/** The queries of access keys (admin API, reload, last-used flush). */
export class AccessKeyRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<AccessKey[]> {
    return (await this.db.selectFrom('access_keys').selectAll().orderBy('id').execute()).map(toKey);
  }

  async get(id: number): Promise<AccessKey | null> {
    const r = await this.db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toKey(r) : null;
  }

  async create(input: Required<Pick<AccessKeyInput, 'name' | 'pools'>> & AccessKeyInput, hash: string, last4: string): Promise<AccessKey> {
    const r = await this.db
      .insertInto('access_keys')
      .values({
        name: input.name,
        key_hash: hash,
        key_last4: last4,
        pools: JSON.stringify(input.pools),
        rpm: input.rpm ?? null,
        max_concurrent: input.maxConcurrent ?? null,
        expires_at: input.expiresAt ?? null,
        enabled: input.enabled === false ? 0 : 1,
        created_at: Date.now(),
        last_used_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toKey(r);
  }

  async update(id: number, patch: AccessKeyInput): Promise<AccessKey | null> {
    const values: Record<string, unknown> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.pools !== undefined) values.pools = JSON.stringify(patch.pools);
    if (patch.rpm !== undefined) values.rpm = patch.rpm;
    if (patch.maxConcurrent !== undefined) values.max_concurrent = patch.maxConcurrent;
    if (patch.expiresAt !== undefined) values.expires_at = patch.expiresAt;
    if (patch.enabled !== undefined) values.enabled = patch.enabled ? 1 : 0;
    if (Object.keys(values).length > 0) await this.db.updateTable('access_keys').set(values as never).where('id', '=', id).execute();
    return this.get(id);
  }

  async delete(id: number): Promise<boolean> {
    const res = await this.db.deleteFrom('access_keys').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Records when keys were last used; a later time already stored wins. */
  async touch(used: ReadonlyMap<number, number>): Promise<void> {
    for (const [id, at] of used) {
      await this.db
        .updateTable('access_keys')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    }
  }

  /** Requests, errors and tokens per key over the stored request log. */
  async usage(): Promise<Map<number, KeyUsage>> {
    const rows = await this.db
      .selectFrom('request_logs')
      .select([
        'key_id',
        sql<number>`count(*)`.as('requests'),
        sql<number>`sum(case when status >= 400 then 1 else 0 end)`.as('errors'),
        sql<number>`sum(input_tokens)`.as('input'),
        sql<number>`sum(output_tokens)`.as('output'),
      ])
      .where('key_id', 'is not', null)
      .groupBy('key_id')
      .execute();
    const out = new Map<number, KeyUsage>();
    for (const r of rows) {
      out.set(Number(r.key_id), { requests: Number(r.requests), errors: Number(r.errors ?? 0), inputTokens: Number(r.input ?? 0), outputTokens: Number(r.output ?? 0) });
    }
    return out;
  }
}
