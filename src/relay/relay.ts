import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Gateway } from '../gateway.js';
import type { Format } from '../protocol/formats.js';
import { DIALECTS, estimateTokens, type ImageFacts } from '../protocol/dialect.js';
import { historySignatures } from '../protocol/anthropic/signatures.js';
import { promptTooLongMessage } from '../protocol/convert/util.js';
import { getConverter } from '../protocol/convert/index.js';
import { resolvePool } from '../routing/pools.js';
import { applyFailure, failureKind, retryAfterSeconds } from '../routing/cooldown.js';
import type { LiveKey, LiveMember } from '../routing/registry.js';
import { coolsKeyAlone } from '../routing/keys.js';
import { zeroUsage, type RequestRecord } from '../telemetry/record.js';
import { isRefusal, type Admission } from '../access/guard.js';
import { ClientBody } from '../protocol/client-body.js';
import { Attempt, capBody, type AttemptInput } from './attempt.js';
import { affinityResult, conversationOf } from '../routing/affinity.js';
import { Downstream } from './downstream.js';
import { Cancel } from './cancel.js';
import { maskFailure, RESTARTING, type Failure, type Outcome } from './outcome.js';
import { routeHeaders, sendError, sendFailure, sendRefusal, sendTooLong } from './reply.js';

export { routeHeaders, sendError, sendRefusal } from './reply.js';

/**
 * A request's path, by folder and file: entry (server.ts) → this file (the request's lifecycle and
 * failover: pick a member, try it, serve or cool and move on) → routing/ (which member) →
 * attempt.ts (one try: its timers, abort signal, the upstream call) → upstream/ → stream.ts /
 * answer.ts (relay the answer back) → reply.ts (answers in the client's format).
 */

/**
 * One client request's whole lifecycle: pick a member, call it, and either serve the answer or
 * cool the member and move on — until something is served or nothing is left to try.
 */
export async function relay(gw: Gateway, req: FastifyRequest, reply: FastifyReply, client: Format): Promise<void> {
  const started = performance.now();
  const rec: RequestRecord = {
    ts: Date.now(), entryFormat: client, requestedModel: '', pool: null, providerId: null, provider: null, upstreamModel: null,
    status: 0, latencyMs: 0, ttftMs: null, usage: zeroUsage(), stream: false, attempts: [], error: null, keyId: null, keyName: null, conversation: null, affinity: 'none',
  };
  const key = req.accessKey;
  if (key) {
    rec.keyId = key.id;
    rec.keyName = key.name;
  }
  const inFlight = gw.telemetry.metrics.inFlight;
  inFlight.inc();
  const held: Held = { admission: null };
  try {
    await serve(gw, req, reply, client, rec, started, held);
  } finally {
    held.admission?.release();
    held.down?.close();
    inFlight.dec();
    rec.latencyMs = performance.now() - started;
    if (!rec.status) rec.status = reply.raw.statusCode || reply.statusCode;
    gw.telemetry.record(rec);
    req.log.info(
      { pool: rec.pool, model: rec.requestedModel, provider: rec.provider, upstreamModel: rec.upstreamModel, stream: rec.stream, attempts: rec.attempts.length + (rec.provider ? 1 : 0), status: rec.status, ms: Math.round(rec.latencyMs) },
      rec.status === 499 ? 'client went away' : rec.status < 400 ? 'served' : 'failed',
    );
  }
}

/** What a request holds until it ends: its access key's concurrent slot. */
interface Held {
  admission: Admission | null;
  /** A streamed request's client side (its keep-alive timer ends with the request). */
  down?: Downstream | null;
}

async function serve(gw: Gateway, req: FastifyRequest, reply: FastifyReply, client: Format, rec: RequestRecord, started: number, held: Held): Promise<void> {
  let down: Downstream | null = null;
  reply.header('x-gateway-affinity', 'none'); // (until a conversation's member is chosen)
  // The client going away aborts whatever upstream call is running (listened for before any wait).
  const clientGone = new Cancel();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) clientGone.abort();
  });
  const refuse = (status: number, message: string, type?: string) => {
    rec.error = message;
    if (down?.opened) rec.status = status; // (the stream's head said 200; the log says what happened)
    sendError(reply, client, status, message, type, down);
  };
  const read = ClientBody.from(req.body);
  if (typeof read === 'string') return refuse(400, read);
  // Routing reads the body's view (see protocol/client-body.ts); strings shown or compared go through read.text().
  const body = read.view;
  const named = read.named;
  const model = typeof named.model === 'string' ? read.text(named.model) : named.model;
  if (typeof model === 'string') rec.requestedModel = model;
  if (gw.telemetry.settings.logBodies) rec.requestBody = read.head(gw.telemetry.settings.logBodyMaxBytes);
  if (typeof model !== 'string' || model.trim() === '') {
    return refuse(400, 'model: required, a non-empty string');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return refuse(400, 'messages: required, a non-empty array');
  }
  const pool = resolvePool(model, gw.config.virtualModels);
  if (!pool) {
    const names = Object.values(gw.config.virtualModels).join(', ');
    return refuse(404, `model "${model}" is not served here: ask for one of ${names} (or a model id containing one of them)`);
  }
  rec.pool = pool;
  if (req.accessKey) {
    const admitted = await gw.access.admit(req.accessKey, pool, Date.now());
    if (isRefusal(admitted)) {
      rec.error = admitted.message;
      return sendRefusal(reply, client, admitted);
    }
    held.admission = admitted;
  }
  const stream = body.stream === true;
  rec.stream = stream;
  const speaks = (m: LiveMember) => m.provider.format === client || getConverter(client, m.provider.format) !== null;
  // What the members must hold (CONTRACT "member capabilities"): images need vision; the size, a
  // window that fits — estimated without tokenizing (protocol/dialect.ts estimateTokens); after an
  // upstream said the context overflowed, a window larger than that member's.
  // Measured only when some member of the pool states a window or refuses images (walking a long
  // history and sizing it is not free).
  let images: ImageFacts | null = null;
  let tokens = -1;
  const imageFacts = () => (images ??= DIALECTS[client].imagesIn(body));
  const size = () => (tokens >= 0 ? tokens : (tokens = estimateTokens(read.raw.length, imageFacts())));
  let overflowedAt = 0;
  const holds = (m: LiveMember) => (m.vision !== false || imageFacts().images === 0)
    && (m.contextWindow == null || (m.contextWindow >= size() && m.contextWindow > overflowedAt));
  const accept = (m: LiveMember) => speaks(m) && holds(m);

  // A pool without a member that could serve this client: no wait helps, an admin must add one.
  // Not typed as an overload (clients retry those): the server-error type, `x-should-retry: false`.
  // (one pass, nothing allocated: the common answer is "yes, and the first one holds it")
  let usableCount = 0;
  let anyHolds = false;
  for (const m of gw.registry.members(pool)) {
    if (!m.enabled || !m.provider.enabled || !speaks(m)) continue;
    usableCount++;
    if (holds(m)) {
      anyHolds = true;
      break;
    }
  }
  if (usableCount === 0) {
    const message = `the ${pool} pool has no member that can serve this request (none, or all disabled): add a provider's model to the ${pool} pool in the admin UI (Pools page)`;
    rec.error = message;
    routeHeaders(reply, null);
    reply.header('retry-after', String(gw.config.defaultCooldownSeconds)).header('x-should-retry', 'false');
    const dialect = DIALECTS[client];
    const errBody = dialect.errorBody(503, message, dialect.errorType(500), { code: 'pool_empty' });
    reply.code(503).header('content-type', 'application/json').send(errBody);
    return;
  }

  // Members there are, but none can hold this request: say why, in the words clients act on.
  if (!anyHolds) {
    const usable = gw.registry.members(pool).filter((m) => m.enabled && m.provider.enabled && speaks(m));
    const fit = imageFacts().images === 0 ? usable : usable.filter((m) => m.vision !== false);
    if (fit.length === 0) return refuse(400, `no member of the ${pool} pool accepts images: mark a vision-capable member in the admin UI (Pools page), or send the request without images`);
    const largest = Math.max(...fit.map((m) => m.contextWindow ?? 0));
    rec.error = `prompt is too long: ${size()} tokens > ${largest} maximum (estimated; no member of the ${pool} pool has a larger context window)`;
    return sendTooLong(reply, client, rec.error);
  }

  // A conversation keeps the member that served its last turn while that member is ready.
  const conversation = conversationOf(req.headers, read.named, read);
  rec.conversation = conversation;
  const sticky = conversation !== null && gw.poolAffinity(pool) === 'session';
  const remembered = sticky ? await gw.affinity.get(pool, conversation) : null;

  if (stream) {
    down = new Downstream(reply, DIALECTS[client], {
      keepAliveMs: gw.config.keepAliveMs,
      draining: () => gw.lifecycle.draining,
      captureMax: gw.telemetry.settings.logBodies ? gw.telemetry.settings.logBodyMaxBytes : null,
    });
    held.down = down;
  }

  // Members tried, or left out because their whole provider failed in this request.
  const tried = new Set<number>();
  let attempts = 0;
  let last: { member: LiveMember; failure: Failure } | null = null;
  // The last upstream context overflow: the answer when no larger member is left.
  let overflow: { member: LiveMember; failure: Failure } | null = null;
  const overflowed = new Set<number>();
  for (;;) {
    if (clientGone.aborted) {
      rec.status = 499;
      return;
    }
    if (gw.lifecycle.expired.aborted) return refuse(503, RESTARTING);
    if (attempts >= gw.config.maxAttempts) break; // MAX_ATTEMPTS: the client gets the last failure
    let member = attempts === 0 && remembered !== null ? keptMember(gw, remembered, pool, tried, accept) : null;
    if (!member) {
      const ticket = gw.cluster ? await gw.cluster.ticket(pool) : null;
      member = gw.registry.next(pool, Date.now(), tried, accept, ticket);
    }
    // Nothing ready: a member cooling after a transient failure may take a probe (one at a time).
    const probe = member ? null : gw.registry.takeProbe(pool, Date.now(), tried, accept);
    if (probe) {
      member = probe.member;
      req.log.info({ pool, provider: member.provider.name, model: member.model, lastError: member.lastError }, 'no member ready: probing a cooling member');
    }
    if (!member) break;
    tried.add(member.id);
    attempts++;
    const attemptStarted = performance.now();
    if (down) down.current = member;
    if (sticky) {
      rec.affinity = affinityResult(remembered, member.id);
      reply.header('x-gateway-affinity', rec.affinity);
    }
    const input: AttemptInput = { client, body: read, member, stream, clientGone, rec, started, probe, down, dropAllThinking: false };
    let outcome: Outcome;
    let att = new Attempt(gw, req, reply, input);
    try {
      outcome = await att.run();
      if (outcome.kind === 'again') {
        // The member refused a thinking signature in the history: once more, without the history's
        // thinking blocks it did not sign — and those are foreign to it from now on.
        gw.signatures.refused(historySignatures(body), member.providerId);
        noteAttempt(rec, member, 400, `${outcome.reason}: retried without the history's thinking blocks it did not sign`, attemptStarted);
        req.log.info({ pool, provider: member.provider.name, model: member.model }, 'invalid thinking signature: retrying the same member without thinking history');
        att = new Attempt(gw, req, reply, { ...input, dropAllThinking: true });
        outcome = await att.run();
        if (outcome.kind === 'again') outcome = { kind: 'failed', failure: { status: 400, message: outcome.reason, retryAfter: null } }; // (cannot happen: the retry never asks again)
      }
    } finally {
      if (probe) gw.registry.releaseProbe(probe); // success, failure, abort or exception alike
      if (down) down.current = null;
    }
    if (outcome.kind === 'overflow') {
      // Too big for this member: a larger one may hold it. Nothing is cooled.
      overflowedAt = Math.max(overflowedAt, member.contextWindow ?? size());
      overflowed.add(member.id);
      noteAttempt(rec, member, outcome.failure.status, outcome.failure.message, attemptStarted);
      overflow = { member, failure: maskFailure(outcome.failure, att.mask) };
      req.log.info({ pool, provider: member.provider.name, model: member.model }, 'context overflow: trying a member with a larger window');
      continue;
    }
    if (outcome.kind === 'failed' && gw.lifecycle.expired.aborted) continue; // cut by the shutdown: not the member's failure
    if (outcome.kind === 'refused') {
      // Our converter, not the member: answer now, cool nothing.
      if (outcome.status >= 500) req.log.error({ pool, provider: member.provider.name, model: member.model, err: outcome.message }, 'conversion failed');
      if (outcome.answered) recordRoute(rec, member);
      routeHeaders(reply, outcome.answered ? member : null);
      rec.error = outcome.message;
      rec.status = outcome.status;
      if (down?.opened) return void down.fail(outcome.status, outcome.message);
      const errBody = DIALECTS[client].errorBody(outcome.status, outcome.message, undefined, outcome.field ? { param: outcome.field } : undefined);
      reply.code(outcome.status).header('content-type', 'application/json').send(errBody);
      return;
    }
    if (outcome.kind !== 'failed') {
      Object.assign(rec.usage, att.usage); // this attempt answered: its tokens are the request's
      if (outcome.kind === 'served' && outcome.broke) coolMember(gw, member, maskFailure(outcome.broke, att.mask), false, att.key);
      else if (outcome.kind === 'served' && !outcome.neutral && !att.proven) gw.served(member.id, probe, att.key);
      recordRoute(rec, member);
      if (outcome.kind === 'aborted') rec.status = 499;
      else if (sticky && outcome.kind === 'served' && !outcome.broke && !outcome.neutral && !gw.lifecycle.expired.aborted) gw.affinity.set(pool, conversation!, member.id);
      return;
    }
    const failure = maskFailure(outcome.failure, att.mask);
    // A provider-wide failure (refused key, host unreachable) cools all its members: none is tried again here.
    const cooled = coolMember(gw, member, failure, probe !== null, att.key);
    // Only its key failed (one of several): the member may be tried again, with its next key.
    if (cooled === null) tried.delete(member.id);
    else for (const id of cooled) tried.add(id);
    noteAttempt(rec, member, failure.status, failure.message, attemptStarted);
    last = { member, failure };
    req.log.warn({ pool, provider: member.provider.name, model: member.model, status: failure.status, reason: failure.message }, 'upstream attempt failed; moving on');
  }
  if (clientGone.aborted) {
    rec.status = 499;
    return;
  }

  const now = Date.now();
  // An upstream overflow is the answer only when no member with a larger (or unknown) window is
  // left in the pool, tried or not: otherwise a retry may well fit, and "compact" would lose context.
  if (overflow && !gw.registry.members(pool).some((m) => gw.registry.state(m, now) !== 'disabled' && !overflowed.has(m.id) && accept(m))) {
    rec.error = overflow.failure.message;
    rec.status = 400;
    routeHeaders(reply, overflow.member);
    return sendTooLong(reply, client, promptTooLongMessage(overflow.failure.message.replace(/^context overflow: /, '')), down);
  }
  const soonest = gw.registry.soonestReady(pool, now, accept);
  if (!last) {
    // A probe running elsewhere may make a member ready any moment: ask the client back soon.
    const probing = gw.registry.probingIn(pool);
    const retryAfter = probing ? 1 : soonest !== null ? retryAfterSeconds(soonest, now) : gw.config.defaultCooldownSeconds;
    reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
    routeHeaders(reply, null);
    const when = probing ? '; a cooling member is being probed' : soonest !== null ? `; the first comes back in ${retryAfterSeconds(soonest, now)} s` : '';
    return refuse(503, `no member of the ${pool} pool is ready${when}`);
  }
  rec.error = last.failure.message;
  if (down?.opened) rec.status = last.failure.status;
  sendFailure(reply, down, { client, member: last.member, failure: last.failure, retryAfter: soonest !== null ? retryAfterSeconds(soonest, now) : null, attempts, pool });
}

/** The conversation's remembered member, when it is still in the pool, ready, untried and able to take the request. */
function keptMember(gw: Gateway, id: number, pool: string, tried: ReadonlySet<number>, accept: (m: LiveMember) => boolean): LiveMember | null {
  const m = gw.registry.member(id);
  if (!m || m.pool !== pool || tried.has(m.id) || !accept(m)) return null;
  return gw.registry.state(m, Date.now()) === 'ready' ? m : null;
}

/** An attempt that did not answer, in the request's log row. */
function noteAttempt(rec: RequestRecord, member: LiveMember, status: number, reason: string, started: number): void {
  rec.attempts.push({ providerId: member.providerId, provider: member.provider.name, model: member.model, status, reason, ms: Math.round(performance.now() - started) });
}

/** The member that answered, in the request's log row. */
function recordRoute(rec: RequestRecord, member: LiveMember): void {
  rec.providerId = member.providerId;
  rec.provider = member.provider.name;
  rec.upstreamModel = member.model;
}

/**
 * Cools the member that failed — or, for a refused key (401 / 403) or an unreachable host, every
 * member of its provider in all pools — each for its escalated cooldown (CONTRACT "Cooldowns").
 * With several keys, a refused or rate-limited key (401 / 403 / 429) cools only that key, escalated
 * the same way; its members cool while all its keys do. Returns the member ids cooled, or null when
 * only the key was.
 */
function coolMember(gw: Gateway, member: LiveMember, f: Failure, probed = false, key: LiveKey | null = null): number[] | null {
  const now = Date.now();
  const { kind, providerWide } = failureKind(f.status, f.unreachable);
  if (key && coolsKeyAlone(kind, gw.registry.keysOf(member.providerId).length)) {
    const k = gw.registry.key(key.id) ?? key;
    // already cooling: requests that ran at the same time failed together, one failure in a row
    const counted = k.cooldownUntil !== null && k.cooldownUntil > now;
    const next = applyFailure(
      { until: k.cooldownUntil, kind: k.cooldownKind, failures: counted ? Math.max(0, k.failures - 1) : k.failures },
      { now, baseSeconds: member.provider.cooldownSeconds ?? gw.config.defaultCooldownSeconds, maxSeconds: gw.config.maxCooldownSeconds, retryAfterSeconds: f.retryAfter, kind },
    );
    gw.coolKey(k.id, { ...next, lastError: f.message.length > 300 ? f.message.slice(0, 297) + '…' : f.message });
    return null;
  }
  const reason = providerWide ? `provider-wide: ${f.message}` : f.message;
  const lastError = reason.length > 300 ? reason.slice(0, 297) + '…' : reason;
  // (the table may have been reloaded while the attempt ran: read the members' current state)
  const current = gw.registry.member(member.id) ?? member;
  const targets = providerWide ? gw.registry.providerMembers(member.providerId) : [current];
  if (!targets.some((m) => m.id === member.id)) targets.push(current);
  for (const m of targets) {
    // Already cooling, and not what this request probed (the member, or for a provider-wide failure
    // its whole provider): requests that ran at the same time failed together, and that is one
    // failure in a row, not one per request.
    const counted = m.cooldownUntil !== null && m.cooldownUntil > now && !(probed && (m.id === member.id || providerWide));
    const next = applyFailure(
      { until: m.cooldownUntil, kind: m.cooldownKind, failures: counted ? Math.max(0, m.failures - 1) : m.failures },
      { now, baseSeconds: m.provider.cooldownSeconds ?? gw.config.defaultCooldownSeconds, maxSeconds: gw.config.maxCooldownSeconds, retryAfterSeconds: f.retryAfter, kind },
    );
    gw.cool(m.id, { ...next, lastError });
  }
  return targets.map((m) => m.id);
}
