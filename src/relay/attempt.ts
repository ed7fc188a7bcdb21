import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { Gateway } from '../gateway.js';
import type { Format } from '../protocol/formats.js';
import { DIALECTS, type Dialect } from '../protocol/dialect.js';
import { readErrorBody } from '../protocol/errors.js';
import { onlyModelChanged, type ClientBody } from '../protocol/client-body.js';
import type { ConversionContext, Converter } from '../protocol/convert/types.js';
import { getConverter } from '../protocol/convert/index.js';
import { parseRetryAfter } from '../routing/cooldown.js';
import type { LiveKey, LiveMember, Probe } from '../routing/registry.js';
import { zeroUsage, type RequestRecord, type Usage } from '../telemetry/record.js';
import { upstreamTarget } from '../upstream/url.js';
import { upstreamHeaders } from '../upstream/client.js';
import { readBodyText } from '../upstream/read.js';
import { keyNeedle, keysMasker } from '../secrets/redact.js';
import { isInvalidSignatureError } from '../protocol/anthropic/signatures.js';
import { isContextOverflow } from '../protocol/convert/util.js';
import { isClientFault } from './classify.js';
import { Cut, OwnFault, ours, refusal, transportOutcome, type Outcome } from './outcome.js';
import type { Downstream } from './downstream.js';
import { routeHeaders, sendError } from './reply.js';
import { serveAnswer } from './answer.js';
import { relayStream } from './stream.js';
import { Cancel } from './cancel.js';

/** What the request hands each attempt. */
export interface AttemptInput {
  client: Format;
  body: ClientBody;
  member: LiveMember;
  stream: boolean;
  clientGone: Cancel;
  rec: RequestRecord;
  /** When the request started (performance.now()). */
  started: number;
  /** This attempt probes a cooling member: its first streamed content makes the member ready. */
  probe: Probe | null;
  /** The client side of a streamed request (null for a non-streamed one). */
  down: Downstream | null;
  /** Send the history without any thinking block (the retry after a refused signature). */
  dropAllThinking: boolean;
}

/**
 * One try of one member: builds the upstream request, calls it, and serves or fails. Owns what
 * lives as long as the try: the abort signal (client gone, shutdown grace over, timeouts), the
 * timer, and their cleanup (`close()`, always called by `run()`).
 */
export class Attempt {
  readonly member: LiveMember;
  readonly client: Dialect;
  readonly upstream: Dialect;
  /** Null when the client and the provider speak the same format. */
  readonly conv: Converter | null;
  ctx: ConversionContext | null = null;
  /** The provider's key this attempt sends (taken in turn from its keys); null: it has none. */
  readonly key: LiveKey | null;
  /** Masks the provider's keys in upstream text (error bodies and events may echo them). */
  readonly mask: (text: string) => string;
  /** Bytes that may start the key sent: upstream bytes without them are forwarded as they came. */
  readonly keyNeedle: Buffer | null;
  /** Tokens this attempt's answer used (the request's record takes them when this attempt answered). */
  readonly usage: Usage = zeroUsage();
  /** The member has been shown to work (a stream's first content): counted once, probe slot freed. */
  proven = false;
  private readonly ac = new Cancel();
  private timer: NodeJS.Timeout | null = null;
  /** The idle timer is lazy: activity only stamps the time, the timer re-arms itself when it fires. */
  private idleMs = 0;
  private lastActivity = 0;
  private readonly offClientGone: () => void;
  private readonly offDrain: () => void;

  constructor(readonly gw: Gateway, readonly req: FastifyRequest, readonly reply: FastifyReply, readonly input: AttemptInput) {
    this.member = input.member;
    const format = this.member.provider.format;
    this.client = DIALECTS[input.client];
    this.upstream = DIALECTS[format];
    this.conv = format === input.client ? null : getConverter(input.client, format);
    this.key = gw.registry.pickKey(this.member.providerId, Date.now());
    // (the provider as the registry holds it now: the keys the key was taken from)
    const masking = maskingFor(gw.registry.provider(this.member.providerId) ?? this.member.provider);
    this.mask = masking.mask;
    this.keyNeedle = masking.needle(this.key?.apiKey ?? this.member.provider.apiKey);
    // (at once when the client went away while the request waited)
    this.offClientGone = input.clientGone.onAbort(() => this.ac.abort(new Cut('client')));
    this.offDrain = gw.lifecycle.onExpire(() => this.ac.abort(new Cut('drain')));
  }

  /** This attempt's cancellation (its reason a Cut), as undici's `signal`. */
  get signal(): Cancel {
    return this.ac;
  }

  /** Cuts the upstream call after `ms` (one deadline at a time). */
  arm(ms: number, reason: 'first-byte' | 'total'): void {
    this.disarm();
    this.timer = setTimeout(() => this.ac.abort(new Cut(reason)), ms);
  }

  /** From now on, cut the upstream call after `ms` without any activity (see `active()`). */
  armIdle(ms: number): void {
    this.disarm();
    this.idleMs = ms;
    this.lastActivity = performance.now();
    const check = (): void => {
      const quiet = performance.now() - this.lastActivity;
      if (quiet >= this.idleMs) this.ac.abort(new Cut('idle'));
      else this.timer = setTimeout(check, this.idleMs - quiet);
    };
    this.timer = setTimeout(check, ms);
  }

  /** The upstream said something: the idle deadline moves on. */
  active(): void {
    this.lastActivity = performance.now();
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  close(): void {
    this.disarm();
    this.offClientGone();
    this.offDrain();
  }

  /** The first content has come: the member works; the stream is sent on from here. */
  commit(): void {
    const { gw, input: a } = this;
    // Counted now, once; a probe's slot is freed now, not when a long stream ends, so that the
    // member can be probed again.
    gw.served(this.member.id, a.probe, this.key);
    this.proven = true;
    if (a.probe) gw.registry.releaseProbe(a.probe);
    a.rec.status = 200;
    a.rec.ttftMs = performance.now() - a.started;
    a.down!.open(this.member);
  }

  async run(): Promise<Outcome> {
    try {
      return await this.call();
    } finally {
      this.close();
    }
  }

  private async call(): Promise<Outcome> {
    const { gw, req, reply, input: a, member } = this;
    const provider = member.provider;
    let payload: string | Buffer;
    try {
      const options = provider.options ?? {};
      if (this.conv) {
        const r = this.conv.request(a.body.exact(), member.model, options);
        this.ctx = r.ctx;
        payload = JSON.stringify(r.body);
      } else {
        // Same format: the body goes as it is but for the model (and what the provider's options ask).
        // Thinking blocks another provider signed are removed (all of them on the retry after a refusal).
        // Decided on the view; when nothing but the model changes, the client's bytes go with the
        // model spliced in — else the exact body is prepared and serialised.
        const drop = a.dropAllThinking ? gw.signatures.notSignedBy(member.providerId) : gw.signatures.foreignTo(member.providerId);
        const view = a.body.view;
        const spliced = onlyModelChanged(view, this.upstream.prepare(view, member.model, options, drop)) ? a.body.withModel(member.model) : null;
        payload = spliced ?? JSON.stringify(this.upstream.prepare(a.body.exact(), member.model, options, drop));
      }
    } catch (err) {
      // Nothing was sent: a request we cannot translate (400) or a bug of ours (500), never the member's failure.
      return refusal(err instanceof OwnFault ? err : new OwnFault(err), false, member);
    }

    const url = upstreamTarget(provider.baseUrl, this.upstream.chatPath);
    const anthropicBeta = req.headers['anthropic-beta'];
    const anthropicVersion = req.headers['anthropic-version'];
    const fromAnthropic = a.client === 'anthropic'; // (its version and beta headers travel on)
    const headers = upstreamHeaders(provider, {
      stream: a.stream,
      anthropicVersion: fromAnthropic && typeof anthropicVersion === 'string' ? anthropicVersion : undefined,
      anthropicBeta: fromAnthropic && typeof anthropicBeta === 'string' && !provider.options?.stripUnsupported ? anthropicBeta : undefined,
      apiKey: this.key?.apiKey,
    });
    if (a.stream) this.arm(gw.config.firstByteTimeoutMs, 'first-byte');
    else this.arm(gw.config.totalTimeoutMs, 'total');

    let res: Dispatcher.ResponseData;
    try {
      res = await gw.upstreams.dispatcher(provider).request({
        origin: url.origin,
        path: url.path,
        method: 'POST',
        headers,
        body: payload,
        signal: this.ac,
      });
    } catch (err) {
      return transportOutcome(err, this.ac);
    }

    try {
      const status = res.statusCode;
      const contentType = String(res.headers['content-type'] ?? '');
      if (status >= 400) return await this.upstreamError(res, status, contentType);
      if (a.stream && contentType.includes('text/event-stream')) return await relayStream(this, res);
      // Non-streamed answer (or a provider that ignored `stream`): read whole, up to the limit
      // (over it: UpstreamBodyTooLarge, this member's failure, 502).
      const text = this.mask(await readBodyText(res, gw.config.maxUpstreamBodyBytes));
      this.disarm();
      return serveAnswer(this, status, text, contentType);
    } catch (err) {
      if (err instanceof OwnFault) return refusal(err, true, member);
      return transportOutcome(err, this.ac);
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  /**
   * A 400-class refusal that is not the request's own fault after all (CONTRACT "Conversations and
   * member capabilities"): the history's thinking signed elsewhere (`again`: the same member once
   * more without it), or a request too big for this member (`overflow`: a larger one may hold it).
   * Null: the request's own fault.
   */
  notTheRequestsFault(status: number, message: string, code?: string, type?: string): Outcome | null {
    if (!this.input.dropAllThinking && this.upstream.signed && isInvalidSignatureError(message)) return { kind: 'again', reason: `refused a thinking signature: ${message.slice(0, 200)}` };
    if (isContextOverflow(message, code, type)) return { kind: 'overflow', failure: { status, message: `context overflow: ${message.slice(0, 300)}`, retryAfter: null } };
    return null;
  }

  /**
   * An error event with a 400-class status before any content: not the member's failure. Unless
   * it is `again` / `overflow`, the request's own fault, answered in the client's format.
   */
  refusedInStream(status: number, message: string): Outcome {
    const other = this.notTheRequestsFault(status, message);
    if (other) return other;
    const a = this.input;
    a.rec.error = message;
    a.rec.status = status;
    if (!a.down?.opened) routeHeaders(this.reply, this.member);
    sendError(this.reply, a.client, status, message, undefined, a.down);
    return { kind: 'served', neutral: true };
  }

  /** An upstream error status: the request's own fault (passed back, nothing cools) or the member's failure. */
  private async upstreamError(res: Dispatcher.ResponseData, status: number, contentType: string): Promise<Outcome> {
    const { gw, reply, input: a, member } = this;
    const text = this.mask(await readBodyText(res, gw.config.maxUpstreamBodyBytes));
    this.disarm();
    const info = readErrorBody(text);
    if (isClientFault(status) && info) {
      const other = this.notTheRequestsFault(status, info.message, info.code, info.type);
      if (other) return other;
    }
    if (isClientFault(status)) {
      a.rec.error = info?.message ?? text.slice(0, 300);
      if (gw.telemetry.settings.logBodies) a.rec.responseBody = capBody(text, gw.telemetry.settings.logBodyMaxBytes);
      const conv = this.conv;
      const e = conv ? ours(() => conv.error(status, text)) : null;
      a.rec.status = e ? e.status : status;
      if (a.down?.opened) {
        // a long hold opened the stream already: the refusal becomes its error frame
        await a.down.fail(a.rec.status, a.rec.error);
        return { kind: 'served', neutral: true };
      }
      routeHeaders(reply, member);
      if (e) reply.code(e.status).header('content-type', 'application/json').send(e.body);
      else reply.code(status).header('content-type', contentType || 'application/json').send(text);
      return { kind: 'served', neutral: true };
    }
    return {
      kind: 'failed',
      failure: {
        status,
        message: `HTTP ${status}${info ? `: ${info.message}` : text ? `: ${text.slice(0, 200)}` : ''}`,
        retryAfter: parseRetryAfter(res.headers['retry-after'], Date.now(), res.headers['retry-after-ms']),
        body: { text, format: this.member.provider.format, contentType: contentType || 'application/json' },
      },
    };
  }
}

/**
 * A provider's masker (every one of its keys) and each key's needle, built once per provider
 * object (a reload makes new objects).
 */
interface Masking {
  mask: (text: string) => string;
  needle: (key: string) => Buffer | null;
}
const MASKING = new WeakMap<object, Masking>();
function maskingFor(provider: { apiKey: string; keys?: readonly { apiKey: string }[] }): Masking {
  let m = MASKING.get(provider);
  if (!m) {
    const keys = provider.keys ? provider.keys.map((k) => k.apiKey) : [provider.apiKey];
    const needles = new Map(keys.map((k) => [k, keyNeedle(k)]));
    m = { mask: keysMasker(keys), needle: (key) => (needles.has(key) ? needles.get(key)! : keyNeedle(key)) };
    MASKING.set(provider, m);
  }
  return m;
}

/** A body for the request log, cut to the configured size. */
export function capBody(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + `… [${text.length - max} more characters]` : text;
}
