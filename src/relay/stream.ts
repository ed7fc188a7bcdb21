import type { Dispatcher } from 'undici';
import { SseParser, type SseEvent } from '../protocol/sse.js';
import type { StreamTranslator } from '../protocol/convert/types.js';
import { classifyTransportError, isClientFault } from './classify.js';
import { capBody, type Attempt } from './attempt.js';
import { cutOf, EMPTY_STREAM, fail, OwnFault, ours, RESTARTING, type Outcome } from './outcome.js';

/** An SSE event block ends with a line end: a chunk that ends with one holds no half character. */
const LF = 0x0a;
const CR = 0x0d;

/**
 * Relays one upstream stream to the client (CONTRACT "When the client sees the first byte").
 *
 * Until the first content event the stream is held: its events are kept (not sent), and an error
 * event, the end of the stream, or the first-byte deadline is this member's failure — the request
 * moves on and the client never knew. From the first content on, the stream is the client's:
 * translated event by event when the formats differ; otherwise the upstream's bytes are forwarded
 * as they came (a chunk that ends on an event boundary and cannot hold the provider's key goes out
 * as the very Buffer that arrived) and only watched for usage, errors and completion. A break after
 * that ends the client's stream with its format's error frame, and is never retried.
 */
export async function relayStream(att: Attempt, res: Dispatcher.ResponseData): Promise<Outcome> {
  const { gw, input: a, upstream, mask } = att;
  const down = a.down!;
  const parser = new SseParser();
  const translator: StreamTranslator | null = att.conv && att.ctx ? ours(() => att.conv!.stream(att.ctx!)) : null;
  // Usage is read by the translator when there is one, else by the watch — which also notes who
  // signed each thinking block passed through (a same-format client sends them back next turn).
  const providerId = att.member.providerId;
  const watch = translator ? upstream.watch(null) : upstream.watch(att.usage, (sig) => gw.signatures.record(sig, providerId));
  const needle = att.keyNeedle;
  let committed = false;

  /** One upstream event → the client's text for it (the event itself, or its translation). */
  const emit = (ev: SseEvent): string => {
    watch.see(ev);
    if (!translator) return ev.raw;
    try {
      return translator.push(ev);
    } catch (err) {
      throw new OwnFault(err);
    }
  };
  const send = (text: string): Promise<void> | void => (text === '' ? undefined : down.write(mask(text)));

  /** An error before any content: the member's failure — unless it is a 400-class refusal (see Attempt.refusedInStream). */
  const refused = (status: number, message: string): Outcome => (isClientFault(status) ? att.refusedInStream(status, message) : fail(status, message));

  // Client text produced before the first content (message_start, empty blocks, role chunks): held
  // back, so that a member that fails or ends before saying anything can still be replaced.
  let held = '';
  /** One event while nothing of this member has reached the client: a failure, or "" / the text to send. */
  const beforeFirst = (ev: SseEvent): Outcome | string => {
    if (!upstream.isSubstantive(ev)) return '';
    const err = upstream.errorIn(ev) ?? null;
    if (err) return refused(err.status, mask(err.message));
    const produced = emit(ev);
    const st = translator?.state?.();
    if (st?.error) return refused(st.error.status, mask(st.error.message));
    if (!upstream.isContent(ev)) {
      if (watch.complete) return fail(502, EMPTY_STREAM);
      held += produced;
      return '';
    }
    committed = true;
    att.commit();
    att.armIdle(gw.config.idleTimeoutMs);
    const text = held + produced;
    held = '';
    return text;
  };
  /** Events that arrived together: held, or (from the first content on) the client's text. */
  const take = (events: SseEvent[]): Outcome | string => {
    let text = '';
    for (const ev of events) {
      if (committed) {
        text += emit(ev);
        continue;
      }
      const first = beforeFirst(ev);
      if (typeof first === 'object') return first;
      text += first;
    }
    return text;
  };

  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (committed) {
        att.active();
        const boundaryBefore = parser.pending === '';
        const events = parser.push(chunk);
        const last = chunk[chunk.length - 1];
        if (!translator && boundaryBefore && parser.pending === '' && (last === LF || last === CR) && (needle === null || chunk.indexOf(needle) === -1)) {
          // Same format, whole events, no trace of the key: the bytes go out as they came.
          for (const ev of events) watch.see(ev);
          await down.write(chunk);
          continue;
        }
        let text = '';
        for (const ev of events) text += emit(ev);
        await send(text);
        continue;
      }
      const events = parser.push(chunk);
      if (events.length === 0) continue;
      const text = take(events);
      if (typeof text === 'object') return text;
      await send(text);
    }
    const tail = take(parser.end());
    if (typeof tail === 'object') return tail;
    await send(tail);
    att.disarm();
    if (!committed) return fail(502, EMPTY_STREAM);

    let broke: { status: number; message: string } | null = null;
    if (translator) {
      await send(ours(() => translator.end()));
      const st = translator.state?.();
      if (st?.error) broke = { status: st.error.status, message: `upstream sent an error mid-stream: ${mask(st.error.message)}` };
      Object.assign(att.usage, translator.usage());
    } else if (watch.error) {
      broke = { status: watch.error.status, message: `upstream sent an error mid-stream: ${mask(watch.error.message)}` };
    } else if (!watch.complete) {
      broke = { status: 502, message: 'upstream stream ended before completion' };
      await down.write(att.client.errorFrame(502, broke.message));
    }
    finish(att);
    down.end();
    if (!broke) return { kind: 'served' };
    a.rec.error = broke.message;
    return { kind: 'served', broke: { status: broke.status, message: `mid-stream: ${broke.message}`, retryAfter: null } };
  } catch (err) {
    att.disarm();
    if (!committed) throw err;
    if (translator) Object.assign(att.usage, translator.usage());
    finish(att);
    if (err instanceof OwnFault) {
      // Our translator failed after the stream began: end it well-formed; the member is not at fault.
      a.rec.error = `internal error while converting the stream: ${err.message}`;
      await down.fail(500, a.rec.error);
      return { kind: 'served' };
    }
    const reason = cutOf(err, att.signal)?.reason;
    if (reason === 'client' || down.destroyed) {
      down.destroy();
      return { kind: 'aborted' };
    }
    if (reason === 'drain') {
      // The shutdown grace is over: a well-formed end in the client's format; the member is not at fault.
      a.rec.error = RESTARTING;
      await down.fail(503, RESTARTING);
      return { kind: 'served' };
    }
    // The stream broke after it began: end it with a well-formed error; never retry.
    const idle = reason === 'idle';
    const message = idle ? `upstream was silent for more than ${gw.config.idleTimeoutMs / 1000} s` : `upstream stream broke: ${classifyTransportError(err).reason}`;
    a.rec.error = message;
    const status = idle ? 504 : 502;
    await down.fail(status, message);
    return { kind: 'served', broke: { status, message: `mid-stream: ${message}`, retryAfter: null } };
  }
}

/** The stream's text for the request log, when bodies are logged. */
function finish(att: Attempt): void {
  const c = att.input.down!.capture;
  if (c) att.input.rec.responseBody = capBody(c.text, c.max);
}
