import { describe, it, expect } from 'vitest';
import { getConverter } from '../../../src/protocol/convert/index.js';
import type { ProviderOptions } from '../../../src/protocol/convert/types.js';

const conv = getConverter('openai', 'anthropic')!;

function convert(body: Record<string, unknown>, options: ProviderOptions = {}, upstreamModel = 'claude-sonnet-4-5') {
  return conv.request({ model: 'gpt-4o', ...body }, upstreamModel, options);
}
const msgsOf = (b: Record<string, unknown>) => b.messages as Array<{ role: string; content: any[] }>;

describe('request: OpenAI client → Anthropic provider (§8 cases 19–28)', () => {
  it('case 19: system and developer messages → top-level system in order; none left in messages', () => {
    const { body } = convert({ messages: [{ role: 'system', content: 'S1' }, { role: 'developer', content: [{ type: 'text', text: 'S2' }] }, { role: 'user', content: 'u' }] });
    expect(typeof body.system).toBe('string');
    const sys = body.system as string;
    expect(sys.indexOf('S1')).toBeGreaterThanOrEqual(0);
    expect(sys.indexOf('S1')).toBeLessThan(sys.indexOf('S2'));
    expect(msgsOf(body).every((m) => m.role === 'user' || m.role === 'assistant')).toBe(true);
    expect(msgsOf(body)).toEqual([{ role: 'user', content: [{ type: 'text', text: 'u' }] }]);
    expect(body.model).toBe('claude-sonnet-4-5');
  });

  it('case 20: tool_calls → tool_use with parsed input; arguments "" → {}', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
            { id: 'call_2', type: 'function', function: { name: 'g', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'r1' },
        { role: 'tool', tool_call_id: 'call_2', content: 'r2' },
      ],
    });
    expect(msgsOf(body)[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } },
        { type: 'tool_use', id: 'call_2', name: 'g', input: {} },
      ],
    });
  });

  it('case 21: consecutive tool messages then user text → one user message, tool_results first', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }, { id: 'call_2', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'r1' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'r2' }] },
        { role: 'user', content: 'next' },
      ],
    });
    const m = msgsOf(body);
    expect(m).toHaveLength(3);
    expect(m[2]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'call_1', content: 'r1' },
        { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: 'r2' }] },
        { type: 'text', text: 'next' },
      ],
    });
  });

  it('case 22: max_tokens default when absent; max_completion_tokens wins; cap applies', () => {
    const a = convert({ messages: [{ role: 'user', content: 'hi' }] }).body;
    expect(Number.isInteger(a.max_tokens)).toBe(true);
    expect(a.max_tokens as number).toBeGreaterThan(0);
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 500, max_tokens: 900 }).body.max_tokens).toBe(500);
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 900 }).body.max_tokens).toBe(900);
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 90000 }, { maxTokensCap: 8192 }).body.max_tokens).toBe(8192);
  });

  it('case 23: stop string → stop_sequences; whitespace-only entries dropped', () => {
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], stop: 'END' }).body.stop_sequences).toEqual(['END']);
    const b = convert({ messages: [{ role: 'user', content: 'hi' }], stop: ['\n', ' ', 'STOP', ''] }).body;
    expect(b.stop_sequences).toEqual(['STOP']);
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], stop: ['\n'] }).body).not.toHaveProperty('stop_sequences');
  });

  it('case 24: tool_choice required + parallel_tool_calls false → any + disable_parallel_tool_use; no tools → no tool_choice', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }];
    const b = convert({ messages: [{ role: 'user', content: 'hi' }], tools, tool_choice: 'required', parallel_tool_calls: false }).body;
    expect(b.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], tools, tool_choice: 'auto' }).body.tool_choice).toEqual({ type: 'auto' });
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], tools, tool_choice: 'none' }).body.tool_choice).toEqual({ type: 'none' });
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], tools, tool_choice: { type: 'function', function: { name: 'f' } } }).body.tool_choice).toEqual({ type: 'tool', name: 'f' });
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], tools, parallel_tool_calls: false }).body.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    const noTools = convert({ messages: [{ role: 'user', content: 'hi' }], tool_choice: 'required' }).body;
    expect(noTools).not.toHaveProperty('tool_choice');
    expect(noTools).not.toHaveProperty('tools');
    expect(b.tools).toEqual([{ name: 'f', input_schema: { type: 'object', properties: {} } }]);
  });

  it('case 25: reasoning_effort high → thinking with budget ≥ 1024 and < max_tokens; no temperature/top_k', () => {
    const b = convert({ messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'high', temperature: 0.5, max_tokens: 4000 }).body;
    const t = b.thinking as { type: string; budget_tokens: number };
    expect(t.type).toBe('enabled');
    expect(t.budget_tokens).toBeGreaterThanOrEqual(1024);
    expect(t.budget_tokens).toBeLessThan(b.max_tokens as number);
    expect(b).not.toHaveProperty('temperature');
    expect(b).not.toHaveProperty('top_k');
    expect(b).not.toHaveProperty('top_p');
    // adaptive for Claude ≥ 4.6
    const a = convert({ messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'medium', temperature: 0.5 }, {}, 'claude-opus-4-6').body;
    expect(a.thinking).toEqual({ type: 'adaptive' });
    expect(a.output_config).toEqual({ effort: 'medium' });
    expect(a).not.toHaveProperty('temperature');
    // capped max_tokens still leaves room
    const c = convert({ messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'high' }, { maxTokensCap: 4096 }).body;
    expect((c.thinking as any).budget_tokens).toBeLessThan(c.max_tokens as number);
    expect(c.max_tokens).toBeLessThanOrEqual(4096);
    // minimal / none / provider without reasoning / forced tool → no thinking
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'minimal' }).body).not.toHaveProperty('thinking');
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'high' }, { reasoning: false }).body).not.toHaveProperty('thinking');
    const forced = convert({
      messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'high', tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'f' } }],
    }).body;
    expect(forced).not.toHaveProperty('thinking');
  });

  it('case 26: data URL image → base64 image; https URL → url image', () => {
    const b = convert({
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'see' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,QQ==' } },
          { type: 'image_url', image_url: { url: 'https://x.test/x.png', detail: 'high' } },
        ],
      }],
    }).body;
    expect(msgsOf(b)[0]!.content).toEqual([
      { type: 'text', text: 'see' },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'QQ==' } },
      { type: 'image', source: { type: 'url', url: 'https://x.test/x.png' } },
    ]);
  });

  it('case 27: temperature 1.7 → ≤ 1; never together with top_p', () => {
    const b = convert({ messages: [{ role: 'user', content: 'hi' }], temperature: 1.7, top_p: 0.5 }).body;
    expect(b.temperature).toBeLessThanOrEqual(1);
    expect(b).not.toHaveProperty('top_p');
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], top_p: 0.5 }).body.top_p).toBe(0.5);
  });

  it('case 28: assistant content "" + tool_calls → no empty text block', () => {
    const b = convert({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
      ],
    }).body;
    const asst = msgsOf(b)[1]!;
    expect(asst.content.some((x: any) => x.type === 'text')).toBe(false);
    expect(JSON.stringify(b)).not.toMatch(/"text":"\s*"/);
  });
});

describe('request: OpenAI → Anthropic, further rules', () => {
  it('file PDF → document; user/safety_identifier → hashed metadata.user_id; dropped extras', () => {
    const b = convert({
      messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }] }],
      user: 'someone@example.com', n: 2, logprobs: true, seed: 1, presence_penalty: 1, frequency_penalty: 1, logit_bias: {},
      stream: true, stream_options: { include_usage: true },
    });
    expect(msgsOf(b.body)[0]!.content).toEqual([{ type: 'document', title: 'a.pdf', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }]);
    const uid = (b.body.metadata as { user_id: string }).user_id;
    expect(uid).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(uid).not.toContain('@');
    for (const k of ['n', 'logprobs', 'seed', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'stream_options', 'user']) expect(b.body).not.toHaveProperty(k);
    expect(b.body.stream).toBe(true);
    expect(b.ctx.includeUsage).toBe(true);
    expect(b.ctx.stream).toBe(true);
    expect(convert({ messages: [{ role: 'user', content: 'x' }], stream: true }).ctx.includeUsage).toBe(false);
  });

  it('first message assistant → a user turn is put before it; trailing whitespace of a final assistant turn trimmed', () => {
    const b = convert({ messages: [{ role: 'assistant', content: 'Hello  ' }] }).body;
    expect(msgsOf(b)[0]!.role).toBe('user');
    expect(msgsOf(b)[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Hello' }] });
  });

  it('consecutive same-role messages merge; invalid tool ids sanitised consistently', () => {
    const b = convert({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'functions.Bash:0', type: 'function', function: { name: 'Bash', arguments: '{"c":"ls"}' } }] },
        { role: 'tool', tool_call_id: 'functions.Bash:0', content: 'out' },
      ],
    }).body;
    const m = msgsOf(b);
    expect(m[0]!.content).toEqual([{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }]);
    const id = m[1]!.content[0].id;
    expect(id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(m[2]!.content[0].tool_use_id).toBe(id);
  });

  it('tools without parameters get an object schema; parameters without type get type object', () => {
    const b = convert({
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'a' } }, { type: 'function', function: { name: 'b', description: 'd', parameters: { properties: { x: {} } } } }],
    }).body;
    expect(b.tools).toEqual([
      { name: 'a', input_schema: { type: 'object', properties: {} } },
      { name: 'b', description: 'd', input_schema: { type: 'object', properties: { x: {} } } },
    ]);
  });

  it('never mutates the client body', () => {
    const input = {
      model: 'gpt-4o', temperature: 1.5, reasoning_effort: 'high',
      messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA' } }] }],
      tools: [{ type: 'function', function: { name: 'b', parameters: { properties: {} } } }],
    };
    const snapshot = structuredClone(input);
    conv.request(input, 'claude-sonnet-4-5', {});
    expect(input).toEqual(snapshot);
  });
});
