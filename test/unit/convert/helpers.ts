/** Helpers for the conversion tests: drive translators, parse their output, check stream grammar. */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { SseParser, type SseEvent } from '../../../src/protocol/sse.js';
import type { ConversionContext, StreamTranslator } from '../../../src/protocol/convert/types.js';
import { getConverter } from '../../../src/protocol/convert/index.js';

export function ctxOf(over: Partial<ConversionContext> = {}): ConversionContext {
  return {
    clientModel: 'claude-sonnet-4-5',
    upstreamModel: 'gpt-4o',
    stream: true,
    includeUsage: false,
    toolNames: new Map(),
    estimatedInputTokens: 42,
    ...over,
  };
}

/** Serialises OpenAI chunks (objects, or raw data strings such as "[DONE]") as upstream SSE text. */
export function openaiSse(chunks: Array<object | string>): string {
  return chunks.map((c) => `data: ${typeof c === 'string' ? c : JSON.stringify(c)}\n\n`).join('');
}

/** Serialises Anthropic events as upstream SSE text (event name = data.type). */
export function anthropicSse(events: Array<{ type: string } & Record<string, unknown>>): string {
  return events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
}

/** Parses SSE text into events. */
export function parseSse(text: string): SseEvent[] {
  const p = new SseParser();
  return [...p.push(text), ...p.end()];
}

/** Runs upstream SSE text through a translator, optionally in small random-ish pieces; returns client text. */
export function translate(t: StreamTranslator, upstreamText: string, opts: { eof?: boolean; split?: number } = {}): string {
  const p = new SseParser();
  let out = '';
  const step = opts.split ?? upstreamText.length;
  for (let i = 0; i < upstreamText.length; i += step) {
    for (const ev of p.push(upstreamText.slice(i, i + step))) out += t.push(ev);
  }
  for (const ev of p.end()) out += t.push(ev);
  if (opts.eof !== false) out += t.end();
  return out;
}

/** OpenAI chunk list → Anthropic client SSE text via the anthropic←openai translator. */
export function runOpenAIUpstream(chunks: Array<object | string>, ctx = ctxOf(), opts: { eof?: boolean; split?: number } = {}): string {
  const conv = getConverter('anthropic', 'openai')!;
  return translate(conv.stream(ctx), openaiSse(chunks), opts);
}

/** Anthropic event list → OpenAI client SSE text via the openai←anthropic translator. */
export function runAnthropicUpstream(events: Array<{ type: string } & Record<string, unknown>>, ctx = ctxOf({ clientModel: 'gpt-4o', upstreamModel: 'claude-sonnet-4-5' }), opts: { eof?: boolean } = {}): string {
  const conv = getConverter('openai', 'anthropic')!;
  return translate(conv.stream(ctx), anthropicSse(events), opts);
}

export interface AEvent {
  event: string | undefined;
  data: Record<string, any>;
}

/** Client SSE text (Anthropic) → parsed events. */
export function anthropicEvents(text: string): AEvent[] {
  return parseSse(text).map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, any> }));
}

/** Client SSE text (OpenAI) → data payloads ("[DONE]" kept as a string). */
export function openaiLines(text: string): Array<Record<string, any> | '[DONE]'> {
  return parseSse(text).map((e) => (e.data === '[DONE]' ? '[DONE]' : (JSON.parse(e.data) as Record<string, any>)));
}

/**
 * Strict grammar of an Anthropic message stream (cases 39–40): event name = data.type,
 * message_start first and once, blocks 0..n-1 started in order, one open at a time, deltas only to
 * the open block and of its type, message_delta then message_stop last — or an error frame last.
 * Throws with a description of the first violation.
 */
export function checkAnthropicStream(events: AEvent[]): { ended: 'stop' | 'error' } {
  if (events.length === 0) throw new Error('no events');
  let started = false;
  let open: { index: number; type: string } | null = null;
  let nextIndex = 0;
  let sawDelta = false;
  for (let i = 0; i < events.length; i++) {
    const { event, data } = events[i]!;
    if (event !== data.type) throw new Error(`event ${i}: name ${event} ≠ data.type ${data.type}`);
    if (data.type === 'error') {
      if (i !== events.length - 1) throw new Error('frames after an error');
      if (typeof data.error?.type !== 'string' || typeof data.error?.message !== 'string') throw new Error('bad error frame');
      return { ended: 'error' };
    }
    if (data.type === 'ping') {
      if (!started) throw new Error('ping before message_start');
      continue;
    }
    if (i === 0 && data.type !== 'message_start') throw new Error('first event is not message_start');
    switch (data.type) {
      case 'message_start':
        if (started) throw new Error('second message_start');
        started = true;
        for (const k of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens']) {
          if (!Number.isInteger(data.message.usage[k])) throw new Error(`message_start usage.${k} not an integer`);
        }
        break;
      case 'content_block_start':
        if (sawDelta) throw new Error('block after message_delta');
        if (open) throw new Error(`block ${data.index} started while ${open.index} open`);
        if (data.index !== nextIndex) throw new Error(`block index ${data.index}, expected ${nextIndex}`);
        open = { index: data.index, type: data.content_block.type };
        nextIndex++;
        break;
      case 'content_block_delta': {
        if (!open || open.index !== data.index) throw new Error(`delta for block ${data.index} not open`);
        const ok: Record<string, string[]> = {
          text: ['text_delta'], thinking: ['thinking_delta', 'signature_delta'], tool_use: ['input_json_delta'],
        };
        if (!ok[open.type]?.includes(data.delta.type)) throw new Error(`${data.delta.type} in a ${open.type} block`);
        if (data.delta.type === 'text_delta' && data.delta.text === '') throw new Error('empty text_delta');
        break;
      }
      case 'content_block_stop':
        if (!open || open.index !== data.index) throw new Error(`stop for block ${data.index} not open`);
        open = null;
        break;
      case 'message_delta':
        if (open) throw new Error('message_delta with a block open');
        if (sawDelta) throw new Error('second message_delta');
        sawDelta = true;
        for (const k of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens']) {
          if (!Number.isInteger(data.usage[k])) throw new Error(`message_delta usage.${k} not an integer`);
        }
        if (!['end_turn', 'max_tokens', 'tool_use', 'refusal', 'stop_sequence', 'pause_turn'].includes(data.delta.stop_reason)) {
          throw new Error(`bad stop_reason ${data.delta.stop_reason}`);
        }
        break;
      case 'message_stop':
        if (!sawDelta) throw new Error('message_stop without message_delta');
        if (i !== events.length - 1) throw new Error('frames after message_stop');
        return { ended: 'stop' };
      default:
        throw new Error(`unknown event ${data.type}`);
    }
  }
  throw new Error('stream neither stopped nor errored');
}

/** Rebuilds the final message from an Anthropic stream by hand (text/thinking/tool input per block). */
export function assemble(events: AEvent[]): { content: any[]; stop_reason: string | null; usage: Record<string, number> } {
  const content: any[] = [];
  const json: string[] = [];
  let stop: string | null = null;
  let usage: Record<string, number> = {};
  for (const { data } of events) {
    if (data.type === 'message_start') usage = { ...data.message.usage };
    if (data.type === 'content_block_start') {
      content[data.index] = { ...data.content_block };
      json[data.index] = '';
    }
    if (data.type === 'content_block_delta') {
      const b = content[data.index];
      const d = data.delta;
      if (d.type === 'text_delta') b.text += d.text;
      if (d.type === 'thinking_delta') b.thinking += d.thinking;
      if (d.type === 'signature_delta') b.signature = d.signature;
      if (d.type === 'input_json_delta') json[data.index] += d.partial_json;
    }
    if (data.type === 'content_block_stop') {
      const b = content[data.index];
      if (b.type === 'tool_use') b.input = json[data.index] ? JSON.parse(json[data.index]!) : {};
    }
    if (data.type === 'message_delta') {
      stop = data.delta.stop_reason;
      usage = { ...usage, ...data.usage };
    }
  }
  return { content, stop_reason: stop, usage };
}

/** Feeds client SSE text to the official Anthropic SDK (real SSE decoding + MessageStream accumulator). */
export async function anthropicSdkFinalMessage(sseText: string): Promise<Anthropic.Message> {
  const client = new Anthropic({
    apiKey: 'test',
    baseURL: 'http://sdk.test',
    maxRetries: 0,
    fetch: (async () => new Response(sseText, { status: 200, headers: { 'content-type': 'text/event-stream' } })) as typeof fetch,
  });
  const stream = client.messages.stream({ model: 'sonnet', max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }] });
  return stream.finalMessage();
}

/** Feeds client SSE text to the official OpenAI SDK (real SSE decoding + ChatCompletionStream accumulator). */
export async function openaiSdkFinalCompletion(sseText: string): Promise<OpenAI.Chat.Completions.ChatCompletion> {
  const client = new OpenAI({
    apiKey: 'test',
    baseURL: 'http://sdk.test/v1',
    maxRetries: 0,
    fetch: (async () => new Response(sseText, { status: 200, headers: { 'content-type': 'text/event-stream' } })) as typeof fetch,
  });
  const stream = client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } });
  return stream.finalChatCompletion();
}

/** A minimal chat.completion.chunk. */
export function chunk(delta: Record<string, unknown> | null, finish: string | null = null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'chatcmpl-x',
    object: 'chat.completion.chunk',
    created: 1730000000,
    model: 'gpt-4o',
    choices: delta === null ? [] : [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  };
}
