import { describe, it, expect } from 'vitest';
import { prepareAnthropicPassthrough, prepareOpenAIPassthrough, getConverter } from '../../../src/protocol/convert/index.js';
import { ctxOf } from './helpers.js';

describe('pass-through: Anthropic body to an Anthropic-format upstream', () => {
  it('returns the very same object when nothing needs changing (no copy on the hot path)', () => {
    const body = { model: 'claude-x', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 'real' }] }] };
    expect(prepareAnthropicPassthrough(body, 'claude-x')).toBe(body);
    const renamed = prepareAnthropicPassthrough(body, 'claude-real');
    expect(renamed).not.toBe(body);
    expect(renamed.model).toBe('claude-real');
    expect(renamed.messages).toBe(body.messages);
  });

  it('P10: thinking blocks minted by this gateway (from an OpenAI member) are removed; thinking off if the last turn lost one', () => {
    // an answer produced by the OpenAI-upstream translator, replayed as history
    const a2o = getConverter('anthropic', 'openai')!;
    const answer = a2o.response({ choices: [{ index: 0, message: { role: 'assistant', reasoning_content: 'r', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'Bash', arguments: '{}' } }] }, finish_reason: 'tool_calls' }] }, ctxOf());
    const body = {
      model: 'sonnet',
      thinking: { type: 'enabled', budget_tokens: 2048 },
      context_management: { edits: [{ type: 'clear_thinking_20251015' }, { type: 'clear_tool_uses_20250919' }] },
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: answer.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: 'ok' }] },
      ],
    };
    const snapshot = structuredClone(body);
    const out = prepareAnthropicPassthrough(body, 'claude-sonnet-4-5');
    expect(body).toEqual(snapshot); // not mutated
    const asst = (out.messages as any[])[1];
    expect(asst.content.map((b: any) => b.type)).toEqual(['tool_use']);
    expect(out).not.toHaveProperty('thinking');
    expect((out.context_management as any).edits).toEqual([{ type: 'clear_tool_uses_20250919' }]);
  });

  it('keeps thinking on when only older turns carried synthetic blocks', () => {
    const body = {
      model: 'm',
      thinking: { type: 'adaptive' },
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'x', signature: 'apgw-synthetic-v1' }, { type: 'text', text: 'old' }] },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'y', signature: 'REAL' }, { type: 'text', text: 'new' }] },
        { role: 'user', content: 'c' },
      ],
    };
    const out = prepareAnthropicPassthrough(body, 'm');
    expect(out.thinking).toEqual({ type: 'adaptive' });
    expect((out.messages as any[])[1].content).toEqual([{ type: 'text', text: 'old' }]);
    expect((out.messages as any[])[3]).toBe(body.messages[3]);
  });

  it('P11: stripUnsupported drops context_management and reduces cache_control to {type}', () => {
    const body = {
      model: 'm',
      context_management: { edits: [] },
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral', ttl: '1h', scope: 'global' } }],
      tools: [{ name: 't', input_schema: {}, cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: [{ type: 'text', text: 'r', cache_control: { type: 'ephemeral', ttl: '5m' } }] }] }],
    };
    const out = prepareAnthropicPassthrough(body, 'm', { stripUnsupported: true });
    expect(out).not.toHaveProperty('context_management');
    expect(JSON.stringify(out)).not.toMatch(/ttl|scope/);
    expect((out.system as any[])[0].cache_control).toEqual({ type: 'ephemeral' });
    expect(JSON.stringify(body)).toContain('ttl'); // original untouched
  });
});

describe('pass-through: OpenAI body to an OpenAI-format upstream', () => {
  it('moves and caps the output limit, honours streamOptions/reasoning/stripUnsupported', () => {
    const body = { model: 'gpt', messages: [], max_tokens: 32000, stream: true, stream_options: { include_usage: true }, reasoning_effort: 'high', store: true, metadata: { a: 1 } };
    const out = prepareOpenAIPassthrough(body, 'o3', { maxTokensField: 'max_completion_tokens', maxTokensCap: 8192, streamOptions: false, reasoning: false, stripUnsupported: true });
    expect(out).toEqual({ model: 'o3', messages: [], max_completion_tokens: 8192, stream: true });
    const same = { model: 'gpt', messages: [], max_tokens: 100 };
    expect(prepareOpenAIPassthrough(same, 'gpt')).toBe(same);
  });
});
