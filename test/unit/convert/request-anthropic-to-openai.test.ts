import { describe, it, expect } from 'vitest';
import { getConverter } from '../../../src/protocol/convert/index.js';
import type { ProviderOptions } from '../../../src/protocol/convert/types.js';

const conv = getConverter('anthropic', 'openai')!;

function convert(body: Record<string, unknown>, options: ProviderOptions = {}) {
  return conv.request({ model: 'claude-sonnet-4-5', max_tokens: 1024, ...body }, 'gpt-4o', options);
}
const msgsOf = (b: Record<string, unknown>) => b.messages as Array<Record<string, any>>;
/** Every key anywhere in a JSON value. */
function keysDeep(v: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keysDeep(x, into);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { into.add(k); keysDeep(x, into); }
  return into;
}

describe('request: Anthropic client → OpenAI provider (§8 cases 1–18)', () => {
  it('case 1: system string → leading system message, no top-level system', () => {
    const { body } = convert({ system: 'S', messages: [{ role: 'user', content: 'hi' }] });
    expect(msgsOf(body)[0]).toEqual({ role: 'system', content: 'S' });
    expect(body).not.toHaveProperty('system');
    expect(body.model).toBe('gpt-4o');
  });

  it('case 2: system blocks joined in order into one string; no cache_control anywhere', () => {
    const { body } = convert({
      system: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'b' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral', ttl: '1h' } }] }],
      tools: [{ name: 'T', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } }],
      cache_control: { type: 'ephemeral' },
    });
    const sys = msgsOf(body).filter((m) => m.role === 'system');
    expect(sys).toHaveLength(1);
    expect(typeof sys[0]!.content).toBe('string');
    expect(sys[0]!.content.indexOf('a')).toBeLessThan(sys[0]!.content.indexOf('b'));
    expect(keysDeep(body).has('cache_control')).toBe(false);
  });

  it('case 3: mid-conversation role:"system" merged into the single leading system message', () => {
    const { body } = convert({
      system: 'first',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'system', content: 'late' },
        { role: 'assistant', content: 'ok' },
        { role: 'system', content: [{ type: 'text', text: 'later' }] },
        { role: 'user', content: 'go' },
      ],
    });
    const m = msgsOf(body);
    expect(m.filter((x) => x.role === 'system')).toHaveLength(1);
    expect(m[0]!.role).toBe('system');
    expect(m[0]!.content).toContain('late');
    expect(m[0]!.content).toContain('later');
    expect(m[0]!.content.indexOf('first')).toBeLessThan(m[0]!.content.indexOf('late'));
    expect(m.slice(1).map((x) => x.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('case 3b: role:"system" alone (no top-level system) still lands at index 0', () => {
    const { body } = convert({ messages: [{ role: 'user', content: 'hi' }, { role: 'system', content: 'late' }] });
    expect(msgsOf(body)[0]).toEqual({ role: 'system', content: 'late' });
  });

  it('case 4: base64 image → data URL image_url; url image → same url', () => {
    const { body } = convert({
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA' } },
          { type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } },
          { type: 'image', source: { type: 'file', file_id: 'file_1' } },
        ],
      }],
    });
    const content = msgsOf(body)[0]!.content as any[];
    expect(content).toEqual([
      { type: 'text', text: 'look' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } },
      { type: 'image_url', image_url: { url: 'https://x.test/a.png' } },
    ]);
  });

  it('case 5: assistant text + two tool_use → one message, content "t", tool_calls in order', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'read' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 't' },
            { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { p: 1 } },
            { type: 'tool_use', id: 'toolu_2', name: 'Read', input: { p: 2, deep: { a: [1, 'x'] } } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'r1' }, { type: 'tool_result', tool_use_id: 'toolu_2', content: 'r2' }] },
      ],
    });
    const asst = msgsOf(body).filter((m) => m.role === 'assistant');
    expect(asst).toHaveLength(1);
    expect(asst[0]!.content).toBe('t');
    const calls = asst[0]!.tool_calls as any[];
    expect(calls.map((c) => c.id)).toEqual(['toolu_1', 'toolu_2']);
    expect(calls.every((c) => c.type === 'function' && c.function.name === 'Read')).toBe(true);
    expect(JSON.parse(calls[0].function.arguments)).toEqual({ p: 1 });
    expect(JSON.parse(calls[1].function.arguments)).toEqual({ p: 2, deep: { a: [1, 'x'] } });
  });

  it('case 6: assistant with only tool_use → content null (never "")', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'text', text: '' }, { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] },
      ],
    });
    const asst = msgsOf(body).find((m) => m.role === 'assistant')!;
    expect(asst.content).toBeNull();
    expect(asst.tool_calls[0].function.arguments).toBe('{}');
  });

  it('case 7: tool messages first, whatever the block order; array content joined', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'A', input: {} }, { type: 'tool_use', id: 'toolu_2', name: 'B', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x' },
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'r1' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'r2' }] },
          ],
        },
      ],
    });
    const tail = msgsOf(body).slice(-3);
    expect(tail).toEqual([
      { role: 'tool', tool_call_id: 'toolu_1', content: 'r1' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'r2' },
      { role: 'user', content: 'x' },
    ]);
  });

  it('case 8: is_error tool_result → tool message with the error text', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { c: 'x' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', is_error: true, content: 'command not found' }] },
      ],
    });
    const tool = msgsOf(body).find((m) => m.role === 'tool')!;
    expect(tool.tool_call_id).toBe('toolu_1');
    expect(tool.content).toContain('command not found');
    expect(tool.content).toMatch(/^Error/);
  });

  it('case 9: image inside a tool_result → text stays in the tool message, image in a user message after', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'shot' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Screenshot', input: {} }] },
        {
          role: 'user',
          content: [{
            type: 'tool_result',
            tool_use_id: 'toolu_1',
            content: [{ type: 'text', text: 'here' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'QUJD' } }],
          }],
        },
      ],
    });
    const m = msgsOf(body);
    const ti = m.findIndex((x) => x.role === 'tool');
    expect(m[ti]).toEqual({ role: 'tool', tool_call_id: 'toolu_1', content: 'here' });
    const after = m.slice(ti + 1);
    expect(after).toHaveLength(1);
    expect(after[0]!.role).toBe('user');
    expect(after[0]!.content).toEqual([{ type: 'image_url', image_url: { url: 'data:image/png;base64,QUJD' } }]);
  });

  it('case 10: thinking / redacted_thinking never reach a generic OpenAI provider', () => {
    const { body } = convert({
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 'sig' },
            { type: 'redacted_thinking', data: 'xxx' },
            { type: 'text', text: 'answer' },
          ],
        },
        { role: 'user', content: 'more' },
      ],
    });
    const keys = keysDeep(body);
    for (const k of ['thinking', 'redacted_thinking', 'signature', 'reasoning_content']) expect(keys.has(k)).toBe(false);
    expect(JSON.stringify(body)).not.toContain('hmm');
    expect(msgsOf(body)[1]).toEqual({ role: 'assistant', content: 'answer' });
  });

  it('case 10b: options.reasoningContent replays thinking as reasoning_content (DeepSeek)', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'tool_use', id: 't1', name: 'A', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'r' }] },
      ],
    }, { reasoningContent: true });
    expect(msgsOf(body)[1]).toMatchObject({ role: 'assistant', content: null, reasoning_content: 'hmm' });
  });

  it('case 11: tools → function tools with parameters = input_schema; extras and server tools dropped', () => {
    const schema = { type: 'object', properties: { p: { type: 'string' } }, required: ['p'] };
    const { body } = convert({
      messages: [{ role: 'user', content: 'hi' }],
      tools: [
        { name: 'Read', description: 'reads', input_schema: schema, cache_control: { type: 'ephemeral' }, strict: true, defer_loading: true, input_examples: [], eager_input_streaming: true },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
        { type: 'bash_20250124', name: 'bash' },
      ],
    });
    expect(body.tools).toEqual([{ type: 'function', function: { name: 'Read', description: 'reads', parameters: schema } }]);
  });

  it('case 12: tool_choice mapping and disable_parallel_tool_use', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const base = { messages: [{ role: 'user', content: 'hi' }], tools };
    expect(convert({ ...base, tool_choice: { type: 'any' } }).body.tool_choice).toBe('required');
    expect(convert({ ...base, tool_choice: { type: 'auto' } }).body.tool_choice).toBe('auto');
    expect(convert({ ...base, tool_choice: { type: 'tool', name: 'f' } }).body.tool_choice).toEqual({ type: 'function', function: { name: 'f' } });
    expect(convert({ ...base, tool_choice: { type: 'none' } }).body.tool_choice).toBe('none');
    const p = convert({ ...base, tool_choice: { type: 'auto', disable_parallel_tool_use: true } }).body;
    expect(p.parallel_tool_calls).toBe(false);
    expect(convert({ ...base, tool_choice: { type: 'auto' } }).body).not.toHaveProperty('parallel_tool_calls');
    // a named tool that was dropped (server tool) → auto, never a dangling name
    const srv = convert({ ...base, tools: [...tools, { type: 'web_search_20250305', name: 'web_search' }], tool_choice: { type: 'tool', name: 'web_search' } }).body;
    expect(srv.tool_choice).toBe('auto');
    // no tools → no tool_choice
    const none = convert({ messages: [{ role: 'user', content: 'hi' }], tool_choice: { type: 'any' } }).body;
    expect(none).not.toHaveProperty('tool_choice');
    expect(none).not.toHaveProperty('tools');
  });

  it('case 13: an 80-char tool name is shortened to ≤ 64 and restored in the response', () => {
    const long = 'mcp__some_really_long_server_name__and_an_even_longer_tool_name_that_goes_on_x80';
    expect(long.length).toBe(80);
    const { body, ctx } = convert({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_9', name: long, input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'ok' }] },
      ],
      tools: [{ name: long, input_schema: { type: 'object' } }, { name: 'short', input_schema: { type: 'object' } }],
      tool_choice: { type: 'tool', name: long },
    });
    const upName = (body.tools as any[])[0].function.name as string;
    expect(upName.length).toBeLessThanOrEqual(64);
    expect(upName).not.toBe(long);
    expect((body.tools as any[])[1].function.name).toBe('short');
    expect((body.tool_choice as any).function.name).toBe(upName);
    expect(msgsOf(body)[1]!.tool_calls[0].function.name).toBe(upName); // history uses the same short name
    const res = conv.response({
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: upName, arguments: '{}' } }] }, finish_reason: 'tool_calls' }],
    }, ctx);
    expect((res.content as any[])[0]).toMatchObject({ type: 'tool_use', name: long });
  });

  it('case 14: 6 stop_sequences → ≤ 4 stop; top_k dropped; temperature kept', () => {
    const { body } = convert({ messages: [{ role: 'user', content: 'hi' }], stop_sequences: ['a', 'b', 'c', 'd', 'e', 'f'], top_k: 5, temperature: 0.3, top_p: 0.9 });
    expect(body.stop).toEqual(['a', 'b', 'c', 'd']);
    expect(body).not.toHaveProperty('top_k');
    expect(body.temperature).toBe(0.3);
    expect(body.top_p).toBe(0.9);
  });

  it('case 15: stream_options only when streaming (and the provider allows it)', () => {
    const s = convert({ messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(s.body.stream).toBe(true);
    expect(s.body.stream_options).toEqual({ include_usage: true });
    expect(s.ctx.stream).toBe(true);
    const n = convert({ messages: [{ role: 'user', content: 'hi' }], stream: false });
    expect(n.body).not.toHaveProperty('stream_options');
    expect(n.ctx.stream).toBe(false);
    const off = convert({ messages: [{ role: 'user', content: 'hi' }], stream: true }, { streamOptions: false });
    expect(off.body.stream).toBe(true);
    expect(off.body).not.toHaveProperty('stream_options');
  });

  it('case 16: a 150-char metadata.user_id → user ≤ 64 chars (stable hash)', () => {
    const uid = `user_${'a'.repeat(64)}_account_${'b'.repeat(36)}_session_${'c'.repeat(27)}`;
    expect(uid.length).toBeGreaterThanOrEqual(150);
    const a = convert({ messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: uid } }).body;
    const b = convert({ messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: uid } }).body;
    expect(typeof a.user).toBe('string');
    expect((a.user as string).length).toBeLessThanOrEqual(64);
    expect(a.user).toBe(b.user);
    expect(a).not.toHaveProperty('metadata');
    expect(a).not.toHaveProperty('safety_identifier');
  });

  it('case 17: thinking enabled 32000 → reasoning_effort high, no thinking key; absent → none', () => {
    const on = convert({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled', budget_tokens: 32000 } }).body;
    expect(on).not.toHaveProperty('thinking');
    expect(on.reasoning_effort).toBe('high');
    expect(convert({ messages: [{ role: 'user', content: 'hi' }] }).body).not.toHaveProperty('reasoning_effort');
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled', budget_tokens: 1024 } }).body.reasoning_effort).toBe('low');
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled', budget_tokens: 8000 } }).body.reasoning_effort).toBe('medium');
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'disabled' } }).body).not.toHaveProperty('reasoning_effort');
    // adaptive: the effort asked for (xhigh/max clamp to high); none asked → provider default
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'adaptive' }, output_config: { effort: 'max' } }).body.reasoning_effort).toBe('high');
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'adaptive' }, output_config: { effort: 'low' } }).body.reasoning_effort).toBe('low');
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'adaptive' } }).body).not.toHaveProperty('reasoning_effort');
    // provider without reasoning
    expect(convert({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled', budget_tokens: 32000 } }, { reasoning: false }).body).not.toHaveProperty('reasoning_effort');
  });

  it('case 18: empty / whitespace text blocks dropped; messages left empty dropped', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: [{ type: 'text', text: '' }, { type: 'text', text: 'real' }, { type: 'text', text: '  \n' }] },
        { role: 'assistant', content: [{ type: 'text', text: '' }] },
        { role: 'user', content: [{ type: 'text', text: '' }] },
        { role: 'user', content: '' },
        { role: 'user', content: 'end' },
      ],
    });
    expect(msgsOf(body)).toEqual([{ role: 'user', content: 'real' }, { role: 'user', content: 'end' }]);
    expect(JSON.stringify(body)).not.toContain('"text":""');
  });
});

describe('request: Anthropic → OpenAI, further rules', () => {
  it('max_tokens vs max_completion_tokens and maxTokensCap', () => {
    const m = [{ role: 'user', content: 'hi' }];
    expect(convert({ messages: m, max_tokens: 32000 }).body.max_tokens).toBe(32000);
    const o = convert({ messages: m, max_tokens: 32000 }, { maxTokensField: 'max_completion_tokens', maxTokensCap: 8192 }).body;
    expect(o.max_completion_tokens).toBe(8192);
    expect(o).not.toHaveProperty('max_tokens');
    expect(convert({ messages: m, max_tokens: 100 }, { maxTokensCap: 8192 }).body.max_tokens).toBe(100);
  });

  it('drops fields OpenAI does not know', () => {
    const { body } = convert({
      messages: [{ role: 'user', content: 'hi' }],
      context_management: { edits: [] }, container: 'c', mcp_servers: [], service_tier: 'auto', inference_geo: 'us',
      output_config: { effort: 'high' }, top_k: 3, metadata: { user_id: 'u' }, thinking: { type: 'disabled' },
    });
    expect(Object.keys(body).sort()).toEqual(['max_tokens', 'messages', 'model', 'user']);
  });

  it('never mutates the client body', () => {
    const input = {
      model: 'claude-sonnet-4-5', max_tokens: 10, stream: true,
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n'.repeat(70), input: { a: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA' } }] }] },
      ],
      tools: [{ name: 'n'.repeat(70), input_schema: { type: 'object' } }],
    };
    const snapshot = structuredClone(input);
    conv.request(input, 'gpt-4o', {});
    expect(input).toEqual(snapshot);
  });

  it('PDF document → file part; text document → text part', () => {
    const { body } = convert({
      messages: [{
        role: 'user',
        content: [
          { type: 'document', title: 'spec.pdf', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain words' } },
        ],
      }],
    });
    expect(msgsOf(body)[0]!.content).toEqual([
      { type: 'file', file: { filename: 'spec.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
      { type: 'text', text: 'plain words' },
    ]);
  });

  it('unanswered tool calls are dropped and stray tool results become user text (OpenAI pairing rules)', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'text', text: 'calling' }, { type: 'tool_use', id: 'a', name: 'A', input: {} }, { type: 'tool_use', id: 'b', name: 'B', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: 'ra' }, { type: 'tool_result', tool_use_id: 'zzz', content: 'stray' }] },
      ],
    });
    const m = msgsOf(body);
    expect(m[1]!.tool_calls.map((c: any) => c.id)).toEqual(['a']);
    expect(m[2]).toEqual({ role: 'tool', tool_call_id: 'a', content: 'ra' });
    expect(m[3]!.role).toBe('user');
    expect(m[3]!.content).toContain('stray');
  });

  it('ctx carries models, stream flag, tool-name map and an integer estimate', () => {
    const { ctx } = convert({ system: 'x'.repeat(4000), messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(ctx.clientModel).toBe('claude-sonnet-4-5');
    expect(ctx.upstreamModel).toBe('gpt-4o');
    expect(ctx.includeUsage).toBe(false);
    expect(Number.isInteger(ctx.estimatedInputTokens)).toBe(true);
    expect(ctx.estimatedInputTokens).toBeGreaterThanOrEqual(1000);
  });

  it('output_config.format json_schema → response_format', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const { body } = convert({ messages: [{ role: 'user', content: 'hi' }], output_config: { format: { type: 'json_schema', schema } } });
    expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema } });
  });
});
