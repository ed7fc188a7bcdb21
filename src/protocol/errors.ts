import type { Format } from './formats.js';

/** Anthropic `error.type` for an HTTP status (docs.claude.com/en/api/errors). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400: case 422: return 'invalid_request_error';
    case 401: return 'authentication_error';
    case 402: return 'billing_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 408: case 504: return 'timeout_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 503: case 529: return 'overloaded_error';
    default: return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** OpenAI `error.type` and `error.code` for an HTTP status. */
export function openaiErrorType(status: number): { type: string; code: string | null } {
  switch (status) {
    case 400: case 422: return { type: 'invalid_request_error', code: null };
    case 401: return { type: 'authentication_error', code: 'invalid_api_key' };
    case 402: return { type: 'insufficient_quota', code: 'insufficient_quota' };
    case 403: return { type: 'permission_error', code: null };
    case 404: return { type: 'invalid_request_error', code: 'model_not_found' };
    case 408: case 504: return { type: 'timeout', code: 'timeout' };
    case 413: return { type: 'invalid_request_error', code: 'request_too_large' };
    case 429: return { type: 'rate_limit_error', code: 'rate_limit_exceeded' };
    case 503: case 529: return { type: 'server_error', code: 'overloaded' };
    default: return status >= 500 ? { type: 'server_error', code: null } : { type: 'invalid_request_error', code: null };
  }
}

export interface AnthropicErrorBody { type: 'error'; error: { type: string; message: string } }
export interface OpenAIErrorBody { error: { message: string; type: string; param: string | null; code: string | null } }

/** An error body in the client's own format. `type` overrides the type derived from the status. */
export function errorBody(format: Format, status: number, message: string, type?: string): AnthropicErrorBody | OpenAIErrorBody {
  if (format === 'anthropic') {
    return { type: 'error', error: { type: type ?? anthropicErrorType(status), message } };
  }
  const t = openaiErrorType(status);
  return { error: { message, type: type ?? t.type, param: null, code: t.code } };
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
