/**
 * Scripted provider answers for the SDK conversion tests: one logical answer (reasoning, text,
 * tool calls, stop, usage) rendered the way a real provider sends it — an OpenAI
 * `chat.completion` / chunk stream, or an Anthropic `message` / SSE event stream — plus the
 * raw-SSE readers and grammar checks the tests use on what the client received.
 *
 * Deliberately independent of src/: the SSE parsing here is its own, so a gateway parser bug
 * cannot hide behind a shared helper.
 */
import type http from 'node:http';
import { expect } from 'vitest';
import { anthropicFrame, type Behaviour } from './upstream.js';

export type Fmt = 'openai' | 'anthropic';

export interface ScriptedToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

/** Usage in the provider's own terms (only the fields given are sent, plus what the format requires). */
export interface ScriptedUsage {
  /** Anthropic: uncached input; OpenAI: derived prompt_tokens = input + cacheRead (+ cacheCreation). */
  input: number;
  output: number;
  cacheRead?: number;
  cacheCreation?: number;
}

export interface Answer {
  /** OpenAI `reasoning_content` / Anthropic thinking block. */
  reasoning?: string;
  /** Anthropic thinking signature (a real-looking one by default). */
  signature?: string;
  text?: string;
  tools?: ScriptedToolCall[];
  /** Default: tool when tools are present, else end. */
  stop?: 'end' | 'tool' | 'length';
  usage?: ScriptedUsage;
  /** Raw usage object to send instead of the one derived from `usage`. */
  rawUsage?: Record<string, unknown>;
  /** Streamed: how many fragments each text / argument string is cut into. Default 3. */
  pieces?: number;
  /** OpenAI streams: interleave the argument fragments of the calls (some providers do). */
  interleave?: boolean;
  /** Streamed: send only this many events, then destroy the socket. */
  cutAfter?: number;
  /** Streamed: write the bytes in slices of this many bytes (events split anywhere, UTF-8 too). */
  chop?: number;
  /** Message / completion id the provider uses. */
  id?: string;
}

export const REAL_SIGNATURE = 'EqQBCkYIBRgCKkBmZmFrZS1idXQtcmVhbGlzdGljLXNpZ25hdHVyZS1ieXRlcw==';

/** Cuts a string into `n` non-empty pieces at uneven positions (the whole string when shorter). */
export function cut(s: string, n: number): string[] {
  n = Math.min(n, s.length);
  if (n <= 1) return [s];
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < n - 1; i++) {
    const remaining = s.length - at;
    const left = n - i;
    const size = Math.max(1, Math.min(remaining - (left - 1), Math.round((remaining / left) * (i % 2 ? 1.4 : 0.6))));
    out.push(s.slice(at, at + size));
    at += size;
  }
  out.push(s.slice(at));
  return out;
}

const stopOf = (a: Answer): 'end' | 'tool' | 'length' => a.stop ?? (a.tools && a.tools.length > 0 ? 'tool' : 'end');

// ---------------------------------------------------------------- OpenAI renderings

export function openaiUsage(a: Answer): Record<string, unknown> | undefined {
  if (a.rawUsage) return a.rawUsage;
  if (!a.usage) return undefined;
  const u = a.usage;
  const prompt = u.input + (u.cacheRead ?? 0) + (u.cacheCreation ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output,
    total_tokens: prompt + u.output,
    prompt_tokens_details: { cached_tokens: u.cacheRead ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const FINISH = { end: 'stop', tool: 'tool_calls', length: 'length' } as const;

export function openaiCompletion(model: string, a: Answer): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: a.text ?? null, refusal: null, annotations: [] };
  if (a.reasoning) message.reasoning_content = a.reasoning;
  if (a.tools?.length) {
    message.tool_calls = a.tools.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: JSON.stringify(t.input) } }));
  }
  return {
    id: a.id ?? 'chatcmpl-Bup5tr3amXyZ0123456789',
    object: 'chat.completion',
    created: 1764115200,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH[stopOf(a)] }],
    usage: openaiUsage(a) ?? { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    service_tier: 'default',
    system_fingerprint: 'fp_standin01',
  };
}

/** `data: …` events of an OpenAI chunk stream, `[DONE]` included. */
export function openaiChunks(model: string, a: Answer): string[] {
  const id = a.id ?? 'chatcmpl-Bup5tr3amXyZ0123456789';
  const n = a.pieces ?? 3;
  const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({
    id, object: 'chat.completion.chunk', created: 1764115200, model, service_tier: 'default', system_fingerprint: 'fp_standin01',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null,
  })}\n\n`;
  const tools = a.tools ?? [];
  const frags = tools.map((t) => cut(JSON.stringify(t.input), n));
  const headDelta = (i: number) => ({ tool_calls: [{ index: i, id: tools[i]!.id, type: 'function', function: { name: tools[i]!.name, arguments: '' } }] });
  // As OpenAI does: an answer that opens with a tool call carries it in the role chunk (content null).
  const toolFirst = !a.text && !a.reasoning && tools.length > 0;
  const out = [chunk(toolFirst ? { role: 'assistant', content: null, ...headDelta(0), refusal: null } : { role: 'assistant', content: '', refusal: null })];
  if (a.reasoning) for (const p of cut(a.reasoning, n)) out.push(chunk({ content: null, reasoning_content: p }));
  if (a.text) for (const p of cut(a.text, n)) out.push(chunk({ content: p }));
  const head = (i: number) => (toolFirst && i === 0 ? '' : chunk(headDelta(i)));
  const frag = (i: number, f: string) => chunk({ tool_calls: [{ index: i, function: { arguments: f } }] });
  if (a.interleave) {
    const rounds = Math.max(0, ...frags.map((f) => f.length));
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < tools.length; i++) {
        if (r === 0 && head(i)) out.push(head(i));
        const f = frags[i]![r];
        if (f !== undefined) out.push(frag(i, f));
      }
    }
  } else {
    for (let i = 0; i < tools.length; i++) {
      if (head(i)) out.push(head(i));
      for (const f of frags[i]!) out.push(frag(i, f));
    }
  }
  out.push(chunk({}, FINISH[stopOf(a)]));
  const usage = openaiUsage(a);
  if (usage) {
    out.push(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1764115200, model, service_tier: 'default', system_fingerprint: 'fp_standin01', choices: [], usage })}\n\n`);
  }
  out.push('data: [DONE]\n\n');
  return out;
}

// ---------------------------------------------------------------- Anthropic renderings

export function anthropicUsage(a: Answer): Record<string, unknown> {
  if (a.rawUsage) return a.rawUsage;
  const u = a.usage ?? { input: 10, output: 5 };
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cacheCreation ?? 0,
    cache_read_input_tokens: u.cacheRead ?? 0,
    output_tokens: u.output,
    service_tier: 'standard',
  };
}

const STOP = { end: 'end_turn', tool: 'tool_use', length: 'max_tokens' } as const;

function anthropicBlocks(a: Answer): Record<string, unknown>[] {
  const content: Record<string, unknown>[] = [];
  if (a.reasoning) content.push({ type: 'thinking', thinking: a.reasoning, signature: a.signature ?? REAL_SIGNATURE });
  if (a.text) content.push({ type: 'text', text: a.text });
  for (const t of a.tools ?? []) content.push({ type: 'tool_use', id: t.id, name: t.name, input: t.input });
  return content;
}

export function anthropicMessage(model: string, a: Answer): Record<string, unknown> {
  return {
    id: a.id ?? 'msg_01StandInUpstream0000001',
    type: 'message',
    role: 'assistant',
    model,
    content: anthropicBlocks(a),
    stop_reason: STOP[stopOf(a)],
    stop_sequence: null,
    usage: anthropicUsage(a),
  };
}

/** `event: …` frames of an Anthropic stream, as the API sends them (ping after message_start). */
export function anthropicEvents(model: string, a: Answer): string[] {
  const n = a.pieces ?? 3;
  const ev = anthropicFrame;
  const usage = anthropicUsage(a);
  const out = [
    ev('message_start', {
      message: {
        id: a.id ?? 'msg_01StandInUpstream0000001', type: 'message', role: 'assistant', model, content: [],
        stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 },
      },
    }),
    ev('ping'),
  ];
  anthropicBlocks(a).forEach((b, index) => {
    if (b.type === 'thinking') {
      out.push(ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
      for (const p of cut(b.thinking as string, n)) out.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: p } }));
      out.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: b.signature } }));
    } else if (b.type === 'text') {
      out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const p of cut(b.text as string, n)) out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: p } }));
    } else {
      out.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }));
      out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }));
      for (const p of cut(JSON.stringify(b.input), n)) out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } }));
    }
    out.push(ev('content_block_stop', { index }));
  });
  out.push(ev('message_delta', { delta: { stop_reason: STOP[stopOf(a)], stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }));
  out.push(ev('message_stop'));
  return out;
}

// ---------------------------------------------------------------- the stand-in's behaviour

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A `custom` behaviour answering `a` in `format`, streamed when the request asks for it. */
export function answer(format: Fmt, a: Answer): Behaviour {
  return {
    kind: 'custom',
    handle: (req: http.IncomingMessage, body: any, res: http.ServerResponse) => {
      const model = typeof body?.model === 'string' ? body.model : 'unknown';
      if (body?.stream !== true) {
        const text = JSON.stringify(format === 'openai' ? openaiCompletion(model, a) : anthropicMessage(model, a));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': 'req_standin' });
        res.end(text);
        return;
      }
      let events = format === 'openai' ? openaiChunks(model, a) : anthropicEvents(model, a);
      const cutting = a.cutAfter !== undefined;
      if (cutting) events = events.slice(0, a.cutAfter);
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      void (async () => {
        const writes = a.chop ? chopBytes(events.join(''), a.chop) : events.map((e) => Buffer.from(e));
        for (const w of writes) {
          if (res.destroyed) return;
          res.write(w);
          await tick();
        }
        if (cutting) {
          await new Promise((r) => setTimeout(r, 30));
          req.socket.destroy();
        } else {
          res.end();
        }
      })();
    },
  };
}

function chopBytes(text: string, size: number): Buffer[] {
  const buf = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

// ---------------------------------------------------------------- recording what the client got

export interface RecordedResponse {
  url: string;
  status: number;
  headers: Headers;
  /** Everything the body delivered (also when it broke). */
  text: Promise<string>;
}

/** A `fetch` for the SDKs that keeps a copy of every response body, byte for byte. */
export function recordingFetch() {
  const calls: RecordedResponse[] = [];
  const fetchImpl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!res.body) {
      calls.push({ url, status: res.status, headers: res.headers, text: Promise.resolve('') });
      return res;
    }
    const [forSdk, forUs] = res.body.tee();
    const text = (async () => {
      const reader = forUs.getReader();
      const dec = new TextDecoder();
      let s = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          s += dec.decode(value, { stream: true });
        }
      } catch { /* broken body: keep what came */ }
      return s + dec.decode();
    })();
    calls.push({ url, status: res.status, headers: res.headers, text });
    return new Response(forSdk, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch: fetchImpl, calls, last: () => calls[calls.length - 1] };
}

// ---------------------------------------------------------------- raw SSE reading and grammar

export interface RawEvent {
  event?: string;
  data: string;
}

/** Parses SSE text (own parser; comments and empty blocks skipped). */
export function parseSseText(text: string): RawEvent[] {
  const out: RawEvent[] = [];
  for (const block of text.split(/\r\n\r\n|\n\n|\r\r/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (event === undefined && data.length === 0) continue;
    out.push({ event, data: data.join('\n') });
  }
  return out;
}

export interface AnthropicStreamSummary {
  events: { event: string; data: any }[];
  blocks: { type: string; text: string; thinking: string; signature: string; json: string; id?: string; name?: string; deltas: number }[];
  stopReason: string | null;
  usage: Record<string, unknown>;
  error: any | null;
  complete: boolean;
}

/**
 * Checks an Anthropic client stream's grammar (protocols.md §3.1, §8 cases 39–40) and returns
 * what it carried. `expectError`: the stream must end with `event: error` and no message_stop.
 */
export function checkAnthropicStream(text: string, opts: { expectError?: boolean } = {}): AnthropicStreamSummary {
  const raw = parseSseText(text);
  expect(raw.length, 'no events at all').toBeGreaterThan(0);
  const events = raw.map((e, i) => {
    expect(e.event, `frame ${i} has no event: line (data ${e.data.slice(0, 80)})`).toBeTypeOf('string');
    const data = JSON.parse(e.data);
    expect(data.type, `frame ${i}: event name ≠ data.type`).toBe(e.event);
    return { event: e.event!, data };
  });
  const names = events.map((e) => e.event);
  expect(names[0]).toBe('message_start');
  expect(names.filter((n) => n === 'message_start')).toHaveLength(1);
  const summary: AnthropicStreamSummary = { events, blocks: [], stopReason: null, usage: { ...events[0]!.data.message.usage }, error: null, complete: false };
  let open: number | null = null;
  for (let i = 1; i < events.length; i++) {
    const { event, data } = events[i]!;
    if (summary.error) throw new Error(`frame after the error frame: ${event}`);
    if (summary.complete) throw new Error(`frame after message_stop: ${event}`);
    switch (event) {
      case 'ping':
        break;
      case 'content_block_start': {
        expect(open, `block ${data.index} started while block ${open} is open`).toBeNull();
        expect(data.index, 'block indices must be 0,1,2… in start order').toBe(summary.blocks.length);
        const cb = data.content_block;
        summary.blocks.push({ type: cb.type, text: cb.text ?? '', thinking: cb.thinking ?? '', signature: cb.signature ?? '', json: '', id: cb.id, name: cb.name, deltas: 0 });
        open = data.index;
        break;
      }
      case 'content_block_delta': {
        expect(data.index, `delta for block ${data.index} while ${open} is open`).toBe(open);
        const b = summary.blocks[data.index]!;
        const d = data.delta;
        b.deltas++;
        const want = { text_delta: 'text', input_json_delta: 'tool_use', thinking_delta: 'thinking', signature_delta: 'thinking', citations_delta: 'text' } as Record<string, string>;
        expect(want[d.type], `${d.type} inside a ${b.type} block`).toBe(b.type);
        if (d.type === 'text_delta') b.text += d.text;
        else if (d.type === 'input_json_delta') b.json += d.partial_json;
        else if (d.type === 'thinking_delta') b.thinking += d.thinking;
        else if (d.type === 'signature_delta') b.signature += d.signature;
        break;
      }
      case 'content_block_stop':
        expect(data.index, 'stop for a block that is not open').toBe(open);
        open = null;
        break;
      case 'message_delta':
        expect(open, 'message_delta while a block is open').toBeNull();
        summary.stopReason = data.delta?.stop_reason ?? null;
        for (const [k, v] of Object.entries(data.usage ?? {})) if (v !== null && v !== undefined) summary.usage[k] = v;
        break;
      case 'message_stop':
        expect(summary.stopReason, 'message_stop without a message_delta stop_reason').not.toBeNull();
        summary.complete = true;
        break;
      case 'error':
        summary.error = data;
        break;
      default:
        throw new Error(`unknown event ${event}`);
    }
  }
  if (opts.expectError) {
    expect(summary.error, 'the stream should end with an error frame').not.toBeNull();
    expect(names).not.toContain('message_stop');
    expect(summary.error.error?.type).toBeTypeOf('string');
    expect(summary.error.error?.message).toBeTypeOf('string');
  } else {
    expect(summary.error, `unexpected error frame: ${JSON.stringify(summary.error)}`).toBeNull();
    expect(summary.complete, 'stream did not end with message_stop').toBe(true);
    expect(names.filter((n) => n === 'message_stop')).toHaveLength(1);
    for (const k of ['input_tokens', 'output_tokens']) expect(Number.isInteger(summary.usage[k]), `usage.${k} integer`).toBe(true);
    for (const b of summary.blocks) if (b.type === 'tool_use') expect(() => JSON.parse(b.json || '{}'), `tool ${b.name} arguments`).not.toThrow();
  }
  return summary;
}

export interface OpenAIStreamSummary {
  chunks: any[];
  content: string;
  reasoning: string;
  toolCalls: { id: string; type: string; name: string; args: string; fragments: number }[];
  finish: string | null;
  usage: any | null;
  error: any | null;
}

/** Checks an OpenAI client chunk stream (protocols.md §3.2, §8 cases 52–55) and returns what it carried. */
export function checkOpenAIStream(text: string, opts: { expectError?: boolean } = {}): OpenAIStreamSummary {
  const raw = parseSseText(text);
  expect(raw.length, 'no events at all').toBeGreaterThan(0);
  const s: OpenAIStreamSummary = { chunks: [], content: '', reasoning: '', toolCalls: [], finish: null, usage: null, error: null };
  let done = false;
  for (const [i, e] of raw.entries()) {
    expect(e.event, 'OpenAI streams carry no event: names').toBeUndefined();
    if (done) throw new Error(`data after [DONE]: ${e.data.slice(0, 80)}`);
    if (s.error) throw new Error(`data after the error line: ${e.data.slice(0, 80)}`);
    if (e.data === '[DONE]') { done = true; continue; }
    const c = JSON.parse(e.data);
    if (c.error) { s.error = c.error; continue; }
    s.chunks.push(c);
    expect(c.object, `chunk ${i}`).toBe('chat.completion.chunk');
    expect(c.id).toMatch(/^chatcmpl-/);
    expect(c.id, 'every chunk shares one id').toBe(s.chunks[0].id);
    expect(c.created, 'every chunk shares one created').toBe(s.chunks[0].created);
    if (c.usage) s.usage = c.usage;
    if (!Array.isArray(c.choices)) continue;
    for (const ch of c.choices) {
      expect(ch.index).toBe(0);
      const d = ch.delta ?? {};
      if (typeof d.content === 'string') s.content += d.content;
      if (typeof d.reasoning_content === 'string') s.reasoning += d.reasoning_content;
      for (const tc of d.tool_calls ?? []) {
        expect(tc.index, 'every tool_calls fragment carries an index').toBeTypeOf('number');
        let t = s.toolCalls[tc.index];
        if (!t) {
          expect(tc.index, 'tool_call indices dense from 0').toBe(s.toolCalls.length);
          expect(tc.id, 'first fragment has the id').toBeTypeOf('string');
          expect(tc.type).toBe('function');
          expect(tc.function?.name, 'first fragment has the name').toBeTypeOf('string');
          t = s.toolCalls[tc.index] = { id: tc.id, type: tc.type, name: tc.function.name, args: '', fragments: 0 };
        }
        if (typeof tc.function?.arguments === 'string' && tc.function.arguments !== '') {
          t.args += tc.function.arguments;
          t.fragments++;
        }
      }
      if (ch.finish_reason) {
        expect(s.finish, 'one finish_reason').toBeNull();
        s.finish = ch.finish_reason;
      }
    }
  }
  if (opts.expectError) {
    expect(s.error, 'the stream should end with an error line').not.toBeNull();
    expect(done, 'no [DONE] after an error').toBe(false);
    expect(s.error.message).toBeTypeOf('string');
  } else {
    expect(s.error, `unexpected error line: ${JSON.stringify(s.error)}`).toBeNull();
    expect(done, 'stream did not end with [DONE]').toBe(true);
    expect(s.finish).not.toBeNull();
    for (const t of s.toolCalls) expect(() => JSON.parse(t.args), `tool ${t.name} arguments`).not.toThrow();
  }
  return s;
}

/** Every key path in a JSON value whose key is one of `keys`. */
export function findKeys(value: unknown, keys: string[], path = '$'): string[] {
  const hits: string[] = [];
  if (Array.isArray(value)) value.forEach((v, i) => hits.push(...findKeys(v, keys, `${path}[${i}]`)));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (keys.includes(k)) hits.push(`${path}.${k}`);
      hits.push(...findKeys(v, keys, `${path}.${k}`));
    }
  }
  return hits;
}
