/**
 * The official SDKs as clients (`@anthropic-ai/sdk`, `openai`), talking through the real gateway to
 * stand-in providers that answer the way real providers do, in all four client × provider
 * pairings, streamed and not. What the client SDK sees is checked in the SDK's own terms, and
 * what the provider received is checked in the provider's format (protocols.md §1–§4, §8).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addProvider, getPools, memberOf, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  type AnthropicStreamSummary, type Answer, type Fmt, type OpenAIStreamSummary, REAL_SIGNATURE, answer,
  checkAnthropicStream, checkOpenAIStream, findKeys, recordingFetch,
} from '../helpers/scripted-upstream.js';

const REAL_MODEL: Record<Fmt, string> = { openai: 'gpt-4.1-mini-2025-04-14', anthropic: 'claude-sonnet-4-5-20250929' };
const PROVIDER_KEY: Record<Fmt, string> = { openai: 'sk-prov-openai-000111', anthropic: 'sk-ant-prov-000222' };
const PAIRS: [Fmt, Fmt][] = [['anthropic', 'anthropic'], ['anthropic', 'openai'], ['openai', 'anthropic'], ['openai', 'openai']];
const MODES = [false, true];
const CLIENT_MODEL: Record<Fmt, string> = { anthropic: 'claude-sonnet-4-6', openai: 'sonnet' };

let gw: TestGateway;
let ups: Upstream[] = [];
let rec: ReturnType<typeof recordingFetch>;
let anth: Anthropic;
let oai: OpenAI;

beforeEach(async () => {
  gw = await startTestGateway({ UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS: '3', UPSTREAM_IDLE_TIMEOUT_SECONDS: '3', UPSTREAM_TIMEOUT_SECONDS: '5' });
  ups = [];
  rec = recordingFetch();
  anth = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0, fetch: rec.fetch });
  oai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0, fetch: rec.fetch });
});
afterEach(async () => {
  await gw.close();
  await Promise.all(ups.map((u) => u.close()));
});

async function provider(format: Fmt, opts: { name?: string; pool?: 'tool' | 'normal' | 'advanced'; model?: string } = {}) {
  const name = opts.name ?? `${format}-provider`;
  const u = await startUpstream({ format, name });
  ups.push(u);
  const { providerId, memberIds } = await addProvider(gw, { name, baseUrl: u.url, format, apiKey: PROVIDER_KEY[format] }, opts.pool ?? 'normal', [opts.model ?? REAL_MODEL[format]]);
  return { u, providerId, memberId: memberIds[0]! };
}

// ------------------------------------------------------------------ the two clients

interface AnthropicResult { msg: Anthropic.Message; raw: string; sse: AnthropicStreamSummary | null }
interface OpenAIResult { completion: OpenAI.Chat.ChatCompletion; chunks: OpenAI.Chat.ChatCompletionChunk[]; raw: string; sse: OpenAIStreamSummary | null }

async function askAnthropic(params: Record<string, unknown>, stream: boolean, options?: { headers?: Record<string, string> }): Promise<AnthropicResult> {
  if (stream) {
    const s = anth.messages.stream(params as any, options);
    const msg = await s.finalMessage();
    const raw = await rec.last()!.text;
    return { msg, raw, sse: checkAnthropicStream(raw) };
  }
  const msg = (await anth.messages.create({ ...params, stream: false } as any, options)) as Anthropic.Message;
  return { msg, raw: await rec.last()!.text, sse: null };
}

async function askOpenAI(params: Record<string, unknown>, stream: boolean): Promise<OpenAIResult> {
  if (stream) {
    const s = oai.chat.completions.stream({ ...params, stream_options: { include_usage: true } } as any);
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const c of s) chunks.push(c);
    const completion = (await s.finalChatCompletion()) as OpenAI.Chat.ChatCompletion;
    const raw = await rec.last()!.text;
    return { completion, chunks, raw, sse: checkOpenAIStream(raw) };
  }
  const completion = (await oai.chat.completions.create({ ...params, stream: false } as any)) as OpenAI.Chat.ChatCompletion;
  return { completion, chunks: [], raw: await rec.last()!.text, sse: null };
}

/** The error a call throws (fails the test when it does not throw). */
async function thrown(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail, it succeeded');
}

const textOf = (msg: Anthropic.Message) => msg.content.filter((b) => b.type === 'text').map((b) => (b as Anthropic.TextBlock).text).join('');
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** The text of a provider-side user message, whatever its shape. */
function userTextAt(format: Fmt, m: any): string {
  if (typeof m.content === 'string') return m.content;
  return m.content.filter((p: any) => p.type === 'text').map((p: any) => p.text).join('');
}

// ================================================================== 1. plain text

const TEXT = 'Hello from the provider — “quoted”, ünïcode ✓,\nand a second line.';

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('1. plain text answer: content, end_turn/stop, integer usage, ids in the client shape (stream=%s)', async (stream) => {
    const { u } = await provider(prov);
    u.queue.push(answer(prov, { text: TEXT, usage: { input: 25, output: 9 }, pieces: 5 }));

    if (client === 'anthropic') {
      const { msg, sse } = await askAnthropic({ model: CLIENT_MODEL.anthropic, max_tokens: 256, messages: [{ role: 'user', content: 'Say hello' }] }, stream);
      expect(msg.id).toMatch(/^msg_/);
      expect(msg.type).toBe('message');
      expect(msg.role).toBe('assistant');
      expect(msg.content).toHaveLength(1);
      expect(msg.content[0]).toMatchObject({ type: 'text', text: TEXT });
      expect(msg.stop_reason).toBe('end_turn');
      expect(Number.isInteger(msg.usage.input_tokens)).toBe(true);
      expect(Number.isInteger(msg.usage.output_tokens)).toBe(true);
      expect(msg.usage.input_tokens).toBe(25);
      expect(msg.usage.output_tokens).toBe(9);
      if (sse) {
        expect(sse.blocks.map((b) => b.type)).toEqual(['text']);
        expect(sse.blocks[0]!.text).toBe(TEXT);
        expect(sse.stopReason).toBe('end_turn');
      }
    } else {
      const { completion, chunks, sse } = await askOpenAI({ model: CLIENT_MODEL.openai, max_tokens: 256, messages: [{ role: 'user', content: 'Say hello' }] }, stream);
      expect(completion.id).toMatch(/^chatcmpl-/);
      const choice = completion.choices[0]!;
      expect(choice.message.role).toBe('assistant');
      expect(choice.message.content).toBe(TEXT);
      expect(choice.finish_reason).toBe('stop');
      expect(completion.usage).toMatchObject({ prompt_tokens: 25, completion_tokens: 9, total_tokens: 34 });
      for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens'] as const) expect(Number.isInteger(completion.usage![k])).toBe(true);
      if (stream) {
        expect(chunks.length).toBeGreaterThan(2);
        for (const c of chunks) expect(c.id).toMatch(/^chatcmpl-/);
        expect(sse!.content).toBe(TEXT);
        expect(sse!.finish).toBe('stop');
        expect(sse!.usage).toMatchObject({ prompt_tokens: 25, completion_tokens: 9 });
      } else {
        expect(completion.object).toBe('chat.completion');
      }
    }

    expect(u.requests).toHaveLength(1);
    const seen = u.requests[0]!;
    expect(seen.body.model).toBe(REAL_MODEL[prov]);
    expect(JSON.stringify(seen.headers)).not.toContain('client-key');
    const msgs = seen.body.messages as any[];
    expect(userTextAt(prov, msgs[msgs.length - 1])).toBe('Say hello');
    if (prov === 'openai') {
      expect(seen.path).toBe('/v1/chat/completions');
      expect(seen.headers.authorization).toBe(`Bearer ${PROVIDER_KEY.openai}`);
      expect(seen.body.max_tokens ?? seen.body.max_completion_tokens).toBe(256);
      if (stream) {
        expect(seen.body.stream).toBe(true);
        expect(seen.body.stream_options).toEqual({ include_usage: true });
      } else {
        expect(seen.body.stream_options).toBeUndefined();
      }
    } else {
      expect(seen.path).toBe('/v1/messages');
      expect(seen.headers['x-api-key']).toBe(PROVIDER_KEY.anthropic);
      expect(seen.body.max_tokens).toBe(256);
      expect(seen.body.stream === true).toBe(stream);
      expect(msgs.every((m) => m.role === 'user' || m.role === 'assistant')).toBe(true);
    }
  });
});

// ================================================================== 2. three-call parallel tool round trip

const A_TOOLS = [
  {
    name: 'get_weather',
    description: 'Current weather for a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
  {
    name: 'search_docs',
    description: 'Full-text search over the documentation',
    input_schema: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 50 } }, required: ['query'] },
  },
  {
    name: 'read_file',
    description: 'Read a line range of a file',
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        range: { type: 'object', properties: { start: { type: 'integer' }, end: { type: 'integer' } }, required: ['start', 'end'] },
      },
      required: ['path'],
      additionalProperties: false,
    },
  },
];
const O_TOOLS = A_TOOLS.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } }));
const NAMES = A_TOOLS.map((t) => t.name);
const INPUTS: Record<string, unknown>[] = [
  { city: 'Paris', unit: 'celsius' },
  { query: 'rate limit "burst" window\\n', limit: 5 },
  { path: '/srv/app/ünï/main.ts', range: { start: 1, end: 40 } },
];
const CALL_IDS: Record<Fmt, string[]> = {
  anthropic: ['toolu_01WeatherA1b2C3d4E5f6G7h8', 'toolu_01SearchI9j0K1l2M3n4O5p6', 'toolu_01ReadQ7r8S9t0U1v2W3x4Y5'],
  openai: ['call_W3atherXk9QpL2mN7vB4cD1', 'call_S3archYh8RtK3jM6wZ5eF2', 'call_R3adZg7SuJ4hN5xA6fG3'],
};
const RESULTS = ['Sunny, 18°C', '5 results: limits.md, burst.md, quotas.md, retry.md, faq.md', 'ENOENT: no such file or directory'];
const QUESTION = 'Weather in Paris? Also search the docs for burst limits and read main.ts lines 1-40.';
const LEAD = 'Checking all three.';
const FINAL = 'Paris is sunny at 18°C; 5 docs found; main.ts does not exist.';

const toolAnswer = (prov: Fmt, extra: Partial<Answer> = {}): Answer => ({
  text: LEAD,
  tools: NAMES.map((name, i) => ({ id: CALL_IDS[prov][i]!, name, input: INPUTS[i]! })),
  usage: { input: 320, output: 96 },
  pieces: 4,
  ...extra,
});

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('2. three parallel tool calls and their results round-trip (stream=%s)', async (stream) => {
    const { u } = await provider(prov);
    u.queue.push(answer(prov, toolAnswer(prov)));
    u.queue.push(answer(prov, { text: FINAL, usage: { input: 420, output: 20 } }));
    const ids = CALL_IDS[prov];

    let sentTurn2: unknown[];
    if (client === 'anthropic') {
      const turn1 = { model: CLIENT_MODEL.anthropic, max_tokens: 1024, tools: A_TOOLS, tool_choice: { type: 'auto' }, messages: [{ role: 'user', content: QUESTION }] };
      const r1 = await askAnthropic(turn1, stream);
      expect(r1.msg.stop_reason).toBe('tool_use');
      expect(r1.msg.content[0]).toMatchObject({ type: 'text', text: LEAD });
      const uses = r1.msg.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      expect(uses.map((b) => b.id)).toEqual(ids);
      expect(uses.map((b) => b.name)).toEqual(NAMES);
      expect(uses.map((b) => b.input)).toEqual(INPUTS);
      if (r1.sse) {
        expect(r1.sse.blocks.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use', 'tool_use']);
        expect(r1.sse.blocks.slice(1).map((b) => JSON.parse(b.json))).toEqual(INPUTS);
        expect(r1.sse.stopReason).toBe('tool_use');
      }
      sentTurn2 = [
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: r1.msg.content },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: uses[0]!.id, content: RESULTS[0] },
            { type: 'tool_result', tool_use_id: uses[1]!.id, content: [{ type: 'text', text: RESULTS[1] }] },
            { type: 'tool_result', tool_use_id: uses[2]!.id, content: RESULTS[2], is_error: true },
            { type: 'text', text: 'Now summarize.' },
          ],
        },
      ];
      const r2 = await askAnthropic({ ...turn1, messages: sentTurn2 }, stream);
      expect(textOf(r2.msg)).toBe(FINAL);
      expect(r2.msg.stop_reason).toBe('end_turn');
    } else {
      const turn1 = { model: CLIENT_MODEL.openai, max_tokens: 1024, tools: O_TOOLS, tool_choice: 'auto', messages: [{ role: 'user', content: QUESTION }] };
      const r1 = await askOpenAI(turn1, stream);
      const choice = r1.completion.choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBe(LEAD);
      const calls = (choice.message.tool_calls ?? []) as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
      expect(calls.map((c) => c.id)).toEqual(ids);
      expect(calls.map((c) => c.type)).toEqual(['function', 'function', 'function']);
      expect(calls.map((c) => c.function.name)).toEqual(NAMES);
      expect(calls.map((c) => JSON.parse(c.function.arguments))).toEqual(INPUTS);
      if (r1.sse) {
        expect(r1.sse.toolCalls.map((t) => t.id)).toEqual(ids);
        expect(r1.sse.toolCalls.map((t) => JSON.parse(t.args))).toEqual(INPUTS);
        expect(r1.sse.finish).toBe('tool_calls');
      }
      sentTurn2 = [
        { role: 'user', content: QUESTION },
        choice.message,
        { role: 'tool', tool_call_id: calls[0]!.id, content: RESULTS[0] },
        { role: 'tool', tool_call_id: calls[1]!.id, content: [{ type: 'text', text: RESULTS[1] }] },
        { role: 'tool', tool_call_id: calls[2]!.id, content: `Error: ${RESULTS[2]}` },
        { role: 'user', content: 'Now summarize.' },
      ];
      const r2 = await askOpenAI({ ...turn1, messages: sentTurn2 }, stream);
      expect(r2.completion.choices[0]!.message.content).toBe(FINAL);
      expect(r2.completion.choices[0]!.finish_reason).toBe('stop');
    }

    // ---- what the provider received, in its own format ----
    expect(u.requests).toHaveLength(2);
    const [first, second] = u.requests.map((r) => r.body);
    if (prov === 'openai') {
      expect(first.tools).toEqual(O_TOOLS);
      expect(first.tool_choice).toBe('auto');
      const m = second.messages as any[];
      expect(m.map((x) => x.role)).toEqual(['user', 'assistant', 'tool', 'tool', 'tool', 'user']);
      expect(m[1].content).toBe(LEAD);
      expect(m[1].tool_calls.map((c: any) => c.id)).toEqual(ids);
      expect(m[1].tool_calls.map((c: any) => c.type)).toEqual(['function', 'function', 'function']);
      expect(m[1].tool_calls.map((c: any) => c.function.name)).toEqual(NAMES);
      expect(m[1].tool_calls.map((c: any) => JSON.parse(c.function.arguments))).toEqual(INPUTS);
      expect(m.slice(2, 5).map((x) => x.tool_call_id)).toEqual(ids);
      expect(m[2].content).toBe(RESULTS[0]);
      expect(JSON.stringify(m[3].content)).toContain(RESULTS[1]);
      expect(JSON.stringify(m[4].content)).toContain(RESULTS[2]);
      expect(userTextAt('openai', m[5])).toBe('Now summarize.');
      if (client === 'openai') expect(m).toEqual(json(sentTurn2)); // same format: passed through as sent
    } else {
      expect(first.tools).toEqual(A_TOOLS);
      expect(first.tool_choice).toEqual({ type: 'auto' });
      const m = second.messages as any[];
      expect(m.map((x) => x.role)).toEqual(['user', 'assistant', 'user']);
      const assistant = m[1].content as any[];
      expect(assistant[0]).toMatchObject({ type: 'text', text: LEAD });
      expect(assistant.filter((b) => b.type === 'tool_use')).toEqual(ids.map((id, i) => ({ type: 'tool_use', id, name: NAMES[i], input: INPUTS[i] })));
      expect(assistant).toHaveLength(4);
      const results = m[2].content as any[];
      expect(results.slice(0, 3).map((b) => b.type)).toEqual(['tool_result', 'tool_result', 'tool_result']);
      expect(results.slice(0, 3).map((b) => b.tool_use_id)).toEqual(ids);
      expect(JSON.stringify(results[0].content)).toContain(RESULTS[0]);
      expect(JSON.stringify(results[1].content)).toContain(RESULTS[1]);
      expect(JSON.stringify(results[2].content)).toContain(RESULTS[2]);
      expect(results[3]).toEqual({ type: 'text', text: 'Now summarize.' });
      expect(results).toHaveLength(4);
      if (client === 'anthropic') expect(m).toEqual(json(sentTurn2)); // same format: passed through as sent
    }
  });
});

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('2b. tool calls with no text at all (OpenAI: first call in the role chunk): no empty text anywhere, both ways (stream=%s)', async (stream) => {
    const { u } = await provider(prov);
    const ids = CALL_IDS[prov].slice(0, 2);
    u.queue.push(answer(prov, { tools: ids.map((id, i) => ({ id, name: NAMES[i]!, input: INPUTS[i]! })), usage: { input: 200, output: 50 } }));
    u.queue.push(answer(prov, { text: FINAL, usage: { input: 260, output: 20 } }));
    if (client === 'anthropic') {
      const turn1 = { model: CLIENT_MODEL.anthropic, max_tokens: 1024, tools: A_TOOLS, messages: [{ role: 'user', content: QUESTION }] };
      const r1 = await askAnthropic(turn1, stream);
      expect(r1.msg.content.map((b) => b.type)).toEqual(['tool_use', 'tool_use']);
      expect(r1.msg.content.map((b) => (b as Anthropic.ToolUseBlock).input)).toEqual(INPUTS.slice(0, 2));
      expect(r1.msg.stop_reason).toBe('tool_use');
      const r2 = await askAnthropic({
        ...turn1,
        messages: [
          { role: 'user', content: QUESTION },
          { role: 'assistant', content: r1.msg.content },
          { role: 'user', content: ids.map((id, i) => ({ type: 'tool_result', tool_use_id: id, content: RESULTS[i] })) },
        ],
      }, stream);
      expect(textOf(r2.msg)).toBe(FINAL);
    } else {
      const turn1 = { model: CLIENT_MODEL.openai, max_tokens: 1024, tools: O_TOOLS, messages: [{ role: 'user', content: QUESTION }] };
      const r1 = await askOpenAI(turn1, stream);
      const message = r1.completion.choices[0]!.message;
      expect(message.content ?? '').toBe('');
      expect((message.tool_calls as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[]).map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]))
        .toEqual(ids.map((id, i) => [id, NAMES[i], INPUTS[i]]));
      expect(r1.completion.choices[0]!.finish_reason).toBe('tool_calls');
      const r2 = await askOpenAI({
        ...turn1,
        messages: [
          { role: 'user', content: QUESTION },
          { role: 'assistant', content: null, tool_calls: message.tool_calls },
          ...ids.map((id, i) => ({ role: 'tool', tool_call_id: id, content: RESULTS[i] })),
        ],
      }, stream);
      expect(r2.completion.choices[0]!.message.content).toBe(FINAL);
    }
    const m = u.requests[1]!.body.messages as any[];
    if (prov === 'openai') {
      expect(m.map((x) => x.role)).toEqual(['user', 'assistant', 'tool', 'tool']);
      expect(m[1].content).not.toBe(''); // null / absent, never "" (protocols.md §1.1 rule 3)
      expect(m[1].content ?? null).toBeNull();
      expect(m[1].tool_calls.map((c: any) => c.id)).toEqual(ids);
    } else {
      expect(m.map((x) => x.role)).toEqual(['user', 'assistant', 'user']);
      expect((m[1].content as any[]).map((b) => b.type)).toEqual(['tool_use', 'tool_use']);
      expect((m[2].content as any[]).map((b) => b.tool_use_id)).toEqual(ids);
    }
  });
});

describe('tool-call streams with interleaved argument fragments (OpenAI-format provider)', () => {
  it('Anthropic client: interleaved fragments, bytes split anywhere → 3 whole tool_use blocks', async () => {
    const { u } = await provider('openai');
    u.queue.push(answer('openai', toolAnswer('openai', { interleave: true, chop: 7, pieces: 5 })));
    const r = await askAnthropic({ model: CLIENT_MODEL.anthropic, max_tokens: 1024, tools: A_TOOLS, messages: [{ role: 'user', content: QUESTION }] }, true);
    const uses = r.msg.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(uses.map((b) => [b.id, b.name])).toEqual(CALL_IDS.openai.map((id, i) => [id, NAMES[i]]));
    expect(uses.map((b) => b.input)).toEqual(INPUTS);
    expect(r.msg.stop_reason).toBe('tool_use');
    expect(r.sse!.blocks.filter((b) => b.type === 'tool_use').map((b) => JSON.parse(b.json))).toEqual(INPUTS);
  });

  it('OpenAI client: interleaved fragments pass through with their indices', async () => {
    const { u } = await provider('openai');
    u.queue.push(answer('openai', toolAnswer('openai', { interleave: true, chop: 11, pieces: 5 })));
    const r = await askOpenAI({ model: CLIENT_MODEL.openai, max_tokens: 1024, tools: O_TOOLS, messages: [{ role: 'user', content: QUESTION }] }, true);
    const calls = r.completion.choices[0]!.message.tool_calls as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
    expect(calls.map((c) => JSON.parse(c.function.arguments))).toEqual(INPUTS);
    expect(r.sse!.toolCalls.every((t) => t.fragments > 1)).toBe(true);
  });
});

// ================================================================== 3. images

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const IMG_URL = 'https://images.example.com/cats/tabby.jpg?size=large&v=2';

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('3. a base64 PNG and a URL image arrive in the provider\'s image shape (stream=%s)', async (stream) => {
    const { u } = await provider(prov);
    u.queue.push(answer(prov, { text: 'Two cats.', usage: { input: 3300, output: 4 } }));
    if (client === 'anthropic') {
      const r = await askAnthropic({
        model: CLIENT_MODEL.anthropic,
        max_tokens: 200,
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these images?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: IMG_URL } },
          ],
        }],
      }, stream);
      expect(textOf(r.msg)).toBe('Two cats.');
    } else {
      const r = await askOpenAI({
        model: CLIENT_MODEL.openai,
        max_tokens: 200,
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these images?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'high' } },
            { type: 'image_url', image_url: { url: IMG_URL } },
          ],
        }],
      }, stream);
      expect(r.completion.choices[0]!.message.content).toBe('Two cats.');
    }
    const content = (u.requests[0]!.body.messages as any[]).at(-1).content as any[];
    expect(content[0]).toEqual({ type: 'text', text: 'What is in these images?' });
    if (prov === 'openai') {
      expect(content.slice(1).map((p) => p.type)).toEqual(['image_url', 'image_url']);
      expect(content[1].image_url.url).toBe(`data:image/png;base64,${PNG}`);
      expect(content[2].image_url.url).toBe(IMG_URL);
    } else {
      expect(content.slice(1)).toEqual([
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        { type: 'image', source: { type: 'url', url: IMG_URL } },
      ]);
    }
  });
});

// ================================================================== 4. thinking / reasoning

const REASONING = 'The user greets me.\nI should answer briefly — in one word.';

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('4. provider reasoning reaches the client as thinking / reasoning_content (stream=%s)', async (stream) => {
    const { u } = await provider(prov);
    u.queue.push(answer(prov, { reasoning: REASONING, text: 'Hi!', usage: { input: 30, output: 40 }, pieces: 4 }));
    if (client === 'anthropic') {
      const r = await askAnthropic({
        model: CLIENT_MODEL.anthropic, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 },
        messages: [{ role: 'user', content: 'Hello' }],
      }, stream);
      expect(r.msg.content.map((b) => b.type)).toEqual(['thinking', 'text']);
      const th = r.msg.content[0] as Anthropic.ThinkingBlock;
      expect(th.thinking).toBe(REASONING);
      expect(typeof th.signature).toBe('string');
      expect(th.signature.length).toBeGreaterThan(0);
      if (prov === 'anthropic') expect(th.signature).toBe(REAL_SIGNATURE);
      expect(textOf(r.msg)).toBe('Hi!');
      if (r.sse) {
        expect(r.sse.blocks.map((b) => b.type)).toEqual(['thinking', 'text']);
        expect(r.sse.blocks[0]!.thinking).toBe(REASONING);
        expect(r.sse.blocks[0]!.signature.length).toBeGreaterThan(0);
      }
      const seen = u.requests[0]!.body;
      if (prov === 'openai') {
        expect(findKeys(seen, ['thinking', 'budget_tokens'])).toEqual([]);
        expect(seen.reasoning_effort).toBe('low');
      } else {
        expect(seen.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
      }
    } else {
      const r = await askOpenAI({ model: CLIENT_MODEL.openai, max_tokens: 4096, reasoning_effort: 'low', messages: [{ role: 'user', content: 'Hello' }] }, stream);
      const message = r.completion.choices[0]!.message as OpenAI.Chat.ChatCompletionMessage & { reasoning_content?: string };
      expect(message.content).toBe('Hi!');
      if (stream) {
        const fromChunks = r.chunks.map((c) => (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '').join('');
        expect(fromChunks).toBe(REASONING);
        expect(r.sse!.reasoning).toBe(REASONING);
        expect(r.sse!.content).toBe('Hi!');
      } else {
        expect(message.reasoning_content).toBe(REASONING);
      }
      const seen = u.requests[0]!.body;
      if (prov === 'anthropic') {
        expect(seen.reasoning_effort).toBeUndefined();
        expect(seen.thinking).toBeTypeOf('object');
        if (seen.thinking.type === 'enabled') {
          expect(seen.thinking.budget_tokens).toBeGreaterThanOrEqual(1024);
          expect(seen.thinking.budget_tokens).toBeLessThan(seen.max_tokens);
        } else {
          expect(seen.thinking.type).toBe('adaptive');
        }
      } else {
        expect(seen.reasoning_effort).toBe('low');
      }
    }
  });
});

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it('4b. thinking + a tool call, then the history goes back: the provider gets a history it accepts', async () => {
    const { u } = await provider(prov);
    const callId = CALL_IDS[prov][0]!;
    u.queue.push(answer(prov, { reasoning: REASONING, text: LEAD, tools: [{ id: callId, name: NAMES[0]!, input: INPUTS[0]! }], usage: { input: 50, output: 60 } }));
    u.queue.push(answer(prov, { reasoning: 'Now answer.', text: FINAL, usage: { input: 90, output: 30 } }));

    let sentTurn2: unknown[];
    if (client === 'anthropic') {
      const turn1 = { model: CLIENT_MODEL.anthropic, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, tools: A_TOOLS, messages: [{ role: 'user', content: QUESTION }] };
      const r1 = await askAnthropic(turn1, true);
      expect(r1.msg.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
      sentTurn2 = [
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: r1.msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: callId, content: RESULTS[0] }] },
      ];
      const r2 = await askAnthropic({ ...turn1, messages: sentTurn2 }, true);
      expect(textOf(r2.msg)).toBe(FINAL);
    } else {
      const turn1 = { model: CLIENT_MODEL.openai, max_tokens: 4096, reasoning_effort: 'low', tools: O_TOOLS, messages: [{ role: 'user', content: QUESTION }] };
      const r1 = await askOpenAI(turn1, false);
      const message = r1.completion.choices[0]!.message as OpenAI.Chat.ChatCompletionMessage & { reasoning_content?: string };
      expect(message.reasoning_content).toBe(REASONING);
      expect(message.tool_calls).toHaveLength(1);
      sentTurn2 = [
        { role: 'user', content: QUESTION },
        message, // reasoning_content included, as a client replaying the message object would
        { role: 'tool', tool_call_id: callId, content: RESULTS[0] },
      ];
      const r2 = await askOpenAI({ ...turn1, messages: sentTurn2 }, false);
      expect(r2.completion.choices[0]!.message.content).toBe(FINAL);
    }

    expect(u.requests).toHaveLength(2);
    const second = u.requests[1]!.body;
    if (prov === 'openai') {
      const m = second.messages as any[];
      expect(m.map((x) => x.role)).toEqual(['user', 'assistant', 'tool']);
      expect(m[1].tool_calls.map((c: any) => c.id)).toEqual([callId]);
      expect(m[2].tool_call_id).toBe(callId);
      if (client === 'anthropic') expect(findKeys(second, ['thinking', 'signature', 'redacted_thinking'])).toEqual([]);
      else expect(m).toEqual(json(sentTurn2));
    } else {
      const m = second.messages as any[];
      expect(m.map((x) => x.role)).toEqual(['user', 'assistant', 'user']);
      const assistant = m[1].content as any[];
      expect(assistant.find((b) => b.type === 'tool_use')).toMatchObject({ id: callId, name: NAMES[0], input: INPUTS[0] });
      expect(m[2].content[0]).toMatchObject({ type: 'tool_result', tool_use_id: callId });
      expect(findKeys(second, ['reasoning_content'])).toEqual([]);
      // Anthropic: "When `thinking` is enabled, a final `assistant` message must start with a thinking
      // block (preceding the lastmost set of tool_use and tool_result blocks)" — else 400.
      const thinkingOn = second.thinking !== undefined && second.thinking.type !== 'disabled';
      if (thinkingOn) {
        expect(assistant[0].type, 'thinking is on, so the assistant turn before the tool_result must start with a thinking block').toMatch(/^(redacted_)?thinking$/);
        if (assistant[0].type === 'thinking') expect(assistant[0].signature).toBe(REAL_SIGNATURE); // never a signature the provider did not mint
      }
      if (client === 'anthropic') expect(m).toEqual(json(sentTurn2));
    }
  });
});

describe('4c. a mixed pool: thinking minted from an OpenAI provider\'s reasoning, replayed to an Anthropic provider', () => {
  it('the Anthropic provider never sees the gateway\'s synthetic signature, and thinking is consistent with the history', async () => {
    const o = await provider('openai');
    const callId = CALL_IDS.openai[0]!;
    o.u.queue.push(answer('openai', { reasoning: REASONING, text: LEAD, tools: [{ id: callId, name: NAMES[0]!, input: INPUTS[0]! }], usage: { input: 50, output: 60 } }));
    const turn1 = { model: CLIENT_MODEL.anthropic, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, tools: A_TOOLS, messages: [{ role: 'user', content: QUESTION }] };
    const r1 = await askAnthropic(turn1, true);
    const th = r1.msg.content[0] as Anthropic.ThinkingBlock;
    expect(th.type).toBe('thinking');
    expect(th.signature).not.toBe(REAL_SIGNATURE);

    // The OpenAI provider leaves the pool; the next turn is served by an Anthropic provider.
    expect((await gw.admin('DELETE', `/admin/providers/${o.providerId}`)).status).toBe(204);
    const a = await provider('anthropic');
    a.u.queue.push(answer('anthropic', { text: FINAL, usage: { input: 90, output: 30 } }));
    const r2 = await askAnthropic({
      ...turn1,
      messages: [
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: r1.msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: callId, content: RESULTS[0] }] },
      ],
    }, true);
    expect(textOf(r2.msg)).toBe(FINAL);
    const seen = a.u.requests[0]!.body;
    expect(JSON.stringify(seen)).not.toContain(th.signature);
    const assistant = (seen.messages as any[])[1].content as any[];
    expect(assistant.find((b) => b.type === 'tool_use')).toMatchObject({ id: callId });
    if (seen.thinking !== undefined && seen.thinking.type !== 'disabled') expect(assistant[0].type).toMatch(/^(redacted_)?thinking$/);
  });
});

// ================================================================== 5. usage with cache reads

const CACHE_USAGE: Record<Fmt, { input: number; output: number; cacheRead: number; cacheCreation?: number }> = {
  openai: { input: 176, cacheRead: 1024, output: 87 }, // prompt_tokens 1200, cached_tokens 1024
  anthropic: { input: 176, cacheRead: 1024, cacheCreation: 10, output: 87 },
};

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('5. usage mapping with cache-read tokens (stream=%s)', async (stream) => {
    const { u } = await provider(prov);
    u.queue.push(answer(prov, { text: 'cached answer', usage: CACHE_USAGE[prov] }));
    if (client === 'anthropic') {
      const r = await askAnthropic({ model: CLIENT_MODEL.anthropic, max_tokens: 100, messages: [{ role: 'user', content: 'again' }] }, stream);
      expect(r.msg.usage).toMatchObject({
        input_tokens: 176,
        output_tokens: 87,
        cache_read_input_tokens: 1024,
        cache_creation_input_tokens: prov === 'anthropic' ? 10 : 0,
      });
      if (r.sse) expect(r.sse.usage).toMatchObject({ input_tokens: 176, output_tokens: 87, cache_read_input_tokens: 1024 });
    } else {
      const r = await askOpenAI({ model: CLIENT_MODEL.openai, max_tokens: 100, messages: [{ role: 'user', content: 'again' }] }, stream);
      const prompt = prov === 'anthropic' ? 176 + 1024 + 10 : 1200;
      expect(r.completion.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: 87, total_tokens: prompt + 87 });
      expect(r.completion.usage!.prompt_tokens_details?.cached_tokens).toBe(1024);
      if (r.sse) {
        expect(r.sse.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: 87, prompt_tokens_details: { cached_tokens: 1024 } });
        // the usage chunk comes after the finish chunk, with choices: []
        const last = r.sse.chunks.at(-1);
        expect(last.choices).toEqual([]);
      }
    }
  });
});

// ================================================================== 6. max tokens

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('6. a max-tokens stop maps to the client\'s equivalent (stream=%s)', async (stream) => {
    const { u } = await provider(prov);
    u.queue.push(answer(prov, { text: 'This answer is cut sh', stop: 'length', usage: { input: 12, output: 8 } }));
    if (client === 'anthropic') {
      const r = await askAnthropic({ model: CLIENT_MODEL.anthropic, max_tokens: 8, messages: [{ role: 'user', content: 'Write an essay' }] }, stream);
      expect(r.msg.stop_reason).toBe('max_tokens');
      expect(textOf(r.msg)).toBe('This answer is cut sh');
      if (r.sse) expect(r.sse.stopReason).toBe('max_tokens');
    } else {
      const r = await askOpenAI({ model: CLIENT_MODEL.openai, max_tokens: 8, messages: [{ role: 'user', content: 'Write an essay' }] }, stream);
      expect(r.completion.choices[0]!.finish_reason).toBe('length');
      expect(r.completion.choices[0]!.message.content).toBe('This answer is cut sh');
      if (r.sse) expect(r.sse.finish).toBe('length');
    }
  });
});

// ================================================================== 7. a stream cut by the provider

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it('7. a provider stream cut mid-way ends in an SDK error, is never completed and never retried', async () => {
    // Two members that both cut: whichever is picked first, a retry would show as a second request.
    const a = await provider(prov, { name: `${prov}-first` });
    const b = await provider(prov, { name: `${prov}-second` });
    const cutAfter = prov === 'anthropic' ? 5 : 3; // message_start, ping, block start, 2 deltas / role chunk + 2 content chunks
    for (const { u } of [a, b]) u.queue.push(answer(prov, { text: 'partial answer that never finishes', pieces: 4, cutAfter }));

    if (client === 'anthropic') {
      const s = anth.messages.stream({ model: CLIENT_MODEL.anthropic, max_tokens: 200, messages: [{ role: 'user', content: 'tell me' }] });
      let text = '';
      let sawStop = false;
      s.on('text', (d) => { text += d; });
      s.on('streamEvent', (ev) => { if (ev.type === 'message_stop') sawStop = true; });
      const err = await thrown(s.finalMessage());
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect(err.error?.type).toBe('error');
      expect(err.error?.error?.type).toBeTypeOf('string');
      expect(text.length).toBeGreaterThan(0); // the part before the cut did reach the client
      expect(sawStop).toBe(false);
      const raw = await rec.last()!.text;
      const sse = checkAnthropicStream(raw, { expectError: true });
      expect(sse.events.at(-1)!.event).toBe('error');
    } else {
      const s = oai.chat.completions.stream({ model: CLIENT_MODEL.openai, max_tokens: 200, messages: [{ role: 'user', content: 'tell me' }], stream_options: { include_usage: true } });
      let text = '';
      const err = await thrown((async () => {
        for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
      })());
      expect(err).toBeInstanceOf(OpenAI.APIError); // thrown from the `data: {"error":…}` line
      expect(err.error?.message).toBeTypeOf('string');
      expect(text.length).toBeGreaterThan(0);
      const raw = await rec.last()!.text;
      const sse = checkOpenAIStream(raw, { expectError: true });
      expect(sse.finish).toBeNull();
      expect(raw).not.toContain('[DONE]');
    }
    expect(a.u.requests.length + b.u.requests.length).toBe(1);
  });
});

// ================================================================== 8. upstream 400

const BAD_REQUEST_TEXT: Record<Fmt, string> = {
  // Pretty-printed on purpose: any re-serialisation by the gateway changes the bytes.
  anthropic: '{\n  "type": "error",\n  "error": {\n    "type": "invalid_request_error",\n    "message": "messages.0.content.1: unexpected `tool_use_id` found in `tool_result` blocks"\n  },\n  "request_id": "req_011CStandIn400"\n}',
  openai: '{\n  "error": {\n    "message": "Invalid \'temperature\': decimal above maximum value. Expected a value <= 2, but got 3 instead.",\n    "type": "invalid_request_error",\n    "param": "temperature",\n    "code": "decimal_above_max_value"\n  }\n}',
};
const BAD_REQUEST_MESSAGE: Record<Fmt, string> = {
  anthropic: 'messages.0.content.1: unexpected `tool_use_id` found in `tool_result` blocks',
  openai: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.",
};

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('8. an upstream 400 reaches the SDK as BadRequestError with the upstream message; nothing is cooled (stream=%s)', async (stream) => {
    const { u, memberId } = await provider(prov);
    u.queue.push({ kind: 'status', status: 400, body: BAD_REQUEST_TEXT[prov], headers: { 'request-id': 'req_011CStandIn400' } });
    let err: any;
    if (client === 'anthropic') {
      err = await thrown(askAnthropic({ model: CLIENT_MODEL.anthropic, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }, stream));
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      expect(err.status).toBe(400);
      expect(err.error.type).toBe('error');
      expect(err.error.error.type).toBe('invalid_request_error');
      expect(err.error.error.message).toContain(BAD_REQUEST_MESSAGE[prov]);
    } else {
      err = await thrown(askOpenAI({ model: CLIENT_MODEL.openai, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }, stream));
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.status).toBe(400);
      expect(err.error.message).toContain(BAD_REQUEST_MESSAGE[prov]);
      expect(err.type).toBe('invalid_request_error');
      if (prov === 'openai') {
        expect(err.code).toBe('decimal_above_max_value');
        expect(err.param).toBe('temperature');
      }
    }
    expect(err.message).toContain(BAD_REQUEST_MESSAGE[prov]);
    const sdkBody = await rec.last()!.text;
    if (client === prov) expect(sdkBody).toBe(BAD_REQUEST_TEXT[prov]); // same format: byte for byte
    else expect(() => JSON.parse(sdkBody)).not.toThrow();

    expect(u.requests).toHaveLength(1);
    const member = memberOf(await getPools(gw), memberId);
    expect(member.state).toBe('ready');
    expect(member.cooldownUntil).toBeNull();
  });

  if (client === prov) {
    it('8b. same format: a raw fetch gets the upstream 400 body byte for byte', async () => {
      const { u } = await provider(prov);
      u.queue.push({ kind: 'status', status: 400, body: BAD_REQUEST_TEXT[prov] });
      const r = client === 'anthropic'
        ? await post(`${gw.url}/v1/messages`, { model: CLIENT_MODEL.anthropic, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }, { 'anthropic-version': '2023-06-01', 'x-api-key': 'client-key' })
        : await post(`${gw.url}/v1/chat/completions`, { model: CLIENT_MODEL.openai, messages: [{ role: 'user', content: 'x' }] }, { authorization: 'Bearer client-key' });
      expect(r.status).toBe(400);
      expect(r.text).toBe(BAD_REQUEST_TEXT[prov]);
      expect(r.headers.get('content-type')).toContain('application/json');
    });
  }
});

const OPENAI_CONTEXT_OVERFLOW = JSON.stringify({
  error: {
    message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9013 tokens. Please reduce the length of the messages.",
    type: 'invalid_request_error',
    param: 'messages',
    code: 'context_length_exceeded',
  },
});

describe('8. context overflow', () => {
  it.each(MODES)('OpenAI provider context_length_exceeded → Anthropic client 400 invalid_request_error "prompt is too long" (stream=%s)', async (stream) => {
    const { u, memberId } = await provider('openai');
    u.queue.push({ kind: 'status', status: 400, body: OPENAI_CONTEXT_OVERFLOW });
    const err = await thrown(askAnthropic({ model: CLIENT_MODEL.anthropic, max_tokens: 100, messages: [{ role: 'user', content: 'a very long prompt' }] }, stream));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.error.type).toBe('error');
    expect(err.error.error.type).toBe('invalid_request_error');
    expect(err.error.error.message.toLowerCase()).toContain('prompt is too long');
    expect(memberOf(await getPools(gw), memberId).state).toBe('ready');
  });

  it.each(MODES)('Anthropic provider "prompt is too long" → OpenAI client 400 context_length_exceeded (stream=%s)', async (stream) => {
    const { u } = await provider('anthropic');
    u.queue.push({ kind: 'status', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } } });
    const err = await thrown(askOpenAI({ model: CLIENT_MODEL.openai, messages: [{ role: 'user', content: 'a very long prompt' }] }, stream));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe('context_length_exceeded');
    expect(err.error.message).toContain('prompt is too long');
  });
});

// ================================================================== 9. upstream 429 + Retry-After

const RATE_LIMIT_BODY: Record<Fmt, object> = {
  anthropic: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } },
  openai: { error: { message: 'Rate limit reached for gpt-4.1-mini on requests per min (RPM): Limit 3, Used 3. Please try again in 7s.', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
};

describe.each(PAIRS)('%s client → %s provider', (client, prov) => {
  it.each(MODES)('9. upstream 429 + Retry-After: RateLimitError, member cooling, then 503 in the client\'s format (stream=%s)', async (stream) => {
    const { u, memberId } = await provider(prov);
    u.queue.push({ kind: 'status', status: 429, body: RATE_LIMIT_BODY[prov], headers: { 'retry-after': '7' } });
    const upstreamMessage = prov === 'anthropic' ? 'per-minute rate limit' : 'Please try again in 7s.';
    const call = () => client === 'anthropic'
      ? askAnthropic({ model: CLIENT_MODEL.anthropic, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }, stream)
      : askOpenAI({ model: CLIENT_MODEL.openai, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }, stream);

    const before = Date.now();
    const err = await thrown(call());
    expect(err).toBeInstanceOf(client === 'anthropic' ? Anthropic.RateLimitError : OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.message).toContain(upstreamMessage);
    const retryAfter = err.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(7);
    if (client === 'anthropic') expect(err.error.error.type).toBe('rate_limit_error');
    else expect(err.error.message).toContain(upstreamMessage);

    const member = memberOf(await getPools(gw), memberId);
    expect(member.state).toBe('cooling');
    expect(Date.parse(member.cooldownUntil)).toBeGreaterThanOrEqual(before + 6_000);

    // The next request: no member is ready → 503 in the client's own format, with Retry-After.
    const err2 = await thrown(call());
    expect(err2.status).toBe(503);
    expect(err2).toBeInstanceOf(client === 'anthropic' ? Anthropic.APIError : OpenAI.APIError);
    expect(Number(err2.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const r = client === 'anthropic'
      ? await post(`${gw.url}/v1/messages`, { model: CLIENT_MODEL.anthropic, max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream }, { 'anthropic-version': '2023-06-01', 'x-api-key': 'client-key' })
      : await post(`${gw.url}/v1/chat/completions`, { model: CLIENT_MODEL.openai, messages: [{ role: 'user', content: 'x' }], stream }, { authorization: 'Bearer client-key' });
    expect(r.status).toBe(503);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.headers.get('content-type')).toContain('application/json');
    if (client === 'anthropic') {
      expect(r.body.type).toBe('error');
      expect(Object.keys(r.body).sort()).toEqual(['error', 'type']);
      expect(r.body.error.type).toBeTypeOf('string');
      expect(r.body.error.message).toBeTypeOf('string');
      expect(r.body.error.code).toBeUndefined();
    } else {
      expect(r.body.type).toBeUndefined();
      expect(Object.keys(r.body)).toEqual(['error']);
      expect(r.body.error.message).toBeTypeOf('string');
      expect(r.body.error.type).toBeTypeOf('string');
    }
    expect(u.requests).toHaveLength(1); // the 503s never reached the provider
  });
});

// ================================================================== Claude Code's own request

const FIXTURE = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'claude-code-request.json'), 'utf8'));

describe('a real Claude Code 2.1.197 request, streamed by the Anthropic SDK to an OpenAI-format provider', () => {
  it('the provider gets a valid OpenAI body and the client a complete stream', async () => {
    const { u } = await provider('openai', { pool: 'advanced', model: 'gpt-5.1-codex' });
    u.queue.push(answer('openai', {
      text: "I'll read the file.",
      tools: [{ id: 'call_ReadX7f3Kq2LmN9pR4s', name: 'Read', input: { file_path: '/home/user/project/x.txt' } }],
      usage: { input: 21000, cacheRead: 18000, output: 64 },
      pieces: 4,
    }));
    const body = FIXTURE.body as Record<string, unknown>;
    expect(body.stream).toBe(true);
    const r = await askAnthropic(body, true, { headers: { 'anthropic-beta': FIXTURE.headers['anthropic-beta'] } });

    // client side: a complete, well-formed stream
    expect(r.msg.id).toMatch(/^msg_/);
    expect(r.msg.stop_reason).toBe('tool_use');
    expect(textOf(r.msg)).toBe("I'll read the file.");
    const uses = r.msg.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(uses).toHaveLength(1);
    expect(uses[0]).toMatchObject({ id: 'call_ReadX7f3Kq2LmN9pR4s', name: 'Read', input: { file_path: '/home/user/project/x.txt' } });
    expect(r.msg.usage).toMatchObject({ input_tokens: 21000, cache_read_input_tokens: 18000, output_tokens: 64 });
    expect(r.sse!.complete).toBe(true);
    expect(r.sse!.blocks.map((b) => b.type)).toEqual(['text', 'tool_use']);

    // provider side: a valid OpenAI body
    expect(u.requests).toHaveLength(1);
    const seen = u.requests[0]!;
    expect(seen.path).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe(`Bearer ${PROVIDER_KEY.openai}`);
    expect(seen.headers['anthropic-beta']).toBeUndefined();
    expect(seen.headers['anthropic-version']).toBeUndefined();
    expect(seen.headers['x-api-key']).toBeUndefined();
    const out = seen.body;
    expect(out.model).toBe('gpt-5.1-codex');
    const messages = out.messages as any[];
    expect(messages[0].role).toBe('system');
    expect(messages.filter((m) => m.role === 'system')).toHaveLength(1);
    expect(typeof messages[0].content === 'string' || Array.isArray(messages[0].content)).toBe(true);
    const systemText = JSON.stringify(messages[0].content);
    for (const block of (body.system as { text: string }[])) expect(systemText).toContain(JSON.stringify(block.text).slice(1, 60));
    // Claude Code's mid-conversation role:"system" message was folded into the leading system message
    const lateSystem = (body.messages as any[]).find((m) => m.role === 'system');
    expect(systemText).toContain(JSON.stringify(lateSystem.content).slice(1, 60));
    expect(messages.slice(1).every((m) => ['user', 'assistant', 'tool'].includes(m.role))).toBe(true);
    expect(JSON.stringify(messages.at(-1))).toContain('read the file x.txt');
    expect(messages.at(-1).role).toBe('user');
    expect(findKeys(out, ['cache_control', 'context_management', 'thinking'])).toEqual([]);
    for (const k of ['output_config', 'metadata', 'system', 'top_k', 'stop_sequences']) expect(out[k], k).toBeUndefined();
    const tools = out.tools as any[];
    expect(tools).toHaveLength(24);
    expect(tools.every((t) => t.type === 'function' && typeof t.function.name === 'string' && typeof t.function.parameters === 'object')).toBe(true);
    expect(tools.map((t) => t.function.name)).toEqual((body.tools as any[]).map((t) => t.name));
    expect(typeof (out.max_tokens ?? out.max_completion_tokens)).toBe('number');
    expect(out.stream).toBe(true);
    expect(out.stream_options).toEqual({ include_usage: true });
    if (out.user !== undefined) expect(String(out.user).length).toBeLessThanOrEqual(64);
  });
});
