import type { Format } from '../protocol/formats.js';
import { DIALECTS } from '../protocol/dialect.js';
import type { AffinityResult } from '../routing/affinity.js';
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
  /** The conversation the request belongs to (CONTRACT "Conversations"), and what affinity did. */
  conversation: string | null;
  affinity: AffinityResult;
  requestBody?: string;
  responseBody?: string;
}

export const zeroUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 });


/**
 * Reads a usage object of either format into Anthropic terms (input excludes cached tokens).
 * Values already known stay when the object lacks them (streams report usage in pieces).
 */
export function readUsage(format: Format, u: unknown, into: Usage = zeroUsage()): Usage {
  return DIALECTS[format].readUsage(u, into);
}
