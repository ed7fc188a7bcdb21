import { describe, it, expect } from 'vitest';
import { getConverter } from '../../../src/protocol/convert/index.js';
import { ctxOf } from './helpers.js';

const a2o = getConverter('anthropic', 'openai')!; // Anthropic client, OpenAI upstream
const o2a = getConverter('openai', 'anthropic')!; // OpenAI client, Anthropic upstream

function completion(message: Record<string, unknown>, finish: string | null, usage?: Record<string, unknown>) {
  return {
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish, logprobs: null }],
    ...(usage ? { usage } : {}),
  };
}

describe('non-streamed response: OpenAI upstream → Anthropic client (§8 cases 29–35)', () => {
  it('case 29: text + two tool calls → text block then tool_use blocks; tool_use stop; msg_ id', () => {
    const res = a2o.response(completion({
      content: 'hi',
      tool_calls: [
        { id: 'call_A', type: 'function', function: { name: 'Read', arguments: '{"file_path":"/a.ts"}' } },
        { id: 'call_B', type: 'function', function: { name: 'Grep', arguments: '{"pattern":"x"}' } },
      ],
    }, 'tool_calls'), ctxOf());
    expect(res.type).toBe('message');
    expect(res.role).toBe('assistant');
    expect(res.id).toMatch(/^msg_[A-Za-z0-9]+$/);
    expect(res.model).toBe('claude-sonnet-4-5');
    expect(res.content).toEqual([
      { type: 'text', text: 'hi' },
      { type: 'tool_use', id: 'call_A', name: 'Read', input: { file_path: '/a.ts' } },
      { type: 'tool_use', id: 'call_B', name: 'Grep', input: { pattern: 'x' } },
    ]);
    expect(res.stop_reason).toBe('tool_use');
    expect(res.stop_sequence).toBeNull();
  });

  it.each([
    ['stop', 'end_turn'], ['length', 'max_tokens'], ['content_filter', 'refusal'], [null, 'end_turn'], ['weird', 'end_turn'],
  ])('case 30: finish_reason %s → stop_reason %s', (finish, stop) => {
    expect(a2o.response(completion({ content: 'x' }, finish), ctxOf()).stop_reason).toBe(stop);
  });

  it('case 30b: finish_reason tool_calls without any tool call → end_turn (never promise missing tools)', () => {
    expect(a2o.response(completion({ content: 'x' }, 'tool_calls'), ctxOf()).stop_reason).toBe('end_turn');
  });

  it('case 31: finish_reason stop with tool_calls → tool_use', () => {
    const res = a2o.response(completion({ content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, 'stop'), ctxOf());
    expect(res.stop_reason).toBe('tool_use');
  });

  it('case 31b: finish_reason length with a tool call (cut off by the token limit) → max_tokens, never tool_use', () => {
    const res = a2o.response(completion({ content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'Write', arguments: '{"file_path":"/a.ts","content":"par' } }] }, 'length'), ctxOf());
    expect(res.stop_reason).toBe('max_tokens');
  });

  it('case 32: usage with cached tokens → uncached input + cache_read', () => {
    const res = a2o.response(completion({ content: 'x' }, 'stop', { prompt_tokens: 1200, completion_tokens: 87, total_tokens: 1287, prompt_tokens_details: { cached_tokens: 1024 } }), ctxOf());
    expect(res.usage).toEqual({ input_tokens: 176, cache_read_input_tokens: 1024, output_tokens: 87, cache_creation_input_tokens: 0 });
  });

  it('case 32b: DeepSeek prompt_cache_hit_tokens counts as cache read', () => {
    const res = a2o.response(completion({ content: 'x' }, 'stop', { prompt_tokens: 1000, completion_tokens: 5, prompt_cache_hit_tokens: 600, prompt_cache_miss_tokens: 400 }), ctxOf());
    expect(res.usage).toMatchObject({ input_tokens: 400, cache_read_input_tokens: 600, output_tokens: 5 });
  });

  it('case 33: usage absent → integer input/output tokens anyway', () => {
    const res = a2o.response(completion({ content: 'some words here' }, 'stop'), ctxOf({ estimatedInputTokens: 321 }));
    const u = res.usage as Record<string, unknown>;
    for (const k of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens']) expect(Number.isInteger(u[k])).toBe(true);
    expect(u.input_tokens).toBe(321);
    expect(u.output_tokens as number).toBeGreaterThan(0);
  });

  it.each(['reasoning_content', 'reasoning'])('case 34: message.%s → first block thinking', (field) => {
    const res = a2o.response(completion({ content: 'answer', [field]: 'r' }, 'stop'), ctxOf());
    const content = res.content as any[];
    expect(content[0]).toMatchObject({ type: 'thinking', thinking: 'r' });
    expect(typeof content[0].signature).toBe('string');
    expect(content[1]).toEqual({ type: 'text', text: 'answer' });
  });

  it('case 35: tool call id functions.Bash:0 → valid Anthropic id; missing id → generated; unparsable args → {}', () => {
    const res = a2o.response(completion({
      content: null,
      tool_calls: [
        { id: 'functions.Bash:0', type: 'function', function: { name: 'Bash', arguments: '{"command":"ls"}' } },
        { type: 'function', function: { name: 'Bash', arguments: '{broken' } },
        { id: 'x', type: 'function', function: { name: 'Obj', arguments: { already: 'object' } } },
      ],
    }, 'tool_calls'), ctxOf());
    const blocks = res.content as any[];
    for (const b of blocks) expect(b.id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(new Set(blocks.map((b) => b.id)).size).toBe(3);
    expect(blocks[0].input).toEqual({ command: 'ls' });
    expect(blocks[1].input).toEqual({});
    expect(blocks[2].input).toEqual({ already: 'object' });
  });

  it('empty content stays an array; whitespace-only text is not emitted; refusal becomes text', () => {
    expect(a2o.response(completion({ content: '' }, 'stop'), ctxOf()).content).toEqual([]);
    expect(a2o.response(completion({ content: '\n\n' }, 'stop'), ctxOf()).content).toEqual([]);
    expect(a2o.response(completion({ content: null, refusal: 'no' }, 'content_filter'), ctxOf()).content).toEqual([{ type: 'text', text: 'no' }]);
    expect(a2o.response({}, ctxOf()).content).toEqual([]);
  });
});

describe('non-streamed response: Anthropic upstream → OpenAI client (§8 cases 36–38)', () => {
  const ctx = ctxOf({ clientModel: 'gpt-4o', upstreamModel: 'claude-sonnet-4-5' });

  it('case 36: [thinking, text, tool_use] → chat.completion with content, tool_call, reasoning_content', () => {
    const res = o2a.response({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5',
      content: [
        { type: 'thinking', thinking: 'let me see', signature: 's' },
        { type: 'text', text: 'Reading.' },
        { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: '/a' } },
      ],
      stop_reason: 'tool_use', stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 5 },
    }, ctx);
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('gpt-4o');
    expect(Number.isInteger(res.created)).toBe(true);
    const choice = (res.choices as any[])[0];
    expect(choice.index).toBe(0);
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.content).toBe('Reading.');
    expect(choice.message.reasoning_content).toBe('let me see');
    expect(choice.message.tool_calls).toHaveLength(1);
    expect(choice.message.tool_calls[0]).toMatchObject({ id: 'toolu_1', type: 'function', function: { name: 'Read' } });
    expect(JSON.parse(choice.message.tool_calls[0].function.arguments)).toEqual({ file_path: '/a' });
  });

  it.each([
    ['end_turn', 'stop'], ['max_tokens', 'length'], ['stop_sequence', 'stop'], ['refusal', 'content_filter'],
    ['tool_use', 'tool_calls'], ['pause_turn', 'stop'], ['model_context_window_exceeded', 'length'], [null, 'stop'],
  ])('case 37: stop_reason %s → finish_reason %s', (stop, finish) => {
    const res = o2a.response({ content: [{ type: 'text', text: 'x' }], stop_reason: stop, usage: {} }, ctx);
    expect((res.choices as any[])[0].finish_reason).toBe(finish);
  });

  it('case 38: usage mapping (prompt includes cache reads and writes)', () => {
    const res = o2a.response({
      content: [{ type: 'text', text: 'x' }], stop_reason: 'end_turn',
      usage: { input_tokens: 176, cache_read_input_tokens: 1024, cache_creation_input_tokens: 10, output_tokens: 87 },
    }, ctx);
    expect(res.usage).toMatchObject({ prompt_tokens: 1210, completion_tokens: 87, total_tokens: 1297, prompt_tokens_details: { cached_tokens: 1024 } });
  });

  it('text-less answer → content null; several text blocks joined', () => {
    const none = o2a.response({ content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }], stop_reason: 'tool_use', usage: {} }, ctx);
    expect((none.choices as any[])[0].message.content).toBeNull();
    const two = o2a.response({ content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], stop_reason: 'end_turn', usage: {} }, ctx);
    expect((two.choices as any[])[0].message.content).toBe('ab');
  });
});
