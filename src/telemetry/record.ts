import type { Format } from '../protocol/formats.js';
import type { PoolName } from '../routing/pools.js';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

/** One failed upstream attempt before the request was served elsewhere (or gave up). */
export interface AttemptRecord {
  providerId: number;
  provider: string;
  model: string;
  status: number;
  reason: string;
  ms: number;
}

/** One client request, as the request log, the stats and the metrics see it. */
export interface RequestRecord {
  ts: number;
  entryFormat: Format;
  requestedModel: string;
  pool: PoolName | null;
  providerId: number | null;
  provider: string | null;
  upstreamModel: string | null;
  status: number;
  latencyMs: number;
  ttftMs: number | null;
  usage: Usage;
  stream: boolean;
  attempts: AttemptRecord[];
  error: string | null;
  /** The access key that made the request (null: open access, or refused before a key was known). */
  keyId: number | null;
  keyName: string | null;
  requestBody?: string;
  responseBody?: string;
}

export const zeroUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 });

const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.round(v)) : 0);

/**
 * Reads a usage object of either format into Anthropic terms (input excludes cached tokens).
 * Values already known stay when the object lacks them (streams report usage in pieces).
 */
export function readUsage(format: Format, u: unknown, into: Usage = zeroUsage()): Usage {
  if (!u || typeof u !== 'object') return into;
  const o = u as Record<string, unknown>;
  if (format === 'anthropic') {
    if (o.input_tokens !== undefined && o.input_tokens !== null) into.inputTokens = int(o.input_tokens);
    if (o.output_tokens !== undefined && o.output_tokens !== null) into.outputTokens = int(o.output_tokens);
    if (o.cache_read_input_tokens !== undefined && o.cache_read_input_tokens !== null) into.cacheReadTokens = int(o.cache_read_input_tokens);
    if (o.cache_creation_input_tokens !== undefined && o.cache_creation_input_tokens !== null) into.cacheCreationTokens = int(o.cache_creation_input_tokens);
    return into;
  }
  const details = (o.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const cached = int(details.cached_tokens ?? o.prompt_cache_hit_tokens);
  const created = int(details.cache_creation_tokens);
  into.cacheReadTokens = cached;
  into.cacheCreationTokens = created;
  into.inputTokens = Math.max(0, int(o.prompt_tokens) - cached - created);
  into.outputTokens = int(o.completion_tokens);
  return into;
}
