// What a provider's model list says a model can hold, and the admin schemas that take it
// (CONTRACT "Conversations and member capabilities"). Nothing is guessed from a model's name.
import { describe, expect, it } from 'vitest';
import { readModelCapabilities } from '../../../src/admin/models.js';
import { FieldError, parseMemberPatch, parseMembersInput, parsePoolPatch } from '../../../src/admin/validate.js';

describe('readModelCapabilities: one entry of a model list → {contextWindow, vision}', () => {
  const table: [string, unknown, number | null, boolean | null][] = [
    ['OpenRouter', { id: 'x', context_length: 200000, architecture: { input_modalities: ['text', 'image'] }, top_provider: { context_length: 100000 } }, 200000, true],
    ['OpenRouter, text only', { id: 'x', context_length: 131072, architecture: { input_modalities: ['text'] } }, 131072, false],
    ['OpenRouter, image in the output only', { id: 'x', architecture: { input_modalities: ['text'], output_modalities: ['image'] } }, null, false],
    ['top_provider.context_length when context_length is null', { id: 'x', context_length: null, top_provider: { context_length: 65536 } }, 65536, null],
    ['context_window', { id: 'x', context_window: 400000 }, 400000, null],
    ['max_context_length', { id: 'x', max_context_length: 32000 }, 32000, null],
    ['vLLM max_model_len', { id: 'x', object: 'model', max_model_len: 32768 }, 32768, null],
    ['max_input_tokens (a digit string)', { id: 'x', max_input_tokens: '8192' }, 8192, null],
    ['the first that holds a count wins', { id: 'x', context_length: 'n/a', context_window: 1000, max_model_len: 2000 }, 1000, null],
    ['modalities list', { id: 'x', modalities: ['text', 'Image'] }, null, true],
    ['modalities {input}', { id: 'x', modalities: { input: ['text', 'pdf'], output: ['text', 'image'] } }, null, false],
    ['capabilities.vision', { id: 'x', capabilities: { vision: true, function_calling: true } }, null, true],
    ['capabilities.vision false', { id: 'x', capabilities: { vision: false } }, null, false],
    ['input_modalities first, over capabilities', { id: 'x', architecture: { input_modalities: ['text'] }, capabilities: { vision: true } }, null, false],
    ['a name that sounds like it says nothing', { id: 'gpt-4o-vision-128k', object: 'model' }, null, null],
    ['an empty modality list says nothing', { id: 'x', architecture: { input_modalities: [] } }, null, null],
    ['negative, fractional, huge and non-numbers are not counts', { id: 'x', context_length: -1, context_window: 1.5, max_context_length: 1e12, max_model_len: '128k', max_input_tokens: true }, null, null],
    ['a bare id string', 'model-a', null, null],
    ['null', null, null, null],
  ];
  for (const [name, item, contextWindow, vision] of table) {
    it(name, () => expect(readModelCapabilities(item)).toEqual({ contextWindow, vision }));
  }
});

const refused = (fn: () => unknown): FieldError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof FieldError) return e;
    throw e;
  }
  throw new Error('not refused');
};

describe('admin schemas: pool affinity, member capabilities', () => {
  it('PATCH /admin/pools/:pool takes affinity session or none; the pool sent back passes, another name does not', () => {
    expect(parsePoolPatch({ affinity: 'none' })).toEqual({ affinity: 'none' });
    expect(parsePoolPatch({ affinity: 'session' })).toEqual({ affinity: 'session' });
    expect(parsePoolPatch({ name: 'tool', virtualModel: 'haiku', members: [], affinity: 'none' }, 'tool')).toEqual({ affinity: 'none' });
    expect(parsePoolPatch({})).toEqual({});
    expect(refused(() => parsePoolPatch({ affinity: 'sticky' })).field).toBe('affinity');
    expect(refused(() => parsePoolPatch({ affinity: null })).field).toBe('affinity');
    expect(refused(() => parsePoolPatch({ name: 'normal' }, 'tool')).field).toBe('name');
    expect(refused(() => parsePoolPatch({ Affinity: 'none' })).message).toContain('did you mean affinity?');
  });

  it('a member PATCH takes contextWindow (tokens or null) and vision (true, false or null)', () => {
    expect(parseMemberPatch({ contextWindow: 128000, vision: false })).toEqual({ contextWindow: 128000, vision: false });
    expect(parseMemberPatch({ contextWindow: null, vision: null })).toEqual({ contextWindow: null, vision: null });
    expect(parseMemberPatch({ weight: 2 })).toEqual({ weight: 2 });
    for (const v of [0, -1, 1.5, '128k', 100_000_001, true]) expect(refused(() => parseMemberPatch({ contextWindow: v })).field).toBe('contextWindow');
    for (const v of ['yes', 1, 0]) expect(refused(() => parseMemberPatch({ vision: v })).field).toBe('vision');
    expect(refused(() => parseMemberPatch({ contextLength: 5 })).field).toBe('contextLength');
  });

  it('members are added from names or from {id, contextWindow?, vision?}; the first of a name wins', () => {
    expect(parseMembersInput({ providerId: 1, models: ['a', { id: ' b ', contextWindow: 1000 }, { id: 'c', vision: null }, 'a', { id: 'b', vision: true }] })).toEqual({
      providerId: 1,
      models: [{ id: 'a' }, { id: 'b', contextWindow: 1000 }, { id: 'c', vision: null }],
    });
    expect(refused(() => parseMembersInput({ providerId: 1, models: [{ id: 'a', window: 5 }] })).field).toBe('models[0].window');
    expect(refused(() => parseMembersInput({ providerId: 1, models: ['x', { id: 'a', contextWindow: 0 }] })).field).toBe('models[1].contextWindow');
    expect(refused(() => parseMembersInput({ providerId: 1, models: [{ contextWindow: 5 }] })).field).toBe('models');
    expect(refused(() => parseMembersInput({ providerId: 1, models: [['a']] })).field).toBe('models');
  });
});
