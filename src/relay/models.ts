import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { POOL_NAMES } from '../routing/pools.js';

const CREATED = Math.floor(Date.UTC(2025, 0, 1) / 1000);

/**
 * GET /v1/models: the virtual models. OpenAI list form by default; Anthropic list form when the
 * client sends `anthropic-version`.
 */
export function listModels(config: Config, req: FastifyRequest): Record<string, unknown> {
  const ids = POOL_NAMES.map((p) => config.virtualModels[p]);
  if (req.headers['anthropic-version'] !== undefined) {
    const data = ids.map((id) => ({ type: 'model', id, display_name: id, created_at: new Date(CREATED * 1000).toISOString() }));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
  }
  return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'api-pool-gateway' })) };
}
