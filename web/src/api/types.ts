// Shapes of the admin API (see shared CONTRACT.md and the UI issue). Fields the server may add
// later are optional here so the UI degrades gracefully against an older gateway.

import type { Price } from '../../../src/admin/schema/prices';
import type { DayTotals } from '../../../src/telemetry/daily';
// Request bodies (and the shapes they share with answers) come from the gateway's own schemas, the
// ones the admin API validates with: type-only imports, erased from the bundle.
import type { FORMAT_VALUES, ProviderOptionsInput, ProviderOptionsValue, ProviderPatchBody } from '../../../src/admin/schema/provider';
import type { POOL_VALUES, PoolPatchBody } from '../../../src/admin/schema/pools';
import type { AccessKeyPatchBody } from '../../../src/admin/schema/access-key';
import type { SettingsValue } from '../../../src/admin/schema/settings';
import type { ConfigApplyResult, ConfigChange, ConfigDocument } from '../../../src/admin/schema/config';

export type Format = (typeof FORMAT_VALUES)[number];
export type PoolName = (typeof POOL_VALUES)[number];
export const POOLS: PoolName[] = ['tool', 'normal', 'advanced'];

/** A provider's options as answered (every one the gateway takes, reasoningContent and thinkingStyle too). */
export type ProviderOptions = ProviderOptionsValue;
/** Options as sent: null sets one back to its default. */
export type { ProviderOptionsInput };

export interface Provider {
  id: number;
  name: string;
  baseUrl: string;
  format: Format;
  apiKeyMasked: string;
  /** Every key, masked (several keys per provider: requests take them in turn). */
  apiKeysMasked?: string[];
  /** Each key's own state: a key refused (401/403) or rate-limited (429) cools alone. */
  keys?: ProviderKeyState[];
  enabled: boolean;
  cooldownSeconds: number;
  cooldownIsDefault?: boolean;
  options?: ProviderOptions;
  memberCount?: number;
  createdAt: string;
}

/** One key of a provider as the admin API shows it (never the key itself). */
export interface ProviderKeyState {
  masked: string;
  state: 'ready' | 'cooling';
  cooldownUntil: string | null;
  lastError: string | null;
  failures?: number;
  cooldownKind?: CooldownKind | null;
}

/** POST / PATCH /admin/providers: one key as apiKey ("" for none), or several as apiKeys (send one of the two). */
export type ProviderInput = ProviderPatchBody;

export type MemberState = 'ready' | 'cooling' | 'disabled';

export interface Member {
  id: number;
  pool: PoolName;
  providerId: number;
  providerName: string;
  providerFormat?: Format;
  model: string;
  enabled: boolean;
  weight: number;
  state: MemberState;
  cooldownUntil: string | null;
  lastError: string | null;
  /** Failures in a row (0 after a success): each one doubles the next cooldown, up to MAX_COOLDOWN_SECONDS. */
  failures?: number;
  /** Why the running cooldown was set (null when not cooling, or not known). */
  cooldownKind?: CooldownKind | null;
  /** A probe request is running on this cooling member. */
  probing?: boolean;
  /** Tokens the member's model holds; null: unknown (no limit applied). */
  contextWindow?: number | null;
  /** The model accepts images; null: unknown (image requests may go to it). */
  vision?: boolean | null;
}

/** What a pool does with conversations: keep each on its member ("session") or rotate every request ("none"). */
export type PoolAffinity = NonNullable<PoolPatchBody['affinity']>;

/** What affinity did for one request. */
export type AffinityResult = 'new' | 'kept' | 'moved' | 'none';

/** transient and unreachable cooldowns may be probed; rate-limit, auth and other ones are waited out. */
export type CooldownKind = 'transient' | 'unreachable' | 'rate-limit' | 'auth' | 'other';

export interface Pool {
  name: PoolName;
  virtualModel: string;
  /** Absent on an older gateway. */
  affinity?: PoolAffinity;
  members: Member[];
}

/** What the gateway knows about its own exposure (GET /admin/status → security). */
export interface Security {
  /** How many access keys exist. */
  accessKeys: number;
  /** No access key exists: anyone who reaches /v1 can use it. */
  openAccess: boolean;
  /** The gateway listens beyond loopback (e.g. HOST=0.0.0.0). */
  exposed: boolean;
  defaultPassword: boolean;
  /** ADMIN_PASSWORD is set in the environment: the password can only be changed there. */
  passwordFromEnv: boolean;
}

export interface Status {
  defaultPassword: boolean;
  security?: Security;
  version?: string;
  uptimeSeconds?: number;
  storage?: string;
  redis?: boolean;
  virtualModels?: Record<PoolName, string>;
  openaiBaseUrl?: string;
  anthropicBaseUrl?: string;
}

export interface TestResult {
  ok: boolean;
  status: number;
  latencyMs: number;
  answer?: string;
  error?: string;
}

export interface StatsTotals {
  requests: number;
  success: number;
  errors: number;
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheCreationTokens: number | null;
  /** USD, by the price table when each request was recorded (absent on an older gateway). */
  costUsd?: number;
  /** What the cache reads would have cost at the input price, minus what they cost (USD). */
  cacheSavingsUsd?: number;
  /** Requests with tokens whose model has no price (their cost is missing from costUsd). */
  unpricedRequests?: number;
}

export interface StatsPoint {
  t: string;
  requests: number | null;
  errors: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  ttftP50Ms: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  costUsd?: number | null;
}

/** One pool member's totals: its pool, provider and real model (memberId null once removed). */
export interface MemberStats extends StatsTotals {
  memberId: number | null;
  pool: PoolName;
  providerId: number;
  provider: string;
  model: string;
}

/** One hour of the last 24 (GET /admin/stats → byHour). */
export interface HourStats {
  t: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costUsd: number;
  cacheSavingsUsd: number;
}

/** One day of the request log (GET /admin/stats?days=&tzOffset= → byDay): the server's own type. */
export type DayStats = DayTotals;

/** One row of the price table: USD per million tokens; `match` a model id or a glob (`*`, `?`). */
export type { Price };

/** GET /admin/prices. */
export interface PriceTable {
  prices: Price[];
  /** The table in force is the shipped one (never edited, or reset). */
  shipped: boolean;
  shippedAsOf: string;
  shippedSource: string[];
}

export interface CoolingEntry {
  memberId: number;
  pool: PoolName;
  provider: string;
  model: string;
  cooldownUntil: string | null;
  lastError: string | null;
}

export type StatsWindow = '1h' | '24h';

export interface Stats {
  window: StatsWindow;
  bucketSeconds: number;
  generatedAt: string;
  totals: StatsTotals;
  series: StatsPoint[];
  byPool: (StatsTotals & { pool: PoolName })[];
  byProvider: (StatsTotals & { provider: string; providerId: number | null })[];
  /** Per access key (keyId null: requests made without one). Absent on an older gateway. */
  byKey?: KeyStats[];
  /** Per pool member; the last 24 hours; days from the request log (absent on an older gateway). */
  byMember?: MemberStats[];
  byHour?: HourStats[];
  byDay?: DayStats[];
  inFlight: number;
  cooling: CoolingEntry[];
}

export interface Attempt {
  provider: string;
  model: string;
  status: number | null;
  reason: string;
  ms: number | null;
}

export interface LogRow {
  id: number | string;
  time: string;
  entryFormat: Format;
  requestedModel: string;
  pool: PoolName | null;
  providerId: number | null;
  provider: string | null;
  upstreamModel: string | null;
  status: number;
  latencyMs: number | null;
  ttftMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheCreationTokens: number | null;
  stream: boolean;
  attempts: Attempt[];
  error: string | null;
  /** The access key the client used; null without one (open access). */
  keyId?: number | null;
  keyName?: string | null;
  /** The conversation the request belonged to (null: none named), and what affinity did. */
  conversation?: string | null;
  affinity?: AffinityResult;
  /** USD by the price table when the request was recorded; null: no price for its model. */
  costUsd?: number | null;
  cacheSavingsUsd?: number | null;
  requestBody?: string | null;
  responseBody?: string | null;
}

export interface KeyStats extends Partial<StatsTotals> {
  keyId: number | null;
  keyName: string | null;
  requests: number;
  errors: number;
  inputTokens: number | null;
  outputTokens: number | null;
}

export interface LogQuery {
  pool?: string;
  providerId?: string;
  keyId?: string;
  conversation?: string;
  status?: string;
  since?: string;
  until?: string;
  limit: number;
  offset: number;
}

export type Settings = SettingsValue;

export interface KeyUsage {
  requests: number;
  errors: number;
  inputTokens: number | null;
  outputTokens: number | null;
}

/** A client access key for /v1/*. The secret itself is only in the answer that creates it. */
export interface AccessKey {
  id: number;
  name: string;
  keyMasked: string;
  pools: PoolName[];
  /** Requests per minute; null: no limit. */
  rpm: number | null;
  /** Requests at the same time; null: no limit. */
  maxConcurrent: number | null;
  expiresAt: string | null;
  enabled: boolean;
  createdAt: string;
  lastUsedAt: string | null;
  usage?: KeyUsage;
}

export type AccessKeyInput = AccessKeyPatchBody;

/** POST /admin/keys: the key plus its secret, shown once. */
export interface CreatedAccessKey extends AccessKey {
  key: string;
}

export interface LoginResult {
  token: string;
  expiresAt: string;
  mustChangePassword?: boolean;
}

/** GET /admin/config: the whole setup as data (POST /admin/config applies one). */
export type { ConfigDocument, ConfigChange, ConfigApplyResult };
