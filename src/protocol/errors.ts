import type { Format } from './formats.js';

/**
 * The one table of error kinds (docs.claude.com/en/api/errors, platform.openai.com error codes):
 * the HTTP status, the Anthropic `error.type`, the OpenAI `error.type` / `error.code` written for
 * it, and the types and codes upstreams send that mean it. Every status↔type question in the
 * gateway — an error body in the client's format, an error event met in a stream, an error object
 * in a 200 answer — is answered from this table.
 */
interface ErrorKind {
  statuses: readonly number[];
  anthropic: string;
  openai: { type: string; code: string | null };
  /** Upstream `type` / `code` values that mean this kind (exact match, lower case). */
  names: readonly string[];
}

const ERROR_KINDS: readonly ErrorKind[] = [
  { statuses: [400, 422], anthropic: 'invalid_request_error', openai: { type: 'invalid_request_error', code: null }, names: ['invalid_request_error', 'invalid_request', 'context_length_exceeded'] },
  { statuses: [401], anthropic: 'authentication_error', openai: { type: 'authentication_error', code: 'invalid_api_key' }, names: ['authentication_error', 'invalid_api_key', 'unauthorized'] },
  { statuses: [402], anthropic: 'billing_error', openai: { type: 'insufficient_quota', code: 'insufficient_quota' }, names: ['billing_error', 'payment_required'] },
  { statuses: [403], anthropic: 'permission_error', openai: { type: 'permission_error', code: null }, names: ['permission_error', 'forbidden'] },
  { statuses: [404], anthropic: 'not_found_error', openai: { type: 'invalid_request_error', code: 'model_not_found' }, names: ['not_found_error', 'model_not_found', 'not_found'] },
  { statuses: [504, 408], anthropic: 'timeout_error', openai: { type: 'timeout', code: 'timeout' }, names: ['timeout_error', 'timeout'] },
  { statuses: [413], anthropic: 'request_too_large', openai: { type: 'invalid_request_error', code: 'request_too_large' }, names: ['request_too_large'] },
  // OpenAI answers an exhausted quota with HTTP 429 `insufficient_quota`: read as a rate limit.
  { statuses: [429], anthropic: 'rate_limit_error', openai: { type: 'rate_limit_error', code: 'rate_limit_exceeded' }, names: ['rate_limit_error', 'rate_limit_exceeded', 'insufficient_quota', 'too_many_requests'] },
  { statuses: [529, 503], anthropic: 'overloaded_error', openai: { type: 'server_error', code: 'overloaded' }, names: ['overloaded_error', 'overloaded', 'service_unavailable'] },
  { statuses: [500], anthropic: 'api_error', openai: { type: 'server_error', code: null }, names: ['api_error', 'server_error', 'internal_error', 'internal_server_error'] },
];

const BY_STATUS = new Map<number, ErrorKind>();
const BY_NAME = new Map<string, number>();
for (const k of ERROR_KINDS) {
  for (const s of k.statuses) BY_STATUS.set(s, k);
  for (const n of k.names) BY_NAME.set(n, k.statuses[0]!);
}
const SERVER_ERROR = ERROR_KINDS.find((k) => k.anthropic === 'api_error')!;
const CLIENT_ERROR = ERROR_KINDS[0]!;

function kindFor(status: number): ErrorKind {
  return BY_STATUS.get(status) ?? (status >= 500 ? SERVER_ERROR : CLIENT_ERROR);
}

/** Anthropic `error.type` for an HTTP status. */
export function anthropicErrorType(status: number): string {
  return kindFor(status).anthropic;
}

/** OpenAI `error.type` and `error.code` for an HTTP status. */
export function openaiErrorType(status: number): { type: string; code: string | null } {
  return kindFor(status).openai;
}

/**
 * The HTTP status an upstream error means, from its `type` and/or `code` (either format): a
 * numeric code 400–599 is taken as the status; known names by the table, the code first (it is the
 * more specific: `server_error` / `overloaded`); otherwise a name that
 * contains one of them (`upstream_rate_limit_error`); otherwise 502 — an upstream error the
 * gateway cannot place is a bad answer from upstream.
 */
export function statusForError(type: unknown, code?: unknown): number {
  const n = typeof code === 'number' ? code : typeof code === 'string' && /^\d{3}$/.test(code) ? Number(code) : NaN;
  if (n >= 400 && n <= 599) return n;
  const names = [code, type].filter((v): v is string => typeof v === 'string' && v !== '').map((v) => v.toLowerCase());
  for (const name of names) {
    const s = BY_NAME.get(name);
    if (s !== undefined) return s;
  }
  for (const name of names) {
    if (name.includes('context_length')) return 400;
    for (const [known, s] of BY_NAME) {
      const stem = known.replace(/_error$/, '');
      if (stem.length >= 7 && name.includes(stem)) return s; // (not `api`, `server`: too common inside other names)
    }
  }
  return 502;
}

export interface AnthropicErrorBody { type: 'error'; error: { type: string; message: string } }
export interface OpenAIErrorBody { error: { message: string; type: string; param: string | null; code: string | null } }

/** What only an OpenAI error body carries: a more specific `code` than the status gives, the `param` at fault. */
export interface OpenAIErrorExtra { code?: string; param?: string }

/**
 * An error body in the client's own format. `type` overrides the type derived from the status;
 * `extra` sets an OpenAI body's `code` / `param` (an Anthropic body has neither).
 */
export function errorBody(format: Format, status: number, message: string, type?: string, extra?: OpenAIErrorExtra): AnthropicErrorBody | OpenAIErrorBody {
  if (format === 'anthropic') {
    return { type: 'error', error: { type: type ?? anthropicErrorType(status), message } };
  }
  const t = openaiErrorType(status);
  return { error: { message, type: type ?? t.type, param: extra?.param ?? null, code: extra?.code ?? t.code } };
}

/**
 * The frame that ends a stream which broke after it began (CONTRACT):
 * Anthropic clients get `event: error`, OpenAI clients a `data: {"error":…}` line.
 */
export function sseErrorFrame(format: Format, status: number, message: string, type?: string): string {
  const body = errorBody(format, status, message, type);
  if (format === 'anthropic') return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
  return `data: ${JSON.stringify(body)}\n\n`;
}

/**
 * Reads an upstream error body in either format and returns its message and type, or null when
 * the text is not a recognisable error body.
 */
export function readErrorBody(text: string): { message: string; type?: string; code?: string } | null {
  let json: unknown;
  try { json = JSON.parse(text); } catch { return null; }
  if (!json || typeof json !== 'object') return null;
  const err = (json as Record<string, unknown>).error;
  if (typeof err === 'string') return { message: err };
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    const message = typeof e.message === 'string' ? e.message : JSON.stringify(e);
    return {
      message,
      type: typeof e.type === 'string' ? e.type : undefined,
      code: typeof e.code === 'string' ? e.code : typeof e.code === 'number' ? String(e.code) : undefined,
    };
  }
  return null;
}
