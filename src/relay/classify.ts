/**
 * What an upstream answer or error means for the member that gave it. Pure.
 */

/** Statuses that are the request's own fault: passed back to the client, nothing cools. */
export function isClientFault(status: number): boolean {
  return status === 400 || status === 413 || status === 422;
}

/**
 * Transport errors that say the provider's host cannot be reached at all — refused, unresolvable,
 * unroutable, or not accepting a connection in time — whatever the model: they cool the whole
 * provider (a connection broken after it was made, ECONNRESET, is the member's own failure).
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * A transport error (undici / node) → the status the client would get, a short reason, and
 * whether the host could not be reached at all (`unreachable`: cools the whole provider).
 */
export function classifyTransportError(err: unknown): { status: 502 | 504; reason: string; unreachable: boolean } {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  const unreachable = UNREACHABLE_CODES.has(code);
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { status: 504, reason: `timeout (${code})`, unreachable };
  }
  const msg = e?.message ?? String(err);
  return { status: 502, reason: code ? `${code}: ${msg}` : msg, unreachable };
}
