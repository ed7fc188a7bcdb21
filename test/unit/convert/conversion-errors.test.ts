import { describe, expect, it } from 'vitest';
import { getConverter } from '../../../src/protocol/convert/index.js';
import { ConversionError } from '../../../src/protocol/convert/errors.js';

const a2o = getConverter('anthropic', 'openai')!;
const o2a = getConverter('openai', 'anthropic')!;

/** The field a ConversionError names, or 'ok' when the request converts. */
function fieldOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (e) {
    if (e instanceof ConversionError) return e.field;
    throw e; // anything else would be a 500: not acceptable for these inputs
  }
}

describe('ConversionError: an Anthropic request an OpenAI provider cannot take names its field', () => {
  const convert = (body: Record<string, unknown>) => () => a2o.request({ model: 'sonnet', max_tokens: 10, ...body }, 'gpt', {});
  it.each([
    ['a message that is not an object', { messages: ['hi'] }, 'messages[0]'],
    ['a null message', { messages: [{ role: 'user', content: 'a' }, null] }, 'messages[1]'],
    ['an unknown role', { messages: [{ role: 'tool', content: 'a' }] }, 'messages[0].role'],
    ['user content that is a number', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    ['assistant content that is an object', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: { text: 'b' } }] }, 'messages[1].content'],
    ['missing content', { messages: [{ role: 'user' }] }, 'messages[0].content'],
    ['a block that is a string', { messages: [{ role: 'user', content: ['hi'] }] }, 'messages[0].content[0]'],
    ['a tool_result whose content is an object', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: { x: 1 } }] }] }, 'messages[0].content[0].content'],
    ['a system that is a number', { system: 7, messages: [{ role: 'user', content: 'a' }] }, 'system'],
    ['a mid-conversation system message with odd content', { messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 5 }] }, 'messages[1].content'],
  ])('%s → %s', (_name, body, field) => {
    expect(fieldOf(convert(body))).toBe(field);
  });

  it.each([
    ['plain text', { messages: [{ role: 'user', content: 'hi' }] }],
    ['a tool_result without content, with string content, with blocks', { messages: [
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }, { type: 'tool_use', id: 't2', name: 'f', input: {} }, { type: 'tool_use', id: 't3', name: 'f', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1' }, { type: 'tool_result', tool_use_id: 't2', content: 'x' }, { type: 'tool_result', tool_use_id: 't3', content: [{ type: 'text', text: 'y' }] }] },
    ] }],
    ['unknown block types are still dropped quietly', { messages: [{ role: 'user', content: [{ type: 'container_upload' }, { type: 'text', text: 'a' }] }] }],
    ['system blocks', { system: [{ type: 'text', text: 's' }], messages: [{ role: 'user', content: 'a' }] }],
  ])('converts: %s', (_name, body) => {
    expect(fieldOf(convert(body))).toBe('ok');
  });

  it('the message says what is wrong', () => {
    expect(() => convert({ messages: [{ role: 'user', content: 42 }] })()).toThrow('messages[0].content: must be a string or an array of content blocks');
  });
});

describe('ConversionError: an OpenAI request an Anthropic provider cannot take names its field', () => {
  const convert = (body: Record<string, unknown>) => () => o2a.request({ model: 'gpt', ...body }, 'claude-sonnet-4-5', {});
  it.each([
    ['a message that is not an object', { messages: [3] }, 'messages[0]'],
    ['the legacy function role', { messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
    ['an unknown role', { messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    ['content that is an object', { messages: [{ role: 'user', content: { text: 'x' } }] }, 'messages[0].content'],
    ['a content part that is a string', { messages: [{ role: 'user', content: ['x'] }] }, 'messages[0].content[0]'],
    ['tool_calls that are not an array', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null, tool_calls: { id: 'c' } }] }, 'messages[1].tool_calls'],
    ['a tool call without a function object', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] }] }, 'messages[1].tool_calls[0]'],
    ['tool content that is a number', { messages: [{ role: 'user', content: 'a' }, { role: 'tool', tool_call_id: 'c', content: 5 }] }, 'messages[1].content'],
  ])('%s → %s', (_name, body, field) => {
    expect(fieldOf(convert(body))).toBe(field);
  });

  it.each([
    ['assistant content null with tool calls', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: 'r' }] }],
    ['developer and system messages', { messages: [{ role: 'developer', content: 'd' }, { role: 'system', content: [{ type: 'text', text: 's' }] }, { role: 'user', content: 'a' }] }],
  ])('converts: %s', (_name, body) => {
    expect(fieldOf(convert(body))).toBe('ok');
  });
});
