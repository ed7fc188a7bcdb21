import type { Generated } from 'kysely';

/** Database tables. Booleans are stored as 0/1 and times as ms since epoch, in both engines. */
export interface Database {
  providers: ProvidersTable;
  provider_models: ProviderModelsTable;
  pool_members: PoolMembersTable;
  admin_sessions: AdminSessionsTable;
}

export interface ProvidersTable {
  id: Generated<number>;
  name: string;
  base_url: string;
  api_key: string;
  format: string;
  enabled: number;
  cooldown_seconds: number | null;
  /** JSON object of per-provider options (conversion knobs). */
  options: string;
  created_at: number;
}

export interface ProviderModelsTable {
  provider_id: number;
  model_id: string;
  fetched_at: number;
}

export interface PoolMembersTable {
  id: Generated<number>;
  pool: string;
  provider_id: number;
  model: string;
  enabled: number;
  weight: number;
  cooldown_until: number | null;
  last_error: string | null;
  created_at: number;
}

export interface AdminSessionsTable {
  token_hash: string;
  expires_at: number;
}
