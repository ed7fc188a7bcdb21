import type { Dialect, ImageFacts, StreamWatch, UpstreamError } from '../dialect.js';
import { int, nonEmpty, parseOrNull } from '../dialect.js';
import type { SseEvent } from '../sse.js';
import type { Usage } from '../../telemetry/record.js';
import { openaiErrorType, errorBody, sseErrorFrame, statusForError } from '../errors.js';
import { CHAT_PATH } from '../formats.js';
import { prepareOpenAIPassthrough } from '../convert/passthrough.js';

/** The OpenAI Chat Completions format (platform.openai.com/docs/api-reference/chat). */

interface Message { content?: unknown; tool_calls?: unknown; function_call?: unknown; reasoning_content?: unknown; reasoning?: unknown; refusal?: unknown }

function messageHasContent(m: Message | undefined): boolean {
  if (!m || typeof m !== 'object') return false;
  if (nonEmpty(m.content) || nonEmpty(m.reasoning_content) || nonEmpty(m.reasoning) || nonEmpty(m.refusal)) return true;
  if (Array.isArray(m.content) && m.content.length > 0) return true;
  if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) return true;
  return m.function_call !== undefined && m.function_call !== null;
}

function errorIn(ev: SseEvent): UpstreamError | null {
  if (!ev.data.includes('"error"')) return null;
  const json = parseOrNull(ev.data) as { error?: { type?: string; code?: unknown; message?: string } | string } | null;
  if (!json || typeof json !== 'object' || json.error === undefined || json.error === null || 'choices' in json) return null;
  const e = typeof json.error === 'string' ? { message: json.error, type: undefined, code: undefined } : json.error;
  const name = e.type ?? (typeof e.code === 'string' ? e.code : undefined);
  return { status: statusForError(e.type, e.code), message: `error event${name ? ` ${name}` : ''}: ${e.message ?? ''}`.trim() };
}

function readUsage(u: unknown, into: Usage): Usage {
  if (!u || typeof u !== 'object') return into;
  const o = u as Record<string, unknown>;
  const details = (o.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const cached = int(details.cached_tokens ?? o.prompt_cache_hit_tokens);
  const created = int(details.cache_creation_tokens);
  into.cacheReadTokens = cached;
  into.cacheCreationTokens = created;
  into.inputTokens = Math.max(0, int(o.prompt_tokens) - cached - created);
  into.outputTokens = int(o.completion_tokens);
  return into;
}

const FINISH = /"finish_reason"\s*:\s*"/;
/** A usage object (`"usage":{` or, as Python's json.dumps writes it, `"usage": {`). */
const USAGE = /"usage"\s*:\s*\{/;

class Watch implements StreamWatch {
  complete = false;
  error: UpstreamError | null = null;
  constructor(private readonly usage: Usage | null) {}
  see(ev: SseEvent): void {
    const d = ev.data;
    if (d === '[DONE]') {
      this.complete = true;
      return;
    }
    if (!this.complete && FINISH.test(d)) this.complete = true;
    if (this.usage && USAGE.test(d)) {
      const j = parseOrNull(d) as { usage?: unknown } | null;
      if (j) readUsage(j.usage, this.usage);
    }
    if (d.includes('"error"')) {
      const e = errorIn(ev);
      if (e) this.error = e;
    }
  }
}

function answerAsStream(c: Record<string, unknown>): string {
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

/** `image_url` parts in an OpenAI request's messages (inline `data:` URLs counted by their length). */
function imagesIn(body: Record<string, unknown>): ImageFacts {
  const facts: ImageFacts = { images: 0, imageChars: 0 };
  const messages = body.messages;
  if (!Array.isArray(messages)) return facts;
  for (const m of messages as { content?: unknown }[]) {
    if (!m || typeof m !== 'object' || !Array.isArray(m.content)) continue;
    for (const p of m.content as { type?: unknown; image_url?: { url?: unknown } | string }[]) {
      if (!p || typeof p !== 'object' || p.type !== 'image_url') continue;
      facts.images++;
      const url = typeof p.image_url === 'string' ? p.image_url : p.image_url?.url;
      if (typeof url === 'string' && url.startsWith('data:')) facts.imageChars += url.length;
    }
  }
  return facts;
}

export const openai: Dialect = {
  format: 'openai',
  chatPath: CHAT_PATH.openai,
  signed: false,
  keepAlive: ': keep-alive\n\n',
  isSubstantive: (ev) => ev.data !== '',
  isContent(ev) {
    if (ev.data === '' || ev.data === '[DONE]') return false;
    const j = parseOrNull(ev.data) as { choices?: { delta?: Message }[] } | null;
    const choices = j && Array.isArray(j.choices) ? j.choices : [];
    return choices.some((c) => messageHasContent(c?.delta));
  },
  errorIn,
  watch: (usage) => new Watch(usage),
  signaturesIn: () => [], // (no signed thinking in this format)
  answerHasContent(answer) {
    const choices = Array.isArray(answer.choices) ? (answer.choices as { message?: Message }[]) : [];
    return choices.some((c) => messageHasContent(c?.message));
  },
  answerIsError: (a) => a.type === 'error' || ('error' in a && !('choices' in a)),
  readUsage,
  answerAsStream,
  errorType: (status) => openaiErrorType(status).type,
  errorBody: (status, message, type, extra) => errorBody('openai', status, message, type, extra) as unknown as Record<string, unknown>,
  errorFrame: (status, message, type) => sseErrorFrame('openai', status, message, type),
  imagesIn,
  prepare: prepareOpenAIPassthrough,
};
