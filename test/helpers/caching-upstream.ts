import type { Behaviour, Upstream } from './upstream.js';
import { anthropicFrame, startUpstream } from './upstream.js';

/**
 * A stand-in provider that behaves as real backends do where conversations are concerned:
 * - **prefix caching**: it remembers every prefix of the conversations it was sent (as Anthropic
 *   prompt caching does, per provider) and reports the longest one already seen as
 *   `cache_read_input_tokens` (OpenAI format: `prompt_tokens_details.cached_tokens`), counting a
 *   token per 4 characters of the messages' JSON;
 * - **signed thinking** (Anthropic format): each answer starts with a thinking block signed
 *   `sig-<name>-<n>`, and a request whose history holds a thinking block signed by anyone else is
 *   refused with the real 400 ("Invalid `signature` in `thinking` block");
 * - **capabilities**: with `contextWindow`, a request larger than it (same 4-character rule) gets
 *   the format's context-overflow 400; with `vision: false`, a request with an image gets a 400.
 * Every request is kept in `seen` with what the provider made of it.
 */
export interface CachingUpstream {
  up: Upstream;
  name: string;
  /** One row per chat request: its conversation (the first message's text), tokens read from cache, in all, and
   *  cacheable (the history before the last message), the thinking signatures sent. */
  seen: { conv: string; cached: number; total: number; cacheable: number; signatures: string[]; status: number }[];
  /** When set, the next requests fail with this status (until cleared). */
  failWith: number | null;
}


export async function startCachingUpstream(opts: { name: string; format: 'anthropic' | 'openai'; thinking?: boolean; contextWindow?: number; vision?: boolean }): Promise<CachingUpstream> {
  const up = await startUpstream({ format: opts.format, name: opts.name });
  const prefixes = new Set<string>();
  let n = 0;
  const me: CachingUpstream = { up, name: opts.name, seen: [], failWith: null };
  const behaviour: Behaviour = {
    kind: 'custom',
    handle: (_req, body, res) => {
      const messages: unknown[] = Array.isArray(body?.messages) ? body.messages : [];
      const first = ((messages as { role?: string }[]).find((m) => m.role !== 'system') ?? {}) as { content?: unknown };
      const conv = typeof first.content === 'string' ? first.content : '';
      // what a provider caches: the prompt's head (system, tools) and then the messages, in order
      const head = JSON.stringify([body?.system ?? null, body?.tools ?? null]);
      const prefixOf = (i: number) => head + JSON.stringify(messages.slice(0, i));
      const tokensTo = (i: number) => Math.ceil(prefixOf(i).length / 4);
      const total = tokensTo(messages.length);
      const signatures: string[] = [];
      let foreign: string | null = null;
      let images = 0;
      for (const m of messages as { role?: string; content?: unknown }[]) {
        if (!Array.isArray(m.content)) continue;
        for (const b of m.content as { type?: string; signature?: string }[]) {
          if (b.type === 'thinking' && typeof b.signature === 'string') {
            signatures.push(b.signature);
            if (!b.signature.startsWith(`sig-${opts.name}-`)) foreign ??= b.signature;
          }
          if (b.type === 'image' || b.type === 'image_url') images++;
        }
      }
      const row = { conv, cached: 0, total, cacheable: tokensTo(messages.length - 1), signatures, status: 200 };
      me.seen.push(row);
      const fail = (status: number, type: string, message: string, code?: string) => {
        row.status = status;
        const text = JSON.stringify(opts.format === 'anthropic' ? { type: 'error', error: { type, message } } : { error: { message, type, code: code ?? null, param: null } });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(text);
      };
      if (me.failWith !== null) return fail(me.failWith, me.failWith === 429 ? 'rate_limit_error' : 'overloaded_error', 'unavailable');
      if (foreign && opts.format === 'anthropic') return fail(400, 'invalid_request_error', 'messages.1.content.0: Invalid `signature` in `thinking` block');
      if (images > 0 && opts.vision === false) return fail(400, 'invalid_request_error', 'this model does not support image input');
      if (opts.contextWindow !== undefined && total > opts.contextWindow) {
        return opts.format === 'anthropic'
          ? fail(400, 'invalid_request_error', `prompt is too long: ${total} tokens > ${opts.contextWindow} maximum`)
          : fail(400, 'invalid_request_error', `This model's maximum context length is ${opts.contextWindow} tokens. However, your messages resulted in ${total} tokens.`, 'context_length_exceeded');
      }
      // the longest prefix of this conversation already seen here is read from cache
      let cached = 0;
      for (let i = messages.length; i >= 0; i--) {
        if (prefixes.has(prefixOf(i))) {
          cached = tokensTo(i);
          break;
        }
      }
      for (let i = 0; i <= messages.length; i++) prefixes.add(prefixOf(i));
      row.cached = cached;
      n++;
      const text = `answer ${n} from ${opts.name}`;
      const sig = `sig-${opts.name}-${n}`;
      const input = total - cached;
      res.writeHead(200, { 'content-type': body?.stream ? 'text/event-stream' : 'application/json' });
      if (opts.format === 'anthropic') {
        const content: Record<string, unknown>[] = [];
        if (opts.thinking) content.push({ type: 'thinking', thinking: `thinking ${n}`, signature: sig });
        content.push({ type: 'text', text });
        const usage = { input_tokens: input, cache_read_input_tokens: cached, cache_creation_input_tokens: 0, output_tokens: 5 };
        if (!body?.stream) {
          res.end(JSON.stringify({ id: `msg_${n}`, type: 'message', role: 'assistant', model: body?.model, content, stop_reason: 'end_turn', stop_sequence: null, usage }));
          return;
        }
        const ev = anthropicFrame;
        let s = ev('message_start', { message: { id: `msg_${n}`, type: 'message', role: 'assistant', model: body?.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
        content.forEach((b, index) => {
          if (b.type === 'thinking') {
            s += ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
            s += ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: b.thinking } });
            s += ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: b.signature } });
          } else {
            s += ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
            s += ev('content_block_delta', { index, delta: { type: 'text_delta', text: b.text } });
          }
          s += ev('content_block_stop', { index });
        });
        s += ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
        res.end(s + ev('message_stop', {}));
        return;
      }
      const usage = { prompt_tokens: total, completion_tokens: 5, total_tokens: total + 5, prompt_tokens_details: { cached_tokens: cached } };
      if (!body?.stream) {
        res.end(JSON.stringify({ id: `c${n}`, object: 'chat.completion', created: 1, model: body?.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage }));
        return;
      }
      const base = { id: `c${n}`, object: 'chat.completion.chunk', created: 1, model: body?.model };
      res.end([
        { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: text }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
        { ...base, choices: [], usage },
      ].map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n');
    },
  };
  up.fallback = behaviour;
  return me;
}
