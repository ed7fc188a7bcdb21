/** Anthropic-format upstream → OpenAI client: §8 cases 52–55 and the OpenAI SDK accumulator. */
import { describe, it, expect } from 'vitest';
import { getConverter } from '../../../src/protocol/convert/index.js';
import { anthropicSse, ctxOf, openaiLines, openaiSdkFinalCompletion, runAnthropicUpstream, translate } from './helpers.js';

const conv = getConverter('openai', 'anthropic')!;
const octx = (includeUsage = false) => ctxOf({ clientModel: 'gpt-4o', upstreamModel: 'claude-sonnet-4-5', includeUsage });

type Ev = { type: string } & Record<string, unknown>;
const msgStart = (usage: Record<string, unknown> = { input_tokens: 176, cache_read_input_tokens: 1024, cache_creation_input_tokens: 10, output_tokens: 1 }): Ev => ({
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage },
});
const start = (index: number, content_block: Record<string, unknown>): Ev => ({ type: 'content_block_start', index, content_block });
const delta = (index: number, d: Record<string, unknown>): Ev => ({ type: 'content_block_delta', index, delta: d });
const stop = (index: number): Ev => ({ type: 'content_block_stop', index });
const msgDelta = (stop_reason: string, output_tokens = 87): Ev => ({ type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage: { output_tokens } });
const MSG_STOP: Ev = { type: 'message_stop' };

/** [thinking, text, tool_use, tool_use] — the shape of case 52. */
const FULL: Ev[] = [
  msgStart(),
  { type: 'ping' },
  start(0, { type: 'thinking', thinking: '', signature: '' }),
  delta(0, { type: 'thinking_delta', thinking: 'Two files ' }),
  delta(0, { type: 'thinking_delta', thinking: 'to read.' }),
  delta(0, { type: 'signature_delta', signature: 'EqQBCgIYAhIM' }),
  stop(0),
  start(1, { type: 'text', text: '' }),
  delta(1, { type: 'text_delta', text: 'Reading both.' }),
  stop(1),
  start(2, { type: 'tool_use', id: 'toolu_A', name: 'Read', input: {} }),
  delta(2, { type: 'input_json_delta', partial_json: '' }),
  delta(2, { type: 'input_json_delta', partial_json: '{"file_path":' }),
  delta(2, { type: 'input_json_delta', partial_json: '"/a.ts"}' }),
  stop(2),
  start(3, { type: 'tool_use', id: 'toolu_B', name: 'Read', input: {} }),
  delta(3, { type: 'input_json_delta', partial_json: '{"file_path":"/b.ts"}' }),
  stop(3),
  msgDelta('tool_use'),
  MSG_STOP,
];

const chunksOf = (lines: ReturnType<typeof openaiLines>) => lines.filter((l): l is Record<string, any> => l !== '[DONE]');

describe('stream: Anthropic upstream → OpenAI client (§8 cases 52–55)', () => {
  it('case 52: tool_calls indices 0 and 1 (not 2/3); first fragment has id/type/name; later only index+arguments; reasoning_content', () => {
    const lines = chunksOf(openaiLines(runAnthropicUpstream(FULL, octx())));
    const toolFrags = lines.flatMap((c) => (c.choices[0]?.delta?.tool_calls ?? []) as any[]);
    expect([...new Set(toolFrags.map((f) => f.index))]).toEqual([0, 1]);
    const first0 = toolFrags.find((f) => f.index === 0)!;
    expect(first0).toEqual({ index: 0, id: 'toolu_A', type: 'function', function: { name: 'Read', arguments: '' } });
    const later = toolFrags.filter((f) => f !== first0 && f.id === undefined);
    for (const f of later) expect(Object.keys(f).sort()).toEqual(['function', 'index']);
    for (const f of later) expect(Object.keys(f.function)).toEqual(['arguments']);
    const args = (i: number) => toolFrags.filter((f) => f.index === i).map((f) => f.function.arguments).join('');
    expect(JSON.parse(args(0))).toEqual({ file_path: '/a.ts' });
    expect(JSON.parse(args(1))).toEqual({ file_path: '/b.ts' });
    const reasoning = lines.map((c) => c.choices[0]?.delta?.reasoning_content).filter(Boolean).join('');
    expect(reasoning).toBe('Two files to read.');
    const content = lines.map((c) => c.choices[0]?.delta?.content).filter(Boolean).join('');
    expect(content).toBe('Reading both.');
    expect(lines.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
  });

  it('case 53: one id and created for every chunk; object chat.completion.chunk; last line [DONE]', () => {
    const all = openaiLines(runAnthropicUpstream(FULL, octx(true)));
    expect(all.at(-1)).toBe('[DONE]');
    const chunks = chunksOf(all);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]!.id).toMatch(/^chatcmpl-/);
    expect(new Set(chunks.map((c) => c.created)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-4o')).toBe(true);
    expect(chunks[0]!.choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(all.filter((l) => l === '[DONE]')).toHaveLength(1);
  });

  it('case 54: include_usage → penultimate chunk has choices:[] and mapped usage; without it no usage chunk', () => {
    const withUsage = openaiLines(runAnthropicUpstream(FULL, octx(true)));
    const pen = withUsage.at(-2) as Record<string, any>;
    expect(pen.choices).toEqual([]);
    expect(pen.usage).toMatchObject({ prompt_tokens: 1210, completion_tokens: 87, total_tokens: 1297, prompt_tokens_details: { cached_tokens: 1024 } });
    const without = chunksOf(openaiLines(runAnthropicUpstream(FULL, octx(false))));
    expect(without.some((c) => c.usage)).toBe(false);
    expect(without.every((c) => c.choices.length === 1)).toBe(true);
  });

  it('case 55: event: error mid-stream → data:{"error":{message,type}} and the stream ends (no [DONE])', async () => {
    const text = runAnthropicUpstream([
      msgStart(),
      start(0, { type: 'text', text: '' }),
      delta(0, { type: 'text_delta', text: 'partial' }),
      { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      delta(0, { type: 'text_delta', text: 'never' }),
      MSG_STOP,
    ], octx(true));
    const lines = openaiLines(text);
    const last = lines.at(-1) as Record<string, any>;
    expect(last.error).toMatchObject({ message: 'Overloaded', type: 'server_error' });
    expect(lines).not.toContain('[DONE]');
    expect(text).not.toContain('never');
    await expect(openaiSdkFinalCompletion(text)).rejects.toThrow(/Overloaded/);
  });
});

describe('stream: Anthropic upstream → OpenAI client, endings and details', () => {
  it('the official OpenAI SDK accumulates the converted stream into the right completion', async () => {
    const completion = await openaiSdkFinalCompletion(runAnthropicUpstream(FULL, octx(true)));
    const msg = completion.choices[0]!.message;
    expect(msg.content).toBe('Reading both.');
    expect(msg.tool_calls!.map((t) => t.type === 'function' && [t.id, t.function.name, JSON.parse(t.function.arguments)])).toEqual([
      ['toolu_A', 'Read', { file_path: '/a.ts' }],
      ['toolu_B', 'Read', { file_path: '/b.ts' }],
    ]);
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
    expect(completion.usage).toMatchObject({ prompt_tokens: 1210, completion_tokens: 87 });
    // (the SDK overwrites unknown delta fields such as reasoning_content instead of appending; case 52 checks them raw)
  });

  it('upstream EOF before message_stop (and before message_delta) → error line, no [DONE]', () => {
    const t = conv.stream(octx());
    const lines = openaiLines(translate(t, anthropicSse([msgStart(), start(0, { type: 'text', text: '' }), delta(0, { type: 'text_delta', text: 'x' })])));
    expect((lines.at(-1) as any).error.message).toBe('upstream stream ended before completion');
    expect(lines).not.toContain('[DONE]');
    expect(t.state!()).toMatchObject({ started: true, done: false, error: { status: 502 } });
  });

  it('message_delta seen but message_stop lost → still a complete answer', () => {
    const lines = openaiLines(runAnthropicUpstream([msgStart(), start(0, { type: 'text', text: '' }), delta(0, { type: 'text_delta', text: 'x' }), stop(0), msgDelta('end_turn')]));
    expect(lines.at(-1)).toBe('[DONE]');
  });

  it('tool_use with no input_json_delta → arguments "{}" (or the input given at block start)', () => {
    const lines = chunksOf(openaiLines(runAnthropicUpstream([
      msgStart(),
      start(0, { type: 'tool_use', id: 't1', name: 'Now', input: {} }),
      stop(0),
      start(1, { type: 'tool_use', id: 't2', name: 'Go', input: { a: 1 } }),
      stop(1),
      msgDelta('tool_use'),
      MSG_STOP,
    ])));
    const frags = lines.flatMap((c) => (c.choices[0]?.delta?.tool_calls ?? []) as any[]);
    const args = (i: number) => frags.filter((f) => f.index === i).map((f) => f.function.arguments).join('');
    expect(args(0)).toBe('{}');
    expect(JSON.parse(args(1))).toEqual({ a: 1 });
  });

  it('stop reasons map per §2.3 (max_tokens → length)', () => {
    const lines = chunksOf(openaiLines(runAnthropicUpstream([msgStart(), start(0, { type: 'text', text: '' }), delta(0, { type: 'text_delta', text: 'x' }), stop(0), msgDelta('max_tokens'), MSG_STOP])));
    expect(lines.at(-1)!.choices[0].finish_reason).toBe('length');
    expect(lines.filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
  });

  it('first event an error → nothing started; keepAlive is a comment only while streaming', () => {
    const t = conv.stream(octx());
    expect(t.keepAlive()).toBe('');
    const out = translate(t, 'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"slow"}}\n\n', { eof: false });
    expect(JSON.parse(out.slice(6))).toMatchObject({ error: { message: 'slow', type: 'rate_limit_error' } });
    expect(t.state!()).toMatchObject({ started: false, error: { status: 429 } });
    const t2 = conv.stream(octx());
    translate(t2, anthropicSse([msgStart()]), { eof: false });
    expect(t2.keepAlive()).toBe(': ping\n\n');
  });

  it('usage() follows message_start and message_delta', () => {
    const t = conv.stream(octx());
    translate(t, anthropicSse(FULL));
    expect(t.usage()).toEqual({ inputTokens: 176, outputTokens: 87, cacheReadTokens: 1024, cacheCreationTokens: 10 });
  });

  it('streams without event: lines (data-only clones) are read by data.type', () => {
    const text = FULL.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('');
    const lines = openaiLines(translate(conv.stream(octx()), text));
    expect(lines.at(-1)).toBe('[DONE]');
    expect(chunksOf(lines).map((c) => c.choices[0]?.delta?.content).filter(Boolean).join('')).toBe('Reading both.');
  });
});
