import type { CancelState } from './cancel.js';
import type { Format } from '../protocol/formats.js';
import type { LiveMember } from '../routing/registry.js';
import { ConversionError } from '../protocol/convert/errors.js';
import { classifyTransportError } from './classify.js';
import { keyMasker } from '../secrets/redact.js';

/** Why one attempt did not serve the client; nothing of it had reached the client. */
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

/**
 * How one attempt ended.
 * - served: the client got its answer. `broke`: a stream that began and then failed (the client got
 *   an error frame, the member is cooled, nothing is retried); `neutral`: the upstream refused the
 *   request itself (400 / 413 / 422), neither the member's success nor its failure.
 * - failed: the member's failure, before anything reached the client: cool it, try the next.
 * - aborted: the client went away.
 * - refused: our own conversion code refused the request (ConversionError: 400 naming the field)
 *   or failed (any other exception: 500). Never the member's fault: nothing is cooled, nothing
 *   else is tried. `answered`: the member had answered (the fault was in converting its answer).
 * - overflow: the upstream said the request is too long for its context window: a member with a
 *   larger window may take it; nothing is cooled.
 * - again: the upstream refused a thinking signature in the history: the same member once more,
 *   without the history's thinking blocks; nothing is cooled.
 */
export type Outcome =
  | { kind: 'served'; broke?: Failure; neutral?: boolean }
  | { kind: 'failed'; failure: Failure }
  | { kind: 'aborted' }
  | { kind: 'overflow'; failure: Failure }
  | { kind: 'again'; reason: string }
  | Refused;

export type Refused = { kind: 'refused'; status: 400 | 500; message: string; field?: string; answered: boolean };

/** An exception thrown by conversion code, carried out of the attempt so it is not taken for a transport error. */
export class OwnFault extends Error {
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error));
  }
}

/** Runs conversion code; whatever it throws becomes an OwnFault. */
export function ours<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof OwnFault ? err : new OwnFault(err);
  }
}

export function refusal(fault: OwnFault, answered: boolean, member: LiveMember): Refused {
  const e = fault.error;
  if (e instanceof ConversionError) {
    return { kind: 'refused', status: 400, message: `${e.message} (cannot be translated for ${member.provider.format === 'openai' ? 'an OpenAI' : 'an Anthropic'}-format provider)`, field: e.field, answered };
  }
  return { kind: 'refused', status: 500, message: `internal error while converting the ${answered ? 'answer' : 'request'}: ${fault.message}`, answered };
}

/** Why an attempt's upstream call was cut short by the gateway. */
export class Cut extends Error {
  constructor(readonly reason: 'client' | 'first-byte' | 'idle' | 'total' | 'drain') {
    super(reason);
  }
}

/** The Cut behind an abort, if the gateway made it. */
export function cutOf(err: unknown, signal: CancelState): Cut | null {
  return signal.aborted && signal.reason instanceof Cut ? signal.reason : err instanceof Cut ? err : null;
}

/** A stream that ended, or an answer that came, without any content: the member's failure. */
export const EMPTY_STREAM = 'stream ended without any content (no text, thinking or tool call)';
export const EMPTY_ANSWER = 'answer without any content (no text, thinking or tool call)';

/** A request cut short when the shutdown grace is over (CONTRACT "Health and shutdown"). */
export const RESTARTING = 'the gateway is restarting: its shutdown grace (SHUTDOWN_GRACE_SECONDS) ended before this answer was complete; retry the request';

export function fail(status: number, message: string): Outcome {
  return { kind: 'failed', failure: { status, message, retryAfter: null } };
}

/** An upstream call that threw before the answer was served: the gateway's cut, or a transport error. */
export function transportOutcome(err: unknown, signal: CancelState): Outcome {
  const cut = cutOf(err, signal);
  if (cut) {
    if (cut.reason === 'client') return { kind: 'aborted' };
    if (cut.reason === 'drain') return fail(503, RESTARTING);
    if (cut.reason === 'first-byte') return fail(504, 'no first content before UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS');
    if (cut.reason === 'total') return fail(504, 'no complete answer before UPSTREAM_TIMEOUT_SECONDS');
    return fail(504, 'upstream went silent');
  }
  const t = classifyTransportError(err);
  return { kind: 'failed', failure: { status: t.status, message: t.reason, retryAfter: null, unreachable: t.unreachable } };
}

/**
 * The failure with the provider's key masked wherever upstream text may have echoed it: `key` is
 * the key, or a masker already built (an attempt's, which masks every key of its provider).
 */
export function maskFailure(f: Failure, key: string | ((text: string) => string)): Failure {
  const mask = typeof key === 'function' ? key : keyMasker(key);
  const message = mask(f.message);
  const text = f.body ? mask(f.body.text) : undefined;
  if (message === f.message && text === f.body?.text) return f;
  return { ...f, message, body: f.body ? { ...f.body, text: text! } : undefined };
}
