import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { Gateway } from '../gateway.js';
import type { Format } from '../protocol/formats.js';
import { CHAT_PATH } from '../protocol/formats.js';
import { errorBody, readErrorBody, sseErrorFrame } from '../protocol/errors.js';
import { SseParser, type SseEvent } from '../protocol/sse.js';
import type { Converter, ConversionContext, StreamTranslator } from '../protocol/convert/types.js';
import { getConverter } from '../protocol/convert/index.js';
import { prepareAnthropicPassthrough, prepareOpenAIPassthrough } from '../protocol/convert/passthrough.js';
import { resolvePool, type PoolName } from '../routing/pools.js';
import { applyFailure, failureKind, parseRetryAfter, retryAfterSeconds } from '../routing/cooldown.js';
import type { LiveMember, Probe } from '../routing/registry.js';
import { buildUpstreamUrl } from '../upstream/url.js';
import { upstreamHeaders } from '../upstream/client.js';
import { classifyTransportError, isClientFault, statusForErrorType } from './classify.js';
import { headerSafe } from './headers.js';
import { readUsage, zeroUsage, type RequestRecord } from '../telemetry/record.js';
import { isRefusal, type Admission } from '../access/guard.js';
import { answerHasContent, eventCarriesContent } from '../protocol/content.js';
import { ConversionError } from '../protocol/convert/errors.js';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../protocol/json-depth.js';
import { keyMasker } from '../secrets/redact.js';
import { readBodyText } from '../upstream/read.js';

/** Why one attempt did not serve the client; nothing had been sent to the client yet. */
export interface Failure {
  status: number;
  /** Short reason, kept as the member's lastError. */
  message: string;
  retryAfter: number | null;
  /** The upstream's error body, when it sent one (forwarded as is to a same-format client). */
  body?: { text: string; format: Format; contentType: string };
  /** The provider's host could not be reached at all (refused, unresolvable): cools the whole provider. */
  unreachable?: boolean;
}

/** served: the client got its answer (`broke`: a stream that began and then failed — the client got
 *  an error frame, the member is cooled, nothing is retried; `neutral`: the upstream refused the
 *  request itself (400 / 413 / 422), neither the member's success nor its failure). */
type Outcome = { kind: 'served'; broke?: Failure; neutral?: boolean } | { kind: 'failed'; failure: Failure } | { kind: 'aborted' } | Refused;

/**
 * Our own conversion code refused the request (ConversionError: 400 naming the field) or failed
 * (any other exception: 500). Never the member's fault: nothing is cooled, nothing else is tried.
 * `answered`: the member had answered (the fault was in converting its answer).
 */
type Refused = { kind: 'refused'; status: 400 | 500; message: string; field?: string; answered: boolean };

/** An exception thrown by conversion code, carried out of the attempt so it is not taken for a transport error. */
class OwnFault extends Error {
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error));
  }
}

/** Runs conversion code; whatever it throws becomes an OwnFault. */
function ours<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof OwnFault ? err : new OwnFault(err);
  }
}

function refusal(fault: OwnFault, answered: boolean, member: LiveMember): Refused {
  const e = fault.error;
  if (e instanceof ConversionError) {
    return { kind: 'refused', status: 400, message: `${e.message} (cannot be translated for ${member.provider.format === 'openai' ? 'an OpenAI' : 'an Anthropic'}-format provider)`, field: e.field, answered };
  }
  return { kind: 'refused', status: 500, message: `internal error while converting the ${answered ? 'answer' : 'request'}: ${fault.message}`, answered };
}

/** Why an attempt's upstream call was cut short by the gateway. */
class Cut extends Error {
  constructor(readonly reason: 'client' | 'first-byte' | 'idle' | 'total' | 'drain') {
    super(reason);
  }
}

/** A stream that ended, or an answer that came, without any content: the member's failure. */
const EMPTY_STREAM = 'stream ended without any content (no text, thinking or tool call)';
const EMPTY_ANSWER = 'answer without any content (no text, thinking or tool call)';

/** A request cut short when the shutdown grace is over (CONTRACT "Health and shutdown"). */
const RESTARTING = 'the gateway is restarting: its shutdown grace (SHUTDOWN_GRACE_SECONDS) ended before this answer was complete; retry the request';

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * One client request's whole lifecycle: pick a member, call it, and either serve the answer or
 * cool the member and move on — until something is served or nothing is left to try.
 */
export async function relay(gw: Gateway, req: FastifyRequest, reply: FastifyReply, client: Format): Promise<void> {
  const started = performance.now();
  const rec: RequestRecord = {
    ts: Date.now(), entryFormat: client, requestedModel: '', pool: null, providerId: null, provider: null, upstreamModel: null,
    status: 0, latencyMs: 0, ttftMs: null, usage: zeroUsage(), stream: false, attempts: [], error: null, keyId: null, keyName: null,
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
}

async function serve(gw: Gateway, req: FastifyRequest, reply: FastifyReply, client: Format, rec: RequestRecord, started: number, held: Held): Promise<void> {
  const refuse = (status: number, message: string, type?: string) => {
    rec.error = message;
    sendError(reply, client, status, message, type);
  };
  const body = parseBody(req.body);
  if (typeof body === 'string') return refuse(400, body);
  const model = body.model;
  if (typeof model === 'string') rec.requestedModel = model;
  if (gw.telemetry.settings.logBodies) rec.requestBody = capBody(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : JSON.stringify(body), gw.telemetry.settings.logBodyMaxBytes);
  if (typeof model !== 'string' || model.trim() === '') {
    return refuse(400, 'model: required, a non-empty string');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return refuse(400, 'messages: required, a non-empty array');
  }
  const pool = resolvePool(model, gw.config.virtualModels);
  if (!pool) {
    const names = Object.values(gw.config.virtualModels).join(', ');
    return refuse(404, `model "${model}" is not served here: ask for one of ${names} (or a model id containing one of them)`, client === 'anthropic' ? 'not_found_error' : undefined);
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
  const accept = (m: LiveMember) => m.provider.format === client || getConverter(client, m.provider.format) !== null;

  // The client going away aborts whatever upstream call is running.
  const clientGone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) clientGone.abort();
  });

  // Members tried, or left out because their whole provider failed in this request.
  const tried = new Set<number>();
  let attempts = 0;
  let last: { member: LiveMember; failure: Failure } | null = null;
  for (;;) {
    if (clientGone.signal.aborted) {
      rec.status = 499;
      return;
    }
    if (attempts >= gw.config.maxAttempts) break; // MAX_ATTEMPTS: the client gets the last failure
    if (gw.lifecycle.expired.aborted) return refuse(503, RESTARTING, client === 'anthropic' ? 'overloaded_error' : undefined);
    const ticket = gw.cluster ? await gw.cluster.ticket(pool) : null;
    let member = gw.registry.next(pool, Date.now(), tried, accept, ticket);
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
    let outcome: Outcome;
    const input: AttemptInput = { client, body, member, stream, clientGone: clientGone.signal, rec, started, probe, proven: false };
    try {
      outcome = await attempt(gw, req, reply, input);
    } finally {
      if (probe) gw.registry.releaseProbe(probe); // success, failure, abort or exception alike
    }
    if (outcome.kind === 'failed' && gw.lifecycle.expired.aborted) continue; // cut by the shutdown: not the member's failure
    if (outcome.kind === 'refused') {
      // Our converter, not the member: answer now, cool nothing.
      if (outcome.status >= 500) req.log.error({ pool, provider: member.provider.name, model: member.model, err: outcome.message }, 'conversion failed');
      if (outcome.answered) {
        rec.providerId = member.providerId;
        rec.provider = member.provider.name;
        rec.upstreamModel = member.model;
      }
      routeHeaders(reply, outcome.answered ? member : null);
      rec.error = outcome.message;
      rec.status = outcome.status;
      const errBody = errorBody(client, outcome.status, outcome.message);
      if (outcome.field && 'param' in errBody.error) errBody.error.param = outcome.field;
      reply.code(outcome.status).header('content-type', 'application/json').send(errBody);
      return;
    }
    if (outcome.kind === 'failed') outcome.failure = maskFailure(outcome.failure, member.provider.apiKey);
    if (outcome.kind !== 'failed') {
      if (outcome.kind === 'served' && outcome.broke) coolMember(gw, member, maskFailure(outcome.broke, member.provider.apiKey));
      else if (outcome.kind === 'served' && !outcome.neutral && !input.proven) gw.served(member.id, probe);
      rec.providerId = member.providerId;
      rec.provider = member.provider.name;
      rec.upstreamModel = member.model;
      if (outcome.kind === 'aborted') rec.status = 499;
      return;
    }
    // A provider-wide failure (refused key, host unreachable) cools all its members: none is tried again here.
    for (const id of coolMember(gw, member, outcome.failure, probe !== null)) tried.add(id);
    rec.attempts.push({ providerId: member.providerId, provider: member.provider.name, model: member.model, status: outcome.failure.status, reason: outcome.failure.message, ms: Math.round(performance.now() - attemptStarted) });
    last = { member, failure: outcome.failure };
    req.log.warn({ pool, provider: member.provider.name, model: member.model, status: outcome.failure.status, reason: outcome.failure.message }, 'upstream attempt failed; moving on');
  }
  if (clientGone.signal.aborted) {
    rec.status = 499;
    return;
  }

  const now = Date.now();
  const soonest = gw.registry.soonestReady(pool, now, accept);
  if (!last) {
    // A probe running elsewhere may make a member ready any moment: ask the client back soon.
    const probing = gw.registry.probingIn(pool);
    const retryAfter = probing ? 1 : soonest !== null ? retryAfterSeconds(soonest, now) : gw.config.defaultCooldownSeconds;
    reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
    routeHeaders(reply, null);
    const when = probing ? '; a cooling member is being probed' : soonest !== null ? `; the first comes back in ${retryAfterSeconds(soonest, now)} s` : '';
    return refuse(503, `no member of the ${pool} pool is ready${when}`, client === 'anthropic' ? 'overloaded_error' : undefined);
  }
  rec.error = last.failure.message;
  sendFailure(reply, client, last.member, last.failure, soonest !== null ? retryAfterSeconds(soonest, now) : null, attempts, pool);
}

/** The failure with the provider's key masked wherever upstream text may have echoed it. */
function maskFailure(f: Failure, key: string): Failure {
  const mask = keyMasker(key);
  const message = mask(f.message);
  const text = f.body ? mask(f.body.text) : undefined;
  if (message === f.message && text === f.body?.text) return f;
  return { ...f, message, body: f.body ? { ...f.body, text: text! } : undefined };
}

/** A body for the request log, cut to the configured size. */
function capBody(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + `… [${text.length - max} more characters]` : text;
}

interface AttemptInput {
  client: Format;
  body: Record<string, unknown>;
  member: LiveMember;
  stream: boolean;
  clientGone: AbortSignal;
  rec: RequestRecord;
  started: number;
  /** This attempt probes a cooling member: its first streamed content makes the member ready. */
  probe: Probe | null;
  /** The member has been shown to work (a stream's first content): counted once, probe slot freed. */
  proven: boolean;
}

async function attempt(gw: Gateway, req: FastifyRequest, reply: FastifyReply, a: AttemptInput): Promise<Outcome> {
  const { member, client } = a;
  const provider = member.provider;
  const conv = provider.format === client ? null : getConverter(client, provider.format);
  let payload: string;
  let ctx: ConversionContext | null = null;
  try {
    let upstreamBody: Record<string, unknown>;
    if (conv) {
      const r = conv.request(a.body, member.model, provider.options ?? {});
      upstreamBody = r.body;
      ctx = r.ctx;
    } else {
      // Same format: the body goes as it is but for the model (and what the provider's options ask).
      upstreamBody = provider.format === 'anthropic'
        ? prepareAnthropicPassthrough(a.body, member.model, provider.options ?? {})
        : prepareOpenAIPassthrough(a.body, member.model, provider.options ?? {});
    }
    payload = JSON.stringify(upstreamBody);
  } catch (err) {
    // Nothing was sent: a request we cannot translate (400) or a bug of ours (500), never the member's failure.
    return refusal(err instanceof OwnFault ? err : new OwnFault(err), false, member);
  }
  // Upstream text that echoes the provider's key is masked before it goes anywhere.
  const mask = keyMasker(provider.apiKey);

  const ac = new AbortController();
  const onClientGone = () => ac.abort(new Cut('client'));
  a.clientGone.addEventListener('abort', onClientGone, { once: true });
  const onDrainEnd = () => ac.abort(new Cut('drain'));
  const offDrain = gw.lifecycle.onExpire(onDrainEnd);
  let timer: NodeJS.Timeout | null = null;
  const arm = (ms: number, reason: Cut['reason']) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => ac.abort(new Cut(reason)), ms);
  };
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  arm(a.stream ? gw.config.firstByteTimeoutMs : gw.config.totalTimeoutMs, a.stream ? 'first-byte' : 'total');

  const url = buildUpstreamUrl(provider.baseUrl, CHAT_PATH[provider.format]);
  const anthropicBeta = req.headers['anthropic-beta'];
  const anthropicVersion = req.headers['anthropic-version'];
  const headers = upstreamHeaders(provider, {
    stream: a.stream,
    anthropicVersion: client === 'anthropic' && typeof anthropicVersion === 'string' ? anthropicVersion : undefined,
    anthropicBeta: client === 'anthropic' && typeof anthropicBeta === 'string' && !provider.options?.stripUnsupported ? anthropicBeta : undefined,
  });

  let res: Dispatcher.ResponseData;
  try {
    res = await gw.upstreams.dispatcher(provider).request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'POST',
      headers,
      body: payload,
      signal: ac.signal,
    });
  } catch (err) {
    disarm();
    a.clientGone.removeEventListener('abort', onClientGone);
    offDrain();
    return transportOutcome(err, ac.signal);
  }

  try {
    const status = res.statusCode;
    const contentType = String(res.headers['content-type'] ?? '');
    if (status >= 400) {
      const text = mask(await readBodyText(res, gw.config.maxUpstreamBodyBytes));
      disarm();
      if (isClientFault(status)) {
        routeHeaders(reply, member);
        a.rec.error = readErrorBody(text)?.message ?? text.slice(0, 300);
        if (conv) {
          const e = ours(() => conv.error(status, text));
          a.rec.status = e.status;
          reply.code(e.status).header('content-type', 'application/json').send(e.body);
        } else {
          a.rec.status = status;
          reply.code(status).header('content-type', contentType || 'application/json').send(text);
        }
        if (gw.telemetry.settings.logBodies) a.rec.responseBody = capBody(text, gw.telemetry.settings.logBodyMaxBytes);
        return { kind: 'served', neutral: true };
      }
      const retryAfter = parseRetryAfter(res.headers['retry-after'], Date.now(), res.headers['retry-after-ms']);
      const info = readErrorBody(text);
      return {
        kind: 'failed',
        failure: {
          status,
          message: `HTTP ${status}${info ? `: ${info.message}` : text ? `: ${text.slice(0, 200)}` : ''}`,
          retryAfter,
          body: { text, format: provider.format, contentType: contentType || 'application/json' },
        },
      };
    }
    if (a.stream && contentType.includes('text/event-stream')) {
      return await relayStream(gw, reply, a, res, conv, ctx, arm, disarm, ac.signal, mask);
    }
    // Non-streamed answer (or a provider that ignored `stream`): read it whole, up to the limit
    // (over it: UpstreamBodyTooLarge, this member's failure, 502).
    const text = mask(await readBodyText(res, gw.config.maxUpstreamBodyBytes));
    disarm();
    let json: Record<string, unknown> | null = null;
    try {
      json = JSON.parse(text);
    } catch {
      return fail(502, `HTTP ${status} with an unreadable body: ${text.slice(0, 120)}`);
    }
    const errInBody = json && typeof json === 'object' && 'error' in json && !('choices' in json) && !('content' in json);
    if (!json || typeof json !== 'object' || errInBody || (json as { type?: unknown }).type === 'error') {
      const info = readErrorBody(text);
      return fail(statusForErrorType(info?.type ?? info?.code), `HTTP ${status} carrying an error: ${info?.message ?? text.slice(0, 200)}`);
    }
    if (!answerHasContent(provider.format, json)) return fail(502, EMPTY_ANSWER); // a common relay failure
    routeHeaders(reply, member);
    readUsage(provider.format, json.usage, a.rec.usage);
    a.rec.status = 200;
    if (gw.telemetry.settings.logBodies) a.rec.responseBody = capBody(text, gw.telemetry.settings.logBodyMaxBytes);
    if (a.stream) {
      // The client asked for a stream but the provider answered in one piece: replay it as a stream.
      a.rec.ttftMs = performance.now() - a.started;
      return replayAsStream(reply, a, json, conv, ctx);
    }
    if (conv && ctx) {
      const converted = ours(() => conv.response(json, ctx));
      reply.code(200).header('content-type', 'application/json').send(converted);
    } else {
      reply.code(200).header('content-type', contentType || 'application/json').send(text);
    }
    return { kind: 'served' };
  } catch (err) {
    if (err instanceof OwnFault) return refusal(err, true, member);
    return transportOutcome(err, ac.signal);
  } finally {
    disarm();
    a.clientGone.removeEventListener('abort', onClientGone);
    offDrain();
    if (!res.body.destroyed) res.body.destroy();
  }
}

function fail(status: number, message: string): Outcome {
  return { kind: 'failed', failure: { status, message, retryAfter: null } };
}

function transportOutcome(err: unknown, signal: AbortSignal): Outcome {
  const cut = signal.aborted && signal.reason instanceof Cut ? signal.reason : err instanceof Cut ? err : null;
  if (cut) {
    if (cut.reason === 'client') return { kind: 'aborted' };
    if (cut.reason === 'drain') return fail(503, RESTARTING);
    if (cut.reason === 'first-byte') return fail(504, 'no first event before UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS');
    if (cut.reason === 'total') return fail(504, 'no complete answer before UPSTREAM_TIMEOUT_SECONDS');
    return fail(504, 'upstream went silent');
  }
  const t = classifyTransportError(err);
  return { kind: 'failed', failure: { status: t.status, message: t.reason, retryAfter: null, unreachable: t.unreachable } };
}

/** Is this upstream event an error in place of the answer? */
function errorEvent(format: Format, ev: SseEvent): { status: number; message: string } | null {
  if (format === 'anthropic') {
    if (ev.event !== 'error' && !ev.data.startsWith('{"type":"error"')) return null;
  } else if (!ev.data.includes('"error"')) {
    return null;
  }
  let json: { type?: string; error?: { type?: string; code?: string; message?: string } | string } | null = null;
  try {
    json = JSON.parse(ev.data);
  } catch {
    return format === 'anthropic' ? { status: 502, message: `error event: ${ev.data.slice(0, 200)}` } : null;
  }
  if (!json || typeof json !== 'object' || json.error === undefined || json.error === null) return null;
  if (format === 'openai' && 'choices' in json) return null;
  const e = typeof json.error === 'string' ? { message: json.error } : json.error;
  const type = (e as { type?: string }).type ?? (e as { code?: string }).code;
  return { status: statusForErrorType(type), message: `error event${type ? ` ${type}` : ''}: ${e.message ?? ''}`.trim() };
}

/** Does this upstream event mean the stream is complete? */
function isFinalEvent(format: Format, ev: SseEvent): boolean {
  if (format === 'anthropic') return ev.event === 'message_stop' || ev.data.startsWith('{"type":"message_stop"');
  return ev.data === '[DONE]';
}

/** Meaningful events: anything but keep-alives (comments, pings). */
function isSubstantive(ev: SseEvent): boolean {
  if (ev.data === '') return false;
  if (ev.event === 'ping' || ev.data === '{"type": "ping"}' || ev.data === '{"type":"ping"}') return false;
  return true;
}

async function relayStream(
  gw: Gateway,
  reply: FastifyReply,
  a: AttemptInput,
  res: Dispatcher.ResponseData,
  conv: Converter | null,
  ctx: ConversionContext | null,
  arm: (ms: number, reason: 'first-byte' | 'idle') => void,
  disarm: () => void,
  signal: AbortSignal,
  mask: (text: string) => string,
): Promise<Outcome> {
  const upstreamFormat = a.member.provider.format;
  const parser = new SseParser();
  const translator: StreamTranslator | null = conv && ctx ? ours(() => conv.stream(ctx)) : null;
  const out = reply.raw;
  let committed = false;
  let complete = false;
  let sawError: { status: number; message: string } | null = null;
  let openaiFinished = false;
  const usage = a.rec.usage;
  const capture = gw.telemetry.settings.logBodies ? { text: '', max: gw.telemetry.settings.logBodyMaxBytes } : null;
  const maskedErrorEvent = (ev: SseEvent): { status: number; message: string } | null => {
    const e = errorEvent(upstreamFormat, ev);
    if (e) e.message = mask(e.message);
    return e;
  };

  const write = (text: string): Promise<void> | void => {
    if (text === '' || out.destroyed) return;
    text = mask(text); // an upstream error event (raw or translated) may echo the provider's key
    if (capture && capture.text.length < capture.max) capture.text += text;
    if (!out.write(text)) return new Promise((resolve) => {
      const done = () => { out.off('drain', done); out.off('close', done); resolve(); };
      out.on('drain', done);
      out.on('close', done);
    });
  };
  const emit = (ev: SseEvent): string => {
    if (isFinalEvent(upstreamFormat, ev)) complete = true;
    if (upstreamFormat === 'openai' && !openaiFinished && /"finish_reason"\s*:\s*"/.test(ev.data)) openaiFinished = true;
    if (translator) {
      try { return translator.push(ev); } catch (err) { throw new OwnFault(err); }
    }
    const upstreamError = maskedErrorEvent(ev);
    if (upstreamError) sawError = upstreamError;
    else if (upstreamFormat === 'anthropic') {
      if (ev.event === 'message_start' || ev.event === 'message_delta') {
        try {
          const j = JSON.parse(ev.data);
          readUsage('anthropic', ev.event === 'message_start' ? j.message?.usage : j.usage, usage);
        } catch { /* not ours to judge */ }
      }
    } else if (ev.data.includes('"usage":{')) {
      try {
        readUsage('openai', JSON.parse(ev.data).usage, usage);
      } catch { /* not ours to judge */ }
    }
    return ev.raw;
  };

  let lastEventAt = performance.now();
  let keepAlive: NodeJS.Timeout | null = null;
  const keepAliveFrame = (): string => {
    if (translator) {
      try { return translator.keepAlive(); } catch { return ''; } // runs in a timer: a throw would end the process
    }
    return a.client === 'anthropic' ? 'event: ping\ndata: {"type": "ping"}\n\n' : ': keep-alive\n\n';
  };
  const finishStream = (): void => {
    if (keepAlive) clearInterval(keepAlive);
    keepAlive = null;
    if (translator) Object.assign(usage, translator.usage());
    if (capture) a.rec.responseBody = capBody(capture.text, capture.max);
  };
  const commit = (): void => {
    committed = true;
    // Content arrived: the member works (a later break cools it again). Counted now, once; a probe's
    // slot is freed now, not when a long stream ends, so that the member can be probed again.
    gw.served(a.member.id, a.probe);
    a.proven = true;
    if (a.probe) gw.registry.releaseProbe(a.probe);
    a.rec.status = 200;
    a.rec.ttftMs = performance.now() - a.started;
    routeHeaders(reply, a.member);
    reply.hijack();
    const headers: Record<string, string> = { ...SSE_HEADERS };
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = String(v);
    if (gw.lifecycle.draining) headers.connection = 'close'; // the hijacked reply skips the drain's onSend hook
    out.writeHead(200, headers); // sent with the first events, written in the same tick
    keepAlive = setInterval(() => {
      if (performance.now() - lastEventAt >= gw.config.keepAliveMs && out.writableLength === 0) {
        lastEventAt = performance.now(); // one keep-alive per KEEPALIVE_SECONDS of silence
        void write(keepAliveFrame());
      }
    }, gw.config.keepAliveMs / 3);
    keepAlive.unref();
  };

  /**
   * One upstream event while nothing has reached the client: an error here is this member's
   * failure (an Outcome); keep-alives and events the converter has nothing to say for yet give "";
   * the first real event commits the stream and gives its client text.
   */
  // Client text produced before the first content (message_start, empty blocks, role chunks): held
  // back, so that a member that fails or ends before saying anything can still be replaced.
  let held = '';
  const beforeFirst = (ev: SseEvent): Outcome | string => {
    if (!isSubstantive(ev)) return '';
    const err = maskedErrorEvent(ev);
    if (err) return fail(err.status, err.message);
    const produced = emit(ev);
    const st = translator?.state?.();
    if (st?.error) return fail(st.error.status, mask(st.error.message));
    if (!eventCarriesContent(upstreamFormat, ev)) {
      if (complete || (upstreamFormat === 'openai' && ev.data === '[DONE]')) return fail(502, EMPTY_STREAM);
      held += produced;
      return '';
    }
    commit();
    const text = held + produced;
    held = '';
    return text;
  };

  try {
    for await (const chunk of res.body) {
      lastEventAt = performance.now();
      const events = parser.push(chunk as Buffer);
      if (events.length === 0) continue;
      if (!committed) {
        let text = '';
        for (const ev of events) {
          if (committed) { text += emit(ev); continue; }
          const first = beforeFirst(ev);
          if (typeof first === 'object') return first;
          text += first;
        }
        if (!committed) continue;
        arm(gw.config.idleTimeoutMs, 'idle');
        await write(text);
        continue;
      }
      arm(gw.config.idleTimeoutMs, 'idle');
      let text = '';
      for (const ev of events) text += emit(ev);
      await write(text);
    }
    for (const ev of parser.end()) {
      if (!committed) {
        const first = beforeFirst(ev);
        if (typeof first === 'object') return first;
        await write(first);
        continue;
      }
      await write(emit(ev));
    }
    disarm();
    if (!committed) {
      return fail(502, EMPTY_STREAM);
    }
    if (translator) {
      await write(ours(() => translator.end()));
      const st = translator.state?.();
      if (st?.error) sawError = { status: st.error.status, message: mask(st.error.message) };
    } else if (!complete && !(sawError as unknown) && !(upstreamFormat === 'openai' && openaiFinished)) {
      a.rec.error = 'upstream stream ended before completion';
      await write(sseErrorFrame(a.client, 502, a.rec.error, a.client === 'anthropic' ? 'api_error' : 'server_error'));
    }
    const midError = sawError as { status: number; message: string } | null; // set inside emit()
    if (midError) a.rec.error = `upstream sent an error mid-stream: ${midError.message}`;
    finishStream();
    out.end();
    return a.rec.error
      ? { kind: 'served', broke: { status: midError ? midError.status : 502, message: `mid-stream: ${a.rec.error}`, retryAfter: null } }
      : { kind: 'served' };
  } catch (err) {
    disarm();
    if (!committed) throw err;
    if (keepAlive) clearInterval(keepAlive);
    if (err instanceof OwnFault) {
      // Our translator failed after the stream began: end it well-formed; the member is not at fault.
      const message = `internal error while converting the stream: ${err.message}`;
      a.rec.error = message;
      await write(sseErrorFrame(a.client, 500, message, a.client === 'anthropic' ? 'api_error' : undefined));
      finishStream();
      out.end();
      return { kind: 'served' };
    }
    // The stream broke after it began: end it with a well-formed error; never retry.
    const reason = signal.aborted && signal.reason instanceof Cut ? signal.reason.reason : err instanceof Cut ? err.reason : undefined;
    if (reason === 'client' || out.destroyed) {
      finishStream();
      out.destroy();
      return { kind: 'aborted' };
    }
    if (reason === 'drain') {
      // The shutdown grace is over: a well-formed end in the client's format; the member is not at fault.
      a.rec.error = RESTARTING;
      await write(sseErrorFrame(a.client, 503, RESTARTING, a.client === 'anthropic' ? 'overloaded_error' : undefined));
      finishStream();
      out.end();
      return { kind: 'served' };
    }
    const message = reason === 'idle'
      ? `upstream was silent for more than ${gw.config.idleTimeoutMs / 1000} s`
      : `upstream stream broke: ${classifyTransportError(err).reason}`;
    a.rec.error = message;
    const status = reason === 'idle' ? 504 : 502;
    await write(sseErrorFrame(a.client, status, message, a.client === 'anthropic' ? (reason === 'idle' ? 'timeout_error' : 'api_error') : undefined));
    finishStream();
    out.end();
    return { kind: 'served', broke: { status, message: `mid-stream: ${message}`, retryAfter: null } };
  }
}

/** A provider ignored `stream: true` and answered in one piece: send it to the client as a stream. */
function replayAsStream(reply: FastifyReply, a: AttemptInput, json: Record<string, unknown>, conv: Converter | null, ctx: ConversionContext | null): Outcome {
  const message = conv && ctx ? ours(() => conv.response(json, ctx)) : json;
  const frames = a.client === 'anthropic' ? anthropicMessageAsEvents(message) : openaiCompletionAsChunks(message);
  reply.code(200).headers(SSE_HEADERS).send(frames);
  return { kind: 'served' };
}

function anthropicMessageAsEvents(msg: Record<string, unknown>): string {
  const frame = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const usage = (msg.usage ?? {}) as Record<string, number>;
  const content = Array.isArray(msg.content) ? (msg.content as Record<string, unknown>[]) : [];
  let s = frame('message_start', { message: { ...msg, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 0 } } });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      s += frame('content_block_start', { index, content_block: { type: 'text', text: '' } });
      s += frame('content_block_delta', { index, delta: { type: 'text_delta', text: block.text ?? '' } });
    } else if (block.type === 'tool_use') {
      s += frame('content_block_start', { index, content_block: { ...block, input: {} } });
      s += frame('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === 'thinking') {
      s += frame('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      s += frame('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block.thinking ?? '' } });
      if (block.signature) s += frame('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } });
    } else {
      s += frame('content_block_start', { index, content_block: block });
    }
    s += frame('content_block_stop', { index });
  });
  s += frame('message_delta', { delta: { stop_reason: msg.stop_reason ?? 'end_turn', stop_sequence: msg.stop_sequence ?? null }, usage });
  s += frame('message_stop', {});
  return s;
}

function openaiCompletionAsChunks(c: Record<string, unknown>): string {
  const choices = Array.isArray(c.choices) ? (c.choices as Record<string, unknown>[]) : [];
  const base = { id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model };
  let s = '';
  for (const ch of choices) {
    const msg = (ch.message ?? {}) as Record<string, unknown>;
    const toolCalls = Array.isArray(msg.tool_calls) ? (msg.tool_calls as Record<string, unknown>[]).map((t, index) => ({ index, ...t })) : undefined;
    const delta: Record<string, unknown> = { role: 'assistant', content: msg.content ?? null };
    if (msg.reasoning_content) delta.reasoning_content = msg.reasoning_content;
    if (toolCalls) delta.tool_calls = toolCalls;
    s += `data: ${JSON.stringify({ ...base, choices: [{ index: ch.index ?? 0, delta, finish_reason: null }] })}\n\n`;
    s += `data: ${JSON.stringify({ ...base, choices: [{ index: ch.index ?? 0, delta: {}, finish_reason: ch.finish_reason ?? 'stop' }] })}\n\n`;
  }
  if (c.usage) s += `data: ${JSON.stringify({ ...base, choices: [], usage: c.usage })}\n\n`;
  return s + 'data: [DONE]\n\n';
}

/**
 * Cools the member that failed — or, for a refused key (401 / 403) or an unreachable host, every
 * member of its provider in all pools — each for its escalated cooldown (CONTRACT "Cooldowns").
 * Returns the ids cooled.
 */
function coolMember(gw: Gateway, member: LiveMember, f: Failure, probed = false): number[] {
  const now = Date.now();
  const { kind, providerWide } = failureKind(f.status, f.unreachable);
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

function sendFailure(reply: FastifyReply, client: Format, member: LiveMember, f: Failure, retryAfter: number | null, attempts: number, pool: PoolName): void {
  routeHeaders(reply, member);
  if (retryAfter !== null) reply.header('retry-after', String(retryAfter));
  if (f.status === 401 || f.status === 403) {
    // The provider refused the gateway's key for it: the client's own key is not the problem, and
    // retrying cannot help until an admin fixes the provider (Claude Code would otherwise retry a
    // 401 with backoff for ten minutes, then tell the user their key is wrong).
    reply.header('x-should-retry', 'false');
    const who = attempts > 1 ? `all ${attempts} members of the ${pool} pool tried failed; last: ` : '';
    // (The upstream's own words stay in the log and the member's lastError: echoed to Claude Code,
    // "invalid x-api-key" makes it tell the user to fix *their* key.)
    const msg = `${who}provider "${member.provider.name}" (model ${member.model}) refused the credentials the gateway holds for it (HTTP ${f.status}). This is not your access key: the gateway admin must fix that provider's key (see its last error on the Pools page).`;
    const body = errorBody(client, f.status, msg, client === 'anthropic' ? undefined : 'upstream_authentication_error');
    if ('param' in body.error) body.error.code = 'upstream_key_rejected'; // not invalid_api_key: that would blame the client's key
    reply.code(f.status).header('content-type', 'application/json').send(body);
    return;
  }
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
  const msg = attempts > 1
    ? `all ${attempts} members of the ${pool} pool tried failed; last (${member.provider.name} / ${member.model}): ${f.message}`
    : `${member.provider.name} / ${member.model} failed: ${f.message}`;
  reply.code(f.status).header('content-type', 'application/json').send(errorBody(client, f.status, msg));
}

/** Names the route taken (or "none") in the contract's two headers. */
export function routeHeaders(reply: FastifyReply, member: LiveMember | null): void {
  reply.header('x-gateway-provider', member ? headerSafe(member.provider.name) : 'none');
  reply.header('x-gateway-model', member ? headerSafe(member.model) : 'none');
}

export function sendError(reply: FastifyReply, format: Format, status: number, message: string, type?: string): void {
  if (!reply.hasHeader('x-gateway-provider')) routeHeaders(reply, null);
  reply.code(status).header('content-type', 'application/json').send(errorBody(format, status, message, type));
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

/** The body as an object, or the reason it is not one. */
function parseBody(raw: unknown): Record<string, unknown> | string {
  let value = raw;
  if (Buffer.isBuffer(raw)) {
    if (raw.length === 0) return 'request body is empty: expected a JSON object';
    const text = raw.toString('utf8');
    if (jsonTooDeep(text)) return `request body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels`;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return `request body is not valid JSON: ${(e as Error).message}`;
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'request body must be a JSON object';
  return value as Record<string, unknown>;
}
