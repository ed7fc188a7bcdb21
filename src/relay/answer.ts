import { statusForError, readErrorBody } from '../protocol/errors.js';
import { SSE_HEADERS } from './downstream.js';
import { routeHeaders } from './reply.js';
import { capBody, type Attempt } from './attempt.js';
import { EMPTY_ANSWER, fail, ours, type Outcome } from './outcome.js';

/**
 * A whole (non-streamed) 2xx answer: an error object or an answer without content is the member's
 * failure; otherwise it is served — converted when the formats differ, replayed as a stream when
 * the client asked for one and the provider ignored that.
 */
export function serveAnswer(att: Attempt, status: number, text: string, contentType: string): Outcome {
  const { gw, reply, input: a, member, upstream, conv, ctx } = att;
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text);
  } catch {
    return fail(502, `HTTP ${status} with an unreadable body: ${text.slice(0, 120)}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json) || upstream.answerIsError(json)) {
    const info = readErrorBody(text);
    return fail(statusForError(info?.type, info?.code), `HTTP ${status} carrying an error: ${info?.message ?? text.slice(0, 200)}`);
  }
  if (!upstream.answerHasContent(json)) return fail(502, EMPTY_ANSWER); // a common relay failure
  const answer = json;
  upstream.readUsage(answer.usage, att.usage);
  if (!conv) for (const sig of upstream.signaturesIn(answer)) gw.signatures.record(sig, member.providerId);
  a.rec.status = 200;
  if (gw.telemetry.settings.logBodies) a.rec.responseBody = capBody(text, gw.telemetry.settings.logBodyMaxBytes);
  const converted = conv && ctx ? ours(() => conv.response(answer, ctx)) : null;
  if (a.down) {
    // The client asked for a stream but the provider answered in one piece: replay it as a stream.
    a.rec.ttftMs = performance.now() - a.started;
    const frames = att.client.answerAsStream(converted ?? answer);
    if (a.down.opened) {
      void Promise.resolve(a.down.write(frames)).then(() => a.down!.end());
    } else {
      a.down.close();
      routeHeaders(reply, member);
      reply.code(200).headers(SSE_HEADERS).send(frames);
    }
    return { kind: 'served' };
  }
  routeHeaders(reply, member);
  if (converted) reply.code(200).header('content-type', 'application/json').send(converted);
  else reply.code(200).header('content-type', contentType || 'application/json').send(text);
  return { kind: 'served' };
}
