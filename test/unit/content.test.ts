import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../src/protocol/dialect.js';
import type { Format } from '../../src/protocol/formats.js';
import type { SseEvent } from '../../src/protocol/sse.js';

const eventCarriesContent = (f: Format, ev: SseEvent) => DIALECTS[f].isContent(ev);
const answerHasContent = (f: Format, answer: Record<string, unknown>) => DIALECTS[f].answerHasContent(answer);

const a = (type: string, data: object) => ({ event: type, data: JSON.stringify({ type, ...data }), raw: '' });
const o = (delta: object) => ({ event: undefined, data: JSON.stringify({ choices: [{ index: 0, delta, finish_reason: null }] }), raw: '' });

describe('eventCarriesContent', () => {
  it.each([
    ['message_start', a('message_start', { message: { content: [] } }), false],
    ['ping', a('ping', {}), false],
    ['empty text block start', a('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), false],
    ['text block start with text', a('content_block_start', { index: 0, content_block: { type: 'text', text: 'Hi' } }), true],
    ['empty thinking block start', a('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }), false],
    ['tool_use block start', a('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 't', name: 'Read', input: {} } }), true],
    ['text delta', a('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x' } }), true],
    ['empty text delta', a('content_block_delta', { index: 0, delta: { type: 'text_delta', text: '' } }), false],
    ['thinking delta', a('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }), true],
    ['input json delta', a('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"a' } }), true],
    ['signature delta', a('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig' } }), false],
    ['block stop', a('content_block_stop', { index: 0 }), false],
    ['message_delta', a('message_delta', { delta: { stop_reason: 'end_turn' } }), false],
  ] as const)('anthropic %s → %s', (_n, ev, expected) => expect(eventCarriesContent('anthropic', ev)).toBe(expected));

  it.each([
    ['role-only', o({ role: 'assistant', content: '' }), false],
    ['role with null content', o({ role: 'assistant', content: null }), false],
    ['text', o({ content: 'Hi' }), true],
    ['reasoning_content', o({ reasoning_content: 'hmm' }), true],
    ['reasoning', o({ reasoning: 'hmm' }), true],
    ['tool call start', o({ tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '' } }] }), true],
    ['empty delta', o({}), false],
    ['usage only', { event: undefined, data: JSON.stringify({ choices: [], usage: { prompt_tokens: 1 } }), raw: '' }, false],
    ['[DONE]', { event: undefined, data: '[DONE]', raw: '' }, false],
  ] as const)('openai %s → %s', (_n, ev, expected) => expect(eventCarriesContent('openai', ev)).toBe(expected));
});

describe('answerHasContent', () => {
  it.each([
    [{ content: [] }, false],
    [{ content: [{ type: 'text', text: '' }] }, false],
    [{ content: [{ type: 'text', text: 'x' }] }, true],
    [{ content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }, true],
    [{ content: [{ type: 'thinking', thinking: 'x', signature: 's' }] }, true],
  ])('anthropic %j → %s', (answer, expected) => expect(answerHasContent('anthropic', answer)).toBe(expected));
  it.each([
    [{ choices: [{ message: { role: 'assistant', content: '' } }] }, false],
    [{ choices: [{ message: { role: 'assistant', content: null } }] }, false],
    [{ choices: [] }, false],
    [{ choices: [{ message: { content: 'x' } }] }, true],
    [{ choices: [{ message: { content: null, tool_calls: [{ id: 'c' }] } }] }, true],
    [{ choices: [{ message: { content: null, reasoning_content: 'x' } }] }, true],
  ])('openai %j → %s', (answer, expected) => expect(answerHasContent('openai', answer)).toBe(expected));
});
