// Shapes of the admin API (see shared CONTRACT.md and the UI issue). Fields the server may add
// later are optional here so the UI degrades gracefully against an older gateway.

export type Format = 'openai' | 'anthropic';
export type PoolName = 'tool' | 'normal' | 'advanced';
export const POOLS: PoolName[] = ['tool', 'normal', 'advanced'];

export interface ProviderOptions {
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  maxTokensCap?: number | null;
  streamOptions?: boolean;
  stripUnsupported?: boolean;
  reasoning?: boolean;
  [key: string]: unknown;
}

export interface Provider {
  id: number;
  name: string;
  baseUrl: string;
  format: Format;
  apiKeyMasked: string;
  enabled: boolean;
  cooldownSeconds: number;
  cooldownIsDefault?: boolean;
  options?: ProviderOptions;
  memberCount?: number;
  createdAt: string;
}

export interface ProviderInput {
  name?: string;
  baseUrl?: string;
  apiKey?: string;
  format?: Format;
  enabled?: boolean;
  cooldownSeconds?: number | null;
  options?: ProviderOptions;
}

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
}

export interface Pool {
  name: PoolName;
  virtualModel: string;
  members: Member[];
}

export interface Status {
  defaultPassword: boolean;
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
  requestBody?: string | null;
  responseBody?: string | null;
}

export interface LogQuery {
  pool?: string;
  providerId?: string;
  status?: string;
  since?: string;
  until?: string;
  limit: number;
  offset: number;
}

export interface Settings {
  logBodies: boolean;
  logBodyMaxBytes: number;
  logRetentionCount: number;
  logRetentionDays: number;
}
