import type { Generated } from 'kysely';

/** Database tables. Booleans are stored as 0/1 and times as ms since epoch, in both engines. */
export interface Database {
  providers: ProvidersTable;
  provider_models: ProviderModelsTable;
  pool_members: PoolMembersTable;
  admin_sessions: AdminSessionsTable;
  request_logs: RequestLogsTable;
  settings: SettingsTable;
  access_keys: AccessKeysTable;
  pools: PoolsTable;
  provider_keys: ProviderKeysTable;
  prices: PricesTable;
}

/** The price table (CONTRACT "Prices and cost"), USD per million tokens, in its order. */
export interface PricesTable {
  position: number;
  /** A model id or a glob (`*`, `?`), matched ignoring case. */
  match: string;
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

/** A provider's keys in order (CONTRACT "Provider keys"): sealed like providers.api_key, each with its own cooldown. */
export interface ProviderKeysTable {
  id: Generated<number>;
  provider_id: number;
  /** 0 for the first key (also kept in providers.api_key). */
  position: number;
  api_key: string;
  cooldown_until: number | null;
  last_error: string | null;
  created_at: number;
}

/** Per-pool settings; a pool without a row has the defaults (affinity "session"). */
export interface PoolsTable {
  name: string;
  /** "session": a conversation keeps its member; "none": every request takes its turn. */
  affinity: string;
}

export interface AccessKeysTable {
  id: Generated<number>;
  name: string;
  /** SHA-256 (hex) of the secret; the secret itself is never stored. */
  key_hash: string;
  key_last4: string;
  /** JSON array of pool names the key may use. */
  pools: string;
  rpm: number | null;
  max_concurrent: number | null;
  expires_at: number | null;
  enabled: number;
  created_at: number;
  last_used_at: number | null;
}

export interface RequestLogsTable {
  id: Generated<number>;
  ts: number;
  entry_format: string;
  requested_model: string;
  pool: string | null;
  provider_id: number | null;
  provider_name: string | null;
  upstream_model: string | null;
  status: number;
  latency_ms: number;
  ttft_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  stream: number;
  /** JSON array of the failed attempts before the final one. */
  attempts: string;
  error: string | null;
  request_body: string | null;
  response_body: string | null;
  key_id: number | null;
  key_name: string | null;
  /** The conversation the request belonged to (null: none named), and what affinity did (new / kept / moved / none). */
  conversation: string | null;
  affinity: string;
  /** What the request cost in USD, and what its cache reads saved against the input price (null: no price matched). */
  cost_usd: number | null;
  cache_savings_usd: number | null;
}

export interface SettingsTable {
  key: string;
  value: string;
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
  /** What the provider's model list says (null: it does not say). */
  context_window: number | null;
  vision: number | null;
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
  /** Tokens the model holds (null: unknown); vision 1/0, null: unknown. */
  context_window: number | null;
  vision: number | null;
}

export interface AdminSessionsTable {
  token_hash: string;
  expires_at: number;
  /** 1: opened with the default password from another machine; only a password change is allowed. */
  must_change: Generated<number>;
}
