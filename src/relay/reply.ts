import type { FastifyReply } from 'fastify';
import type { Format } from '../protocol/formats.js';
import { DIALECTS } from '../protocol/dialect.js';
import { readErrorBody } from '../protocol/errors.js';
import { getConverter } from '../protocol/convert/index.js';
import type { Converter } from '../protocol/convert/types.js';
import type { LiveMember } from '../routing/registry.js';
import type { PoolName } from '../routing/pools.js';
import type { Failure } from './outcome.js';
import type { Downstream } from './downstream.js';
import { headerSafe } from './headers.js';

/** Answers in the client's format: the route headers, error bodies, refusals, the last failure. */

/** Names the route taken (or "none") in the contract's two headers. */
export function routeHeaders(reply: FastifyReply, member: LiveMember | null): void {
  reply.header('x-gateway-provider', member ? headerSafe(member.provider.name) : 'none');
  reply.header('x-gateway-model', member ? headerSafe(member.model) : 'none');
}

/**
 * An error answer in the client's format: a JSON body with its status — or, when a long hold had
 * already opened the stream (see Downstream), the format's error frame ending it.
 */
export function sendError(reply: FastifyReply, format: Format, status: number, message: string, type?: string, down?: Downstream | null): void {
  if (down?.opened) {
    void down.fail(status, message, type);
    return;
  }
  if (!reply.hasHeader('x-gateway-provider')) routeHeaders(reply, null);
  reply.code(status).header('content-type', 'application/json').send(DIALECTS[format].errorBody(status, message, type));
}

/**
 * A request refused before any provider was asked (a bad or missing access key, a key's pool or
 * limits, a body that is not JSON): `Retry-After` when waiting helps, else `x-should-retry: false`,
 * which Claude Code and the Anthropic SDK obey instead of retrying with backoff for minutes.
 */
export function sendRefusal(reply: FastifyReply, format: Format, r: { status: number; message: string; retryAfter?: number }, type?: string): void {
  if (r.retryAfter !== undefined) reply.header('retry-after', String(r.retryAfter));
  else reply.header('x-should-retry', 'false');
  sendError(reply, format, r.status, r.message, type);
}

/** The answer when every member tried failed: the last failure, in the client's format. */
export function sendFailure(
  reply: FastifyReply,
  down: Downstream | null,
  a: { client: Format; member: LiveMember; failure: Failure; retryAfter: number | null; attempts: number; pool: PoolName },
): void {
  const { client, member, failure: f, attempts, pool } = a;
  routeHeaders(reply, member);
  if (a.retryAfter !== null) reply.header('retry-after', String(a.retryAfter));
  const who = attempts > 1 ? `all ${attempts} members of the ${pool} pool tried failed; last` : '';
  if (f.status === 401 || f.status === 403) {
    // The provider refused the gateway's key for it: the client's own key is not the problem, and
    // retrying cannot help until an admin fixes the provider (Claude Code would otherwise retry a
    // 401 with backoff for ten minutes, then tell the user their key is wrong).
    reply.header('x-should-retry', 'false');
    // (The upstream's own words stay in the log and the member's lastError: echoed to Claude Code,
    // "invalid x-api-key" makes it tell the user to fix *their* key.)
    const msg = `${who ? `${who}: ` : ''}provider "${member.provider.name}" (model ${member.model}) refused the credentials the gateway holds for it (HTTP ${f.status}). This is not your access key: the gateway admin must fix that provider's key (see its last error on the Pools page).`;
    if (down?.opened) return void down.fail(f.status, msg);
    // (OpenAI: not invalid_api_key, which would blame the client's key)
    const body = DIALECTS[client].errorBody(f.status, msg, client === 'anthropic' ? undefined : 'upstream_authentication_error', { code: 'upstream_key_rejected' });
    reply.code(f.status).header('content-type', 'application/json').send(body);
    return;
  }
  const generic = who ? `${who} (${member.provider.name} / ${member.model}): ${f.message}` : `${member.provider.name} / ${member.model} failed: ${f.message}`;
  if (down?.opened) return void down.fail(f.status, generic);
  if (f.body && f.body.format === client && readErrorBody(f.body.text)) {
    reply.code(f.status).header('content-type', f.body.contentType).send(f.body.text);
    return;
  }
  if (f.body && f.body.format !== client) {
    const conv = getConverter(client, f.body.format);
    let e: ReturnType<Converter['error']> | null = null;
    try {
      e = conv ? conv.error(f.status, f.body.text) : null;
    } catch {
      // a converter bug: the gateway's own error body below says what happened
    }
    if (e) {
      reply.code(e.status).header('content-type', 'application/json').send(e.body);
      return;
    }
  }
  reply.code(f.status).header('content-type', 'application/json').send(DIALECTS[client].errorBody(f.status, generic));
}

/**
 * 400 for a request no member can hold (CONTRACT "member capabilities"), in the words clients act
 * on: Anthropic `invalid_request_error` starting "prompt is too long: " (Claude Code compacts on
 * it), OpenAI `context_length_exceeded`.
 */
export function sendTooLong(reply: FastifyReply, format: Format, message: string, down?: Downstream | null): void {
  if (down?.opened) {
    void down.fail(400, message, format === 'openai' ? undefined : 'invalid_request_error');
    return;
  }
  if (!reply.hasHeader('x-gateway-provider')) routeHeaders(reply, null);
  const body = DIALECTS[format].errorBody(400, message, undefined, { code: 'context_length_exceeded', param: 'messages' });
  reply.code(400).header('content-type', 'application/json').send(body);
}
