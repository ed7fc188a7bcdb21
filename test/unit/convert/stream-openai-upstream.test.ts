/** OpenAI-format upstream → Anthropic client (Claude Code path): §8 cases 39–51 and recorded provider shapes. */
import { describe, it, expect } from 'vitest';
import { getConverter } from '../../../src/protocol/convert/index.js';
import { SYNTHETIC_SIGNATURE_PREFIX, hasText } from '../../../src/protocol/convert/util.js';
import {
  anthropicEvents, anthropicSdkFinalMessage, assemble, checkAnthropicStream, chunk, ctxOf, openaiSse, runOpenAIUpstream, translate,
} from './helpers.js';

const conv = getConverter('anthropic', 'openai')!;

const tc = (index: number | undefined, id: string | undefined, name: string | undefined, args: string | undefined) => {
  const o: Record<string, unknown> = {};
  if (index !== undefined) o.index = index;
  if (id !== undefined) { o.id = id; o.type = 'function'; }
  const fn: Record<string, unknown> = {};
  if (name !== undefined) fn.name = name;
  if (args !== undefined) fn.arguments = args;
  o.function = fn;
  return o;
};

/** §3.2's example: text, two parallel calls (fragmented, then whole), finish, usage chunk, [DONE]. */
const OPENAI_EXAMPLE = [
  chunk({ role: 'assistant', content: '' }, null, { usage: null }),
  chunk({ content: 'Reading both.' }, null, { usage: null }),
  chunk({ tool_calls: [tc(0, 'call_A', 'Read', '')] }),
  chunk({ tool_calls: [tc(0, undefined, undefined, '{"file_path":')] }),
  chunk({ tool_calls: [tc(0, undefined, undefined, '"/a.ts"}')] }),
  chunk({ tool_calls: [tc(1, 'call_B', 'Read', '{"file_path":"/b.ts"}')] }),
  chunk({}, 'tool_calls', { usage: null }),
  chunk(null, null, { usage: { prompt_tokens: 1200, completion_tokens: 87, total_tokens: 1287, prompt_tokens_details: { cached_tokens: 1024 } } }),
  '[DONE]',
];

function run(chunks: Array<object | string>, opts: { eof?: boolean; split?: number } = {}, ctx = ctxOf()) {
  const text = runOpenAIUpstream(chunks, ctx, opts);
  const events = anthropicEvents(text);
  return { text, events, shape: checkAnthropicStream(events), msg: assemble(events) };
}

describe('stream: OpenAI upstream → Anthropic client (§8 cases 39–51)', () => {
  it('case 39: every frame has event = data.type; message_start first, message_stop last, once each', () => {
    const { events, shape } = run(OPENAI_EXAMPLE);
    expect(shape.ended).toBe('stop');
    expect(events.every((e) => e.event === e.data.type)).toBe(true);
    expect(events[0]!.data.type).toBe('message_start');
    expect(events.at(-1)!.data.type).toBe('message_stop');
    expect(events.filter((e) => e.data.type === 'message_start')).toHaveLength(1);
    expect(events.filter((e) => e.data.type === 'message_stop')).toHaveLength(1);
    const start = events[0]!.data.message;
    expect(start).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null });
    expect(start.id).toMatch(/^msg_/);
  });

  it('case 40: indices 0.. contiguous in start order, one start/stop each, no ghost deltas, no overlap', () => {
    const { events } = run(OPENAI_EXAMPLE);
    const starts = events.filter((e) => e.data.type === 'content_block_start').map((e) => e.data.index);
    const stops = events.filter((e) => e.data.type === 'content_block_stop').map((e) => e.data.index);
    expect(starts).toEqual([0, 1, 2]);
    expect(stops).toEqual([0, 1, 2]);
    // checkAnthropicStream (run) already rejected deltas to unopened blocks and overlaps
  });

  it('case 41: text then a tool call → text block 0 stops before tool block 1 starts; stop_reason tool_use', () => {
    const { events, msg } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Let me look.' }),
      chunk({ tool_calls: [tc(0, 'call_1', 'Glob', '{"pattern":"*.ts"}')] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    const order = events.filter((e) => e.data.type.startsWith('content_block_') && e.data.type !== 'content_block_delta').map((e) => `${e.data.type}:${e.data.index}`);
    expect(order).toEqual(['content_block_start:0', 'content_block_stop:0', 'content_block_start:1', 'content_block_stop:1']);
    expect(msg.content[0]).toEqual({ type: 'text', text: 'Let me look.' });
    expect(msg.content[1]).toMatchObject({ type: 'tool_use', id: 'call_1', name: 'Glob', input: { pattern: '*.ts' } });
    expect(msg.stop_reason).toBe('tool_use');
  });

  it('case 42: two parallel calls with fragmented arguments → two tool_use blocks, ids/names kept, JSON intact', () => {
    const { msg } = run([
      chunk({ role: 'assistant', content: null }),
      chunk({ tool_calls: [tc(0, 'call_A', 'Read', '')] }),
      chunk({ tool_calls: [tc(0, undefined, undefined, '{"file_')] }),
      chunk({ tool_calls: [tc(0, undefined, undefined, 'path": "/a.ts"')] }),
      chunk({ tool_calls: [tc(0, undefined, undefined, '}')] }),
      chunk({ tool_calls: [tc(1, 'call_B', 'Grep', '')] }),
      chunk({ tool_calls: [tc(1, undefined, undefined, '{"pattern":')] }),
      chunk({ tool_calls: [tc(1, undefined, undefined, '"fo\\"o"}')] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(msg.content).toEqual([
      { type: 'tool_use', id: 'call_A', name: 'Read', input: { file_path: '/a.ts' } },
      { type: 'tool_use', id: 'call_B', name: 'Grep', input: { pattern: 'fo"o' } },
    ]);
  });

  it('case 43: id + name + complete arguments in one delta → input is those arguments (not {})', () => {
    const { msg } = run([
      chunk({ role: 'assistant', content: '', tool_calls: [tc(0, 'call_1', 'Bash', '{"command":"ls -la"}')] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(msg.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'Bash', input: { command: 'ls -la' } }]);
  });

  it('case 44: index 0 reused with a new id → two distinct tool_use blocks', () => {
    const { msg } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ tool_calls: [tc(0, 'call_1', 'Read', '{"file_path":"/a"}')] }),
      chunk({ tool_calls: [tc(0, 'call_2', 'Read', '{"file_path":"/b"}')] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(msg.content).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'Read', input: { file_path: '/a' } },
      { type: 'tool_use', id: 'call_2', name: 'Read', input: { file_path: '/b' } },
    ]);
  });

  it('case 45: tool_call deltas without index (two calls in one delta) → two tool_use blocks', () => {
    const { msg } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ tool_calls: [tc(undefined, 'c1', 'Read', '{"file_path":"/a"}'), tc(undefined, 'c2', 'Write', '{"file_path":"/b","content":"x"}')] }),
      chunk({}, 'stop'),
      '[DONE]',
    ]);
    expect(msg.content).toEqual([
      { type: 'tool_use', id: 'c1', name: 'Read', input: { file_path: '/a' } },
      { type: 'tool_use', id: 'c2', name: 'Write', input: { file_path: '/b', content: 'x' } },
    ]);
    expect(msg.stop_reason).toBe('tool_use');
  });

  it.each(['reasoning_content', 'reasoning'])('case 46: role chunk, %s deltas, content → thinking@0, text@1, no empty text block', async (field) => {
    const chunks = [
      chunk({ role: 'assistant', content: '' }),
      chunk({ [field]: 'Think ' }),
      chunk({ [field]: 'hard.' }),
      chunk({ content: 'Answer.' }),
      chunk({}, 'stop'),
      '[DONE]',
    ];
    const { events, msg, text } = run(chunks);
    const starts = events.filter((e) => e.data.type === 'content_block_start');
    expect(starts.map((e) => [e.data.index, e.data.content_block.type])).toEqual([[0, 'thinking'], [1, 'text']]);
    expect(msg.content[0]).toMatchObject({ type: 'thinking', thinking: 'Think hard.' });
    expect(msg.content[0].signature.startsWith(SYNTHETIC_SIGNATURE_PREFIX)).toBe(true);
    expect(msg.content[1]).toEqual({ type: 'text', text: 'Answer.' });
    expect(events.some((e) => e.data.type === 'content_block_delta' && e.data.delta.type === 'thinking_delta')).toBe(true);
    const sdk = await anthropicSdkFinalMessage(text);
    expect(sdk.content.map((b) => b.type)).toEqual(['thinking', 'text']);
  });

  it('case 47: usage in a trailing choices:[] chunk → message_delta usage mapped', () => {
    const { events } = run(OPENAI_EXAMPLE);
    const md = events.find((e) => e.data.type === 'message_delta')!;
    expect(md.data.usage).toEqual({ input_tokens: 176, cache_read_input_tokens: 1024, cache_creation_input_tokens: 0, output_tokens: 87 });
    expect(md.data.delta).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
  });

  it('case 48: no usage ever, [DONE] → integer usage in message_delta; ends with message_stop', () => {
    const { events, shape } = run([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hello there, friend.' }), chunk({}, 'stop'), '[DONE]'], {}, ctxOf({ estimatedInputTokens: 500 }));
    expect(shape.ended).toBe('stop');
    const md = events.find((e) => e.data.type === 'message_delta')!;
    expect(Number.isInteger(md.data.usage.input_tokens)).toBe(true);
    expect(Number.isInteger(md.data.usage.output_tokens)).toBe(true);
    expect(md.data.usage.input_tokens).toBe(500);
    expect(md.data.usage.output_tokens).toBeGreaterThan(0);
    expect(events.at(-1)!.data.type).toBe('message_stop');
  });

  it('case 49: finish_reason length → stop_reason max_tokens', () => {
    const { msg } = run([chunk({ role: 'assistant', content: '' }), chunk({ content: 'cut' }), chunk({}, 'length'), '[DONE]']);
    expect(msg.stop_reason).toBe('max_tokens');
  });

  it('case 49b: finish_reason length while a tool call streams → max_tokens, never tool_use', () => {
    const { msg } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ tool_calls: [tc(0, 'call_W', 'Write', '{"file_path":"/a.ts"}')] }), // the call was still growing when the limit hit
      chunk({}, 'length'),
      '[DONE]',
    ]);
    expect(msg.stop_reason).toBe('max_tokens');
  });

  it('case 50: data:{"error":…} after text → event: error with Anthropic shape; nothing after it', async () => {
    const { events, shape, text } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'partial' }),
      { error: { message: 'boom', type: 'server_error', code: null } },
      chunk({ content: 'never' }),
      '[DONE]',
    ]);
    expect(shape.ended).toBe('error');
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data).toEqual({ type: 'error', error: { type: 'api_error', message: 'boom' } });
    expect(events.some((e) => e.data.type === 'message_stop')).toBe(false);
    expect(text).not.toContain('never');
    await expect(anthropicSdkFinalMessage(text)).rejects.toThrow(/boom/);
  });

  it('case 50b: a rate-limit error object keeps its meaning (429 / rate_limit_error); context overflow → prompt is too long', () => {
    const t = conv.stream(ctxOf());
    const out = translate(t, openaiSse([chunk({ content: 'x' }), { error: { message: 'slow down', code: 429 } }]));
    expect(anthropicEvents(out).at(-1)!.data.error.type).toBe('rate_limit_error');
    expect(t.state!().error).toMatchObject({ status: 429, type: 'rate_limit_error' });
    const t2 = conv.stream(ctxOf());
    const out2 = translate(t2, openaiSse([{ error: { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' } }]));
    expect(anthropicEvents(out2)[0]!.data.error).toMatchObject({ type: 'invalid_request_error' });
    expect(anthropicEvents(out2)[0]!.data.error.message).toContain('prompt is too long');
  });

  it('case 51: upstream closes before any chunk → error frame, nothing started (relay answers non-200 / fails over)', () => {
    const t = conv.stream(ctxOf());
    expect(t.keepAlive()).toBe('');
    const out = t.end();
    const events = anthropicEvents(out);
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toBe('error');
    expect(t.state!()).toMatchObject({ started: false, done: false, error: { status: 502, type: 'api_error' } });
    // an error as the very first event: reported before anything was started
    const t2 = conv.stream(ctxOf());
    translate(t2, openaiSse([{ error: { message: 'overloaded', type: 'server_error', code: 'overloaded' } }]), { eof: false });
    expect(t2.state!()).toMatchObject({ started: false, error: { status: 529, type: 'overloaded_error' } });
  });
});

describe('stream: OpenAI upstream → Anthropic client, endings and liveness', () => {
  it('EOF after finish_reason without [DONE] → normal tail', () => {
    const { shape, msg } = run([chunk({ role: 'assistant', content: '' }), chunk({ content: 'ok' }), chunk({}, 'stop')]);
    expect(shape.ended).toBe('stop');
    expect(msg.stop_reason).toBe('end_turn');
  });

  it('EOF before finish_reason → event: error "ended before completion", no message_stop', async () => {
    const { shape, events, text } = run([chunk({ role: 'assistant', content: '' }), chunk({ content: 'half an ans' })]);
    expect(shape.ended).toBe('error');
    expect(events.at(-1)!.data.error).toEqual({ type: 'api_error', message: 'upstream stream ended before completion' });
    expect(events.some((e) => e.data.type === 'message_stop')).toBe(false);
    await expect(anthropicSdkFinalMessage(text)).rejects.toThrow(/ended before completion/);
  });

  it('finish_reason "error" → error frame', () => {
    const { shape } = run([chunk({ role: 'assistant', content: '' }), chunk({ content: 'a' }), chunk({}, 'error')]);
    expect(shape.ended).toBe('error');
  });

  it('keepAlive: "" before message_start, ping while streaming, "" after the end; state() follows', () => {
    const t = conv.stream(ctxOf());
    expect(t.keepAlive()).toBe('');
    translate(t, openaiSse([chunk({ role: 'assistant', content: '' })]), { eof: false });
    expect(t.keepAlive()).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    expect(t.state!()).toMatchObject({ started: true, done: false, error: null });
    translate(t, openaiSse([chunk({}, 'stop'), '[DONE]']), { eof: false });
    expect(t.keepAlive()).toBe('');
    expect(t.state!()).toMatchObject({ started: true, done: true, error: null });
    expect(t.end()).toBe('');
    expect(t.push({ data: '{"choices":[]}', raw: '' })).toBe('');
  });

  it('comment / empty events and unparsable data lines are ignored', () => {
    const t = conv.stream(ctxOf());
    expect(t.push({ data: '', raw: ': keepalive\n\n' })).toBe('');
    expect(t.push({ data: 'not json', raw: '' })).toBe('');
    expect(t.state!().started).toBe(false);
  });

  it('usage() reports upstream usage in Anthropic terms', () => {
    const t = conv.stream(ctxOf());
    translate(t, openaiSse(OPENAI_EXAMPLE));
    expect(t.usage()).toEqual({ inputTokens: 176, outputTokens: 87, cacheReadTokens: 1024, cacheCreationTokens: 0 });
    expect(t.state!().usageReported).toBe(true);
  });

  it('same output whether upstream bytes arrive whole or in 7-byte pieces', () => {
    const whole = assemble(anthropicEvents(runOpenAIUpstream(OPENAI_EXAMPLE)));
    const pieces = assemble(anthropicEvents(runOpenAIUpstream(OPENAI_EXAMPLE, ctxOf(), { split: 7 })));
    expect(pieces.content).toEqual(whole.content);
    expect(pieces.usage).toEqual(whole.usage);
  });

  it('arguments of two calls interleaved → both inputs intact (later block held back)', () => {
    const { msg } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ tool_calls: [tc(0, 'a', 'Read', '')] }),
      chunk({ tool_calls: [tc(1, 'b', 'Grep', '')] }),
      chunk({ tool_calls: [tc(0, undefined, undefined, '{"file_path":')] }),
      chunk({ tool_calls: [tc(1, undefined, undefined, '{"pattern":"x"}')] }),
      chunk({ tool_calls: [tc(0, undefined, undefined, '"/a"}')] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(msg.content).toEqual([
      { type: 'tool_use', id: 'a', name: 'Read', input: { file_path: '/a' } },
      { type: 'tool_use', id: 'b', name: 'Grep', input: { pattern: 'x' } },
    ]);
  });

  it('arguments before the name → the start waits for the name, then carries the buffered arguments', () => {
    const { msg } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ tool_calls: [tc(0, 'a', undefined, '{"x":')] }),
      chunk({ tool_calls: [tc(0, undefined, 'F', '1}')] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(msg.content).toEqual([{ type: 'tool_use', id: 'a', name: 'F', input: { x: 1 } }]);
  });

  it('whitespace-only content before tool calls never opens a text block; whitespace inside text is kept', () => {
    const { msg } = run([
      chunk({ role: 'assistant', content: '\n\n' }),
      chunk({ tool_calls: [tc(0, 'a', 'F', '{}')] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(msg.content.map((b: any) => b.type)).toEqual(['tool_use']);
    const { msg: m2 } = run([chunk({ content: '\n' }), chunk({ content: 'a' }), chunk({ content: '\n\n' }), chunk({ content: 'b' }), chunk({}, 'stop'), '[DONE]']);
    expect(m2.content).toEqual([{ type: 'text', text: '\na\n\nb' }]);
  });

  it('Unicode whitespace (U+2000, U+2005, U+3000…) alone is whitespace too: no text block (property seed -118443689)', async () => {
    // The exact chunk sequence of the property counterexample: role chunk with content "" and usage,
    // then one content fragment of U+2000 EN QUAD, a finish "length" chunk, [DONE]; read in 51-byte pieces.
    const usage = { prompt_tokens: 1500, completion_tokens: 321, total_tokens: 1821, prompt_tokens_details: { cached_tokens: 1000 } };
    const base = { id: 'chatcmpl-p', object: 'chat.completion.chunk', created: 1, model: 'm' };
    const chunks = [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage },
      { ...base, choices: [{ index: 0, delta: { content: '\u2000' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'length' }] },
      '[DONE]',
    ];
    const { text, events, msg } = run(chunks, { split: 51 });
    expect(events.some((e) => e.data.type === 'content_block_start')).toBe(false);
    expect(msg.content).toEqual([]);
    expect(msg.stop_reason).toBe('max_tokens');
    const sdk = await anthropicSdkFinalMessage(text);
    expect(sdk.content).toEqual([]);
    expect(sdk.usage).toMatchObject({ input_tokens: 500, cache_read_input_tokens: 1000, output_tokens: 321 });

    for (const ws of ['\u2005', '\u3000', '\u00a0', '\u1680', '\u202f', '\u205f', '\u2028', '\ufeff', ' \u2000\n']) {
      expect(run([chunk({ content: ws }), chunk({}, 'stop'), '[DONE]']).msg.content).toEqual([]);
      // before a tool call: still no text block
      const tool = run([chunk({ content: ws }), chunk({ tool_calls: [tc(0, 'a', 'F', '{}')] }), chunk({}, 'tool_calls'), '[DONE]']).msg;
      expect(tool.content.map((b: any) => b.type)).toEqual(['tool_use']);
      // held, not lost: it leads the text once visible text follows
      expect(run([chunk({ content: ws }), chunk({ content: 'Hi' }), chunk({}, 'stop'), '[DONE]']).msg.content).toEqual([{ type: 'text', text: `${ws}Hi` }]);
      // after visible text it is real text and kept
      expect(run([chunk({ content: 'Hi' }), chunk({ content: ws }), chunk({}, 'stop'), '[DONE]']).msg.content).toEqual([{ type: 'text', text: `Hi${ws}` }]);
      // after thinking, it stays in front of the visible text that follows
      const th = run([chunk({ reasoning_content: 'r' }), chunk({ content: ws }), chunk({ content: 'Hi' }), chunk({}, 'stop'), '[DONE]']).msg;
      expect(th.content.map((b: any) => b.type)).toEqual(['thinking', 'text']);
      expect(th.content[1]).toEqual({ type: 'text', text: `${ws}Hi` });
    }
  });

  it('truncated long tool names are restored in stream tool_use blocks', () => {
    const long = 'x'.repeat(80);
    const { body, ctx } = conv.request({ model: 'claude', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: long, input_schema: { type: 'object' } }] }, 'gpt-4o', {});
    const short = (body.tools as any[])[0].function.name;
    const { msg } = run([chunk({ tool_calls: [tc(0, 'a', short, '{}')] }), chunk({}, 'tool_calls'), '[DONE]'], {}, ctx);
    expect(msg.content[0].name).toBe(long);
  });

  it('[DONE] with nothing before it is an upstream failure, not an empty answer', () => {
    const t = conv.stream(ctxOf());
    const out = translate(t, openaiSse(['[DONE]']));
    expect(anthropicEvents(out)[0]!.event).toBe('error');
    expect(t.state!().started).toBe(false);
  });
});

describe('hasText (the P7 whitespace test the translators share)', () => {
  it('agrees with String#trim for every UTF-16 code unit, alone, doubled and before a space', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      for (const s of [ch, ch + ch, ch + ' ', ' ' + ch]) expect(hasText(s), `U+${c.toString(16).padStart(4, '0')}`).toBe(s.trim() !== '');
    }
    expect(hasText('')).toBe(false);
    expect(hasText('\u2000\u3000 \n\tx')).toBe(true);
  });
});

describe('stream: recorded provider shapes → accepted by the Anthropic SDK', () => {
  const cases: Array<[string, Array<object | string>, (m: any) => void]> = [
    ['OpenAI gpt-4o (§3.2 example)', OPENAI_EXAMPLE, (m) => {
      expect(m.content.map((b: any) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
      expect(m.content[1].input).toEqual({ file_path: '/a.ts' });
      expect(m.content[2].input).toEqual({ file_path: '/b.ts' });
      expect(m.usage.cache_read_input_tokens).toBe(1024);
    }],
    ['DeepSeek reasoner: reasoning_content, content:null, usage on the finish chunk', [
      { id: 'd1', object: 'chat.completion.chunk', created: 1, model: 'deepseek-reasoner', system_fingerprint: 'fp_1', choices: [{ index: 0, delta: { role: 'assistant', content: null, reasoning_content: '' }, logprobs: null, finish_reason: null }] },
      { id: 'd1', object: 'chat.completion.chunk', created: 1, model: 'deepseek-reasoner', choices: [{ index: 0, delta: { content: null, reasoning_content: 'The user greets.' }, logprobs: null, finish_reason: null }] },
      { id: 'd1', object: 'chat.completion.chunk', created: 1, model: 'deepseek-reasoner', choices: [{ index: 0, delta: { content: 'Hello!', reasoning_content: null }, logprobs: null, finish_reason: null }] },
      { id: 'd1', object: 'chat.completion.chunk', created: 1, model: 'deepseek-reasoner', choices: [{ index: 0, delta: { content: '', reasoning_content: null }, logprobs: null, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30, prompt_cache_hit_tokens: 0, prompt_cache_miss_tokens: 10, completion_tokens_details: { reasoning_tokens: 12 } } },
      '[DONE]',
    ], (m) => {
      expect(m.content).toMatchObject([{ type: 'thinking', thinking: 'The user greets.' }, { type: 'text', text: 'Hello!' }]);
      expect(m.usage).toMatchObject({ input_tokens: 10, output_tokens: 20 });
      expect(m.stop_reason).toBe('end_turn');
    }],
    ['vLLM: `reasoning` field, usage chunk with choices:null', [
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'qwen3', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] },
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'qwen3', choices: [{ index: 0, delta: { reasoning: 'Okay, ' }, logprobs: null, finish_reason: null }] },
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'qwen3', choices: [{ index: 0, delta: { reasoning: 'list files.' }, logprobs: null, finish_reason: null }] },
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'qwen3', choices: [{ index: 0, delta: { content: '\n\n' }, logprobs: null, finish_reason: null }] },
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'qwen3', choices: [{ index: 0, delta: { tool_calls: [{ id: 'chatcmpl-tool-9f', type: 'function', index: 0, function: { name: 'Bash', arguments: '{"command": ' } }] }, logprobs: null, finish_reason: null }] },
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'qwen3', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"ls"}' } }] }, logprobs: null, finish_reason: null }] },
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'qwen3', choices: [{ index: 0, delta: { content: '' }, logprobs: null, finish_reason: 'tool_calls', stop_reason: null }] },
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'qwen3', choices: null, usage: { prompt_tokens: 300, total_tokens: 340, completion_tokens: 40 } },
      '[DONE]',
    ], (m) => {
      expect(m.content.map((b: any) => b.type)).toEqual(['thinking', 'tool_use']);
      expect(m.content[1]).toMatchObject({ id: 'chatcmpl-tool-9f', name: 'Bash', input: { command: 'ls' } });
      expect(m.usage).toMatchObject({ input_tokens: 300, output_tokens: 40 });
      expect(m.stop_reason).toBe('tool_use');
    }],
    ['vLLM: usage chunk with no choices key at all', [
      chunk({ role: 'assistant', content: 'Hi' }),
      chunk({}, 'stop'),
      { id: 'v', object: 'chat.completion.chunk', created: 1, model: 'm', usage: { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 } },
      '[DONE]',
    ], (m) => expect(m.usage).toMatchObject({ input_tokens: 7, output_tokens: 1 })],
    ['Ollama: whole calls in one chunk, index 0 reused with new ids, finish "stop"', [
      { id: 'chatcmpl-123', object: 'chat.completion.chunk', created: 1, model: 'llama3.1', system_fingerprint: 'fp_ollama', choices: [{ index: 0, delta: { role: 'assistant', content: '', tool_calls: [{ id: 'call_x1', index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, finish_reason: null }] },
      { id: 'chatcmpl-123', object: 'chat.completion.chunk', created: 1, model: 'llama3.1', system_fingerprint: 'fp_ollama', choices: [{ index: 0, delta: { role: 'assistant', content: '', tool_calls: [{ id: 'call_x2', index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] }, finish_reason: null }] },
      { id: 'chatcmpl-123', object: 'chat.completion.chunk', created: 1, model: 'llama3.1', system_fingerprint: 'fp_ollama', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'stop' }] },
      { id: 'chatcmpl-123', object: 'chat.completion.chunk', created: 1, model: 'llama3.1', system_fingerprint: 'fp_ollama', choices: [], usage: { prompt_tokens: 50, completion_tokens: 30, total_tokens: 80 } },
      '[DONE]',
    ], (m) => {
      expect(m.content.map((b: any) => [b.id, b.input.city])).toEqual([['call_x1', 'Paris'], ['call_x2', 'Rome']]);
      expect(m.stop_reason).toBe('tool_use');
    }],
    ['Gemini OpenAI-compat: calls without index, content and finish on one chunk', [
      { id: 'g', object: 'chat.completion.chunk', created: 1, model: 'gemini-2.5-flash', choices: [{ index: 0, delta: { role: 'assistant', content: 'I will check both.' }, finish_reason: null }] },
      { id: 'g', object: 'chat.completion.chunk', created: 1, model: 'gemini-2.5-flash', choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ function: { arguments: '{"path":"a"}', name: 'ls' }, id: 'function-call-1', type: 'function' }, { function: { arguments: '{"path":"b"}', name: 'ls' }, id: 'function-call-2', type: 'function' }] }, finish_reason: 'tool_calls' }], usage: { completion_tokens: 12, prompt_tokens: 40, total_tokens: 52 } },
      '[DONE]',
    ], (m) => {
      expect(m.content.map((b: any) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
      expect(m.content[2].input).toEqual({ path: 'b' });
    }],
    ['Kimi: ids like functions.Bash:0 are sanitised', [
      chunk({ role: 'assistant', content: '' }),
      chunk({ tool_calls: [tc(0, 'functions.Bash:0', 'Bash', '{"command":"pwd"}')] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ], (m) => expect(m.content[0].id).toMatch(/^[a-zA-Z0-9_-]+$/)],
  ];

  it.each(cases)('%s', async (_name, chunks, expectations) => {
    const { text, shape } = run(chunks);
    expect(shape.ended).toBe('stop');
    const message = await anthropicSdkFinalMessage(text);
    expect(message.role).toBe('assistant');
    for (const k of ['input_tokens', 'output_tokens'] as const) expect(Number.isInteger(message.usage[k])).toBe(true);
    expectations(message);
  });
});
