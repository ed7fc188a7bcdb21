import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Gateway } from '../gateway.js';
import { resolvePool } from '../routing/pools.js';
import { ClientBody } from '../protocol/client-body.js';
import { upstreamTarget } from '../upstream/url.js';
import { upstreamHeaders } from '../upstream/client.js';
import { estimateTokensFast } from '../protocol/tokens.js';
import { isRefusal, type Admission } from '../access/guard.js';
import type { PoolName } from '../routing/pools.js';
import { routeHeaders, sendError, sendRefusal } from './relay.js';

const COUNT_TIMEOUT_MS = 10_000;
/** Bodies larger than this are estimated, not tokenized (see the end of `count`). */
const LOCAL_EXACT_MAX_BYTES = 2 * 1024 * 1024;

/**
 * POST /v1/messages/count_tokens. Asked of an Anthropic-format member of the pool when there is
 * one ready; counted here with a real tokenizer otherwise, or when that member cannot answer.
 * Never cools a member: many relays lack this endpoint, and that says nothing about chat.
 */
export async function countTokens(gw: Gateway, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const read = ClientBody.from(req.body);
  if (typeof read === 'string') return sendError(reply, 'anthropic', 400, read);
  const b = read.exact(); // (counted and forwarded whole: the exact body)
  if (typeof b.model !== 'string' || b.model.trim() === '') return sendError(reply, 'anthropic', 400, 'model: required, a non-empty string');
  if (!Array.isArray(b.messages)) return sendError(reply, 'anthropic', 400, 'messages: required, an array');
  const pool = resolvePool(b.model, gw.config.virtualModels);
  if (!pool) {
    return sendError(reply, 'anthropic', 404, `model "${b.model}" is not served here: ask for one of ${Object.values(gw.config.virtualModels).join(', ')}`, 'not_found_error');
  }
  let admission: Admission | null = null;
  if (req.accessKey) {
    // the same pool permission and limits as a chat request
    const admitted = await gw.access.admit(req.accessKey, pool, Date.now());
    if (isRefusal(admitted)) return sendRefusal(reply, 'anthropic', admitted);
    admission = admitted;
  }
  try {
    await count(gw, req, reply, b, pool, read.raw.length);
  } finally {
    admission?.release();
  }
}

async function count(gw: Gateway, req: FastifyRequest, reply: FastifyReply, b: Record<string, unknown>, pool: PoolName, bytes: number): Promise<void> {
  const member = gw.registry.firstReady(pool, Date.now(), (m) => m.provider.format === 'anthropic');
  if (member) {
    const url = upstreamTarget(member.provider.baseUrl, '/messages/count_tokens');
    const version = req.headers['anthropic-version'];
    const beta = req.headers['anthropic-beta'];
    try {
      const res = await gw.upstreams.dispatcher(member.provider).request({
        origin: url.origin,
        path: url.path,
        method: 'POST',
        headers: upstreamHeaders(member.provider, {
          stream: false,
          anthropicVersion: typeof version === 'string' ? version : undefined,
          anthropicBeta: typeof beta === 'string' && !member.provider.options?.stripUnsupported ? beta : undefined,
          apiKey: gw.registry.pickKey(member.providerId, Date.now())?.apiKey, // the provider's keys in turn
        }),
        body: JSON.stringify({ ...b, model: member.model }),
        signal: AbortSignal.timeout(COUNT_TIMEOUT_MS),
      });
      const text = await res.body.text();
      if (res.statusCode === 200) {
        const json = JSON.parse(text) as { input_tokens?: unknown };
        if (Number.isInteger(json.input_tokens)) {
          routeHeaders(reply, member);
          reply.code(200).header('content-type', 'application/json').send(text);
          return;
        }
      }
      req.log.info({ provider: member.provider.name, status: res.statusCode }, 'count_tokens not answered upstream; counting locally');
    } catch (err) {
      req.log.info({ provider: member.provider.name, err: (err as Error).message }, 'count_tokens upstream failed; counting locally');
    }
  }
  routeHeaders(reply, null);
  // Exact counting (in the token worker) costs CPU: beyond a few megabytes (far past any context
  // window) an estimate answers as well and cannot keep the worker busy. If the worker fails,
  // the estimate answers too.
  let tokens: number;
  if (bytes > LOCAL_EXACT_MAX_BYTES) tokens = estimateTokensFast(JSON.stringify(b));
  else {
    try {
      tokens = await gw.tokens.countAnthropic(b);
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'token counter failed; answering an estimate');
      tokens = Math.max(1, estimateTokensFast(JSON.stringify(b)));
    }
  }
  reply.code(200).send({ input_tokens: tokens });
}
