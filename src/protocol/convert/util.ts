/**
 * Small pure helpers shared by both conversion directions: JSON guards, ids, tool names,
 * stop-reason and usage tables (protocols.md §2.3–§2.5), error classification (§4).
 */
import { createHash, randomBytes } from 'node:crypto';
import { anthropicErrorType } from '../errors.js';

export type Json = Record<string, unknown>;

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value when it is a string with at least one character, else undefined. */
export function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const NOT_WHITESPACE = /\S/;

/**
 * True when the string has a character other than whitespace (without copying it). "Whitespace" is
 * the set `String#trim` and `\s` use: ASCII space/tab/line ends, U+00A0, U+1680, U+2000–U+200A,
 * U+2028/U+2029, U+202F, U+205F, U+3000, U+FEFF. So a text of one U+2000 (what a model may emit) is
 * whitespace-only too and must not become an Anthropic text block (P7).
 */
export function hasText(s: string): boolean {
  // Fast path: most texts start with printable ASCII. Anything else — including Unicode spaces above
  // U+0020, which are not visible — takes the full scan.
  const c = s.charCodeAt(0); // NaN for ""
  if (c > 32 && c < 127) return true;
  return NOT_WHITESPACE.test(s);
}

/** A finite number, or undefined. */
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** A non-negative integer for a usage field (never undefined, never NaN). */
export function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : 0;
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `prefix` + `n` random base-62 characters (e.g. `msg_01…`-like ids). */
export function randomId(prefix: string, n = 24): string {
  const bytes = randomBytes(n);
  let s = prefix;
  for (let i = 0; i < n; i++) s += B62[bytes[i]! % 62];
  return s;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** An end-user id safe for both APIs: sha256 hex, 64 chars, `^[a-f0-9]+$` (P14). */
export function hashUserId(id: string): string {
  return sha256Hex(id);
}

const TOOL_ID_OK = /^[A-Za-z0-9_-]+$/;

/** Anthropic tool-use ids must match `^[a-zA-Z0-9_-]+$` (Kimi sends `functions.Bash:0`). */
export function sanitizeToolId(id: unknown): string {
  if (typeof id !== 'string' || id === '') return randomId('toolu_');
  if (TOOL_ID_OK.test(id)) return id;
  const s = id.replace(/[^A-Za-z0-9_-]/g, '_');
  return s;
}

/** OpenAI limits function names to 64 characters. */
export const OPENAI_TOOL_NAME_MAX = 64;

/** A name ≤ 64 chars: kept when short enough, else the first 55 chars + "_" + 8 hex of its sha256 (LL). */
export function shortToolName(name: string): string {
  if (name.length <= OPENAI_TOOL_NAME_MAX) return name;
  return `${name.slice(0, 55)}_${sha256Hex(name).slice(0, 8)}`;
}

/**
 * Tool-call arguments → an input object. Accepts an object already (some servers), a JSON
 * string, "" (→ {}), or a JSON string of a JSON string. Anything unusable becomes {}.
 */
export function parseToolArgs(args: unknown): Json {
  if (isObj(args)) return args;
  if (typeof args !== 'string' || !hasText(args)) return {};
  try {
    let v: unknown = JSON.parse(args);
    if (typeof v === 'string' && hasText(v)) v = JSON.parse(v);
    return isObj(v) ? v : {};
  } catch {
    return {};
  }
}

/** An Anthropic tool input → OpenAI `arguments` string. */
export function stringifyToolInput(input: unknown): string {
  if (input === undefined || input === null) return '{}';
  if (typeof input === 'string') return hasText(input) ? input : '{}';
  return JSON.stringify(input);
}

/** True when `s` is non-empty and parses as JSON (used only at block switches, never per fragment). */
export function isCompleteJson(s: string): boolean {
  if (!hasText(s)) return false;
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

// ---- stop reasons (§2.3) ----

/** OpenAI `finish_reason` → Anthropic `stop_reason` (tool_use decided by the caller when tools were produced). */
export function finishToStopReason(finish: unknown): 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal' {
  switch (finish) {
    case 'length': return 'max_tokens';
    case 'content_filter': return 'refusal';
    case 'tool_calls': case 'function_call': return 'tool_use';
    default: return 'end_turn';
  }
}

/** Anthropic `stop_reason` → OpenAI `finish_reason`. */
export function stopReasonToFinish(stop: unknown): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  switch (stop) {
    case 'max_tokens': case 'model_context_window_exceeded': return 'length';
    case 'tool_use': return 'tool_calls';
    case 'refusal': return 'content_filter';
    default: return 'stop';
  }
}

// ---- usage (§2.4) ----

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** OpenAI usage → Anthropic usage; every field an integer. */
export function openaiUsageToAnthropic(u: Json): AnthropicUsage {
  const pd = isObj(u.prompt_tokens_details) ? u.prompt_tokens_details : undefined;
  const cacheRead = int(pd?.cached_tokens ?? u.prompt_cache_hit_tokens);
  const cacheCreation = int(pd?.cache_creation_tokens);
  let prompt = int(u.prompt_tokens ?? u.input_tokens);
  if (prompt === 0 && u.prompt_cache_miss_tokens !== undefined) prompt = int(u.prompt_cache_miss_tokens) + cacheRead;
  return {
    input_tokens: Math.max(prompt - cacheRead - cacheCreation, 0),
    output_tokens: int(u.completion_tokens ?? u.output_tokens),
    cache_creation_input_tokens: cacheCreation,
    cache_read_input_tokens: cacheRead,
  };
}

/** Anthropic usage → OpenAI usage (prompt_tokens includes the cached parts). */
export function anthropicUsageToOpenAI(u: AnthropicUsage, thinkingTokens?: number): Json {
  const prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
  const out: Json = {
    prompt_tokens: prompt,
    completion_tokens: u.output_tokens,
    total_tokens: prompt + u.output_tokens,
    prompt_tokens_details: { cached_tokens: u.cache_read_input_tokens },
  };
  if (thinkingTokens !== undefined) out.completion_tokens_details = { reasoning_tokens: thinkingTokens };
  return out;
}

/** Reads an Anthropic usage object (fields may be missing or null). */
export function readAnthropicUsage(u: unknown): AnthropicUsage {
  const o = isObj(u) ? u : {};
  return {
    input_tokens: int(o.input_tokens),
    output_tokens: int(o.output_tokens),
    cache_creation_input_tokens: int(o.cache_creation_input_tokens),
    cache_read_input_tokens: int(o.cache_read_input_tokens),
  };
}

// ---- thinking signatures (P10) ----

/**
 * Thinking blocks this gateway makes out of OpenAI `reasoning_content` carry this signature
 * prefix, so they can be recognised and removed before the history reaches a real Anthropic
 * upstream (which rejects signatures it did not mint).
 */
export const SYNTHETIC_SIGNATURE_PREFIX = 'apgw-synthetic-';
export const SYNTHETIC_SIGNATURE = `${SYNTHETIC_SIGNATURE_PREFIX}v1`;

// ---- errors (§4) ----

const CONTEXT_PATTERNS = [
  'maximum context length', 'context length', 'context_length', 'context window', 'too many tokens',
  'prompt is too long', 'input is too long', 'tokens exceed', 'exceeds the context', 'exceed context limit',
  'reduce the length of the messages', 'maximum number of tokens', 'input length',
];

/** Is this upstream error a context-window overflow (§4, P19)? */
export function isContextOverflow(message: string, code?: string, type?: string): boolean {
  if (code === 'context_length_exceeded' || type === 'context_length_exceeded' || code === 'string_above_max_length') {
    return true;
  }
  const m = message.toLowerCase();
  for (const p of CONTEXT_PATTERNS) if (m.includes(p)) return true;
  return false;
}

/**
 * The Anthropic wording Claude Code's auto-compaction keys on: "prompt is too long: N tokens > M
 * maximum" when the numbers can be read from the upstream message, then the upstream text.
 */
export function promptTooLongMessage(upstreamMessage: string): string {
  if (upstreamMessage.toLowerCase().includes('prompt is too long')) return upstreamMessage;
  const limit = /maximum context length is (\d+)/i.exec(upstreamMessage)?.[1]
    ?? /context (?:length|window|limit)[^\d]{0,20}(\d{3,})/i.exec(upstreamMessage)?.[1];
  const used = /(?:resulted in|requested|you requested|contains?|have|has) (?:about )?(\d{3,}) tokens/i.exec(upstreamMessage)?.[1];
  const head = limit && used && Number(used) > Number(limit)
    ? `prompt is too long: ${used} tokens > ${limit} maximum`
    : 'prompt is too long';
  return upstreamMessage ? `${head} (upstream: ${upstreamMessage})` : head;
}

/** The Anthropic error for an upstream OpenAI error (status + message + code/type). */
export function anthropicErrorFor(status: number, message: string, code?: string, type?: string): {
  status: number; type: string; message: string;
} {
  if ((status === 400 || status === 413 || status === 422) && isContextOverflow(message, code, type)) {
    return { status: 400, type: 'invalid_request_error', message: promptTooLongMessage(message) };
  }
  return { status, type: anthropicErrorType(status), message };
}

/** A short message for an upstream error body that is not JSON (HTML pages, plain text). */
export function fallbackErrorMessage(status: number, bodyText: string): string {
  const t = bodyText.length > 300 ? `${bodyText.slice(0, 300)}…` : bodyText;
  const clean = t.replace(/\s+/g, ' ').trim();
  return clean ? `upstream returned HTTP ${status}: ${clean}` : `upstream returned HTTP ${status}`;
}

// ---- cheap estimates for the hot path ----

/** Characters → tokens, cheap (no tokenizer): ~4 chars a token. */
export function charsToTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** A fixed cost for an image when nothing better is known (a ~1.15 MP image is ~1600 tokens). */
export const IMAGE_TOKENS_ESTIMATE = 1600;

// ---- Claude model heuristics ----

/** `claude-opus-4-6`, `claude-sonnet-4-5-20250929`, `claude-3-7-sonnet-…` → [major, minor]; null when not a Claude name. */
export function claudeVersion(model: string): [number, number] | null {
  const m = model.toLowerCase();
  const at = m.indexOf('claude');
  if (at === -1) return null;
  const re = /(?:^|[-_.])(\d{1,2})(?:[-_.](\d{1,2}))?(?=$|[-_.@:[\]/])/g;
  re.lastIndex = at;
  const hit = re.exec(m);
  if (!hit) return null;
  return [Number(hit[1]), hit[2] !== undefined ? Number(hit[2]) : 0];
}

/** Claude ≥ major.minor. */
export function claudeAtLeast(model: string, major: number, minor: number): boolean {
  const v = claudeVersion(model);
  return v !== null && (v[0] > major || (v[0] === major && v[1] >= minor));
}
