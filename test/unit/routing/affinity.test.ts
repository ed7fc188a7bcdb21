import { describe, expect, it } from 'vitest';
import { AffinityTable, affinityResult, conversationOf, MAX_CONVERSATION_LENGTH } from '../../../src/routing/affinity.js';
import { isInvalidSignatureError, SignatureBook } from '../../../src/protocol/anthropic/signatures.js';
import { prepareAnthropicPassthrough } from '../../../src/protocol/convert/passthrough.js';

describe('AffinityTable', () => {
  it('remembers the last member per conversation, forgets idle entries, drops the least recently used past its size', () => {
    const t = new AffinityTable(2, 1000);
    t.set('a', 1, 0);
    t.set('b', 2, 0);
    expect(t.get('a', 10)).toBe(1);
    t.set('a', 3, 20); // moved: the latest member wins
    expect(t.get('a', 30)).toBe(3);
    t.set('c', 4, 40); // over the size: 'b' (least recently used) goes
    expect(t.get('b', 50)).toBeNull();
    expect(t.get('c', 50)).toBe(4);
    expect(t.get('a', 1021)).toBeNull(); // idle for more than idleMs
    expect(t.size).toBe(1);
  });

  it.each([
    [null, 5, 'new'],
    [5, 5, 'kept'],
    [5, 6, 'moved'],
  ] as const)('remembered %s, served %i → %s', (remembered, served, result) => {
    expect(affinityResult(remembered, served)).toBe(result);
  });
});

describe('conversationOf', () => {
  it.each([
    ['the Claude Code header first', { 'x-claude-code-session-id': 's-1' }, { metadata: { user_id: 'u' }, user: 'o' }, 's-1'],
    ['Anthropic metadata.user_id next', {}, { metadata: { user_id: 'u-2' } }, 'u-2'],
    ['OpenAI user last', {}, { user: 'o-3' }, 'o-3'],
    ['nothing', {}, { metadata: {} }, null],
    ['empty values are no name', { 'x-claude-code-session-id': '  ' }, { metadata: { user_id: '' }, user: '' }, null],
    ['not strings are no name', {}, { metadata: { user_id: 5 }, user: { x: 1 } }, null],
  ])('%s', (_n, headers, body, expected) => {
    expect(conversationOf(headers, body as Record<string, unknown>)).toBe(expected);
  });

  it('a very long name is kept as a hash: still distinct, still stable, bounded', () => {
    const long = (s: string) => 'x'.repeat(300) + s;
    const a = conversationOf({}, { user: long('a') })!;
    expect(a.length).toBeLessThanOrEqual(MAX_CONVERSATION_LENGTH);
    expect(a).toBe(conversationOf({}, { user: long('a') }));
    expect(a).not.toBe(conversationOf({}, { user: long('b') }));
  });
});

describe('SignatureBook', () => {
  const sig = (n: number) => `Eq${'A'.repeat(200)}${String(n).padStart(8, '0')}`;

  it('knows who produced a signature; what another provider signed is foreign, an unknown one is not', () => {
    const book = new SignatureBook();
    book.record(sig(1), 10);
    book.record('short-sig', 11);
    expect(book.producer(sig(1))).toBe(10);
    expect(book.producer('short-sig')).toBe(11);
    expect(book.foreignTo(10)(sig(1))).toBe(false);
    expect(book.foreignTo(20)(sig(1))).toBe(true);
    expect(book.foreignTo(20)(sig(2))).toBe(false); // never seen: left alone
  });

  it('is bounded: the oldest signatures are forgotten first', () => {
    const book = new SignatureBook(3);
    for (let i = 0; i < 5; i++) book.record(sig(i), i);
    expect(book.size).toBe(3);
    expect(book.producer(sig(0))).toBeUndefined();
    expect(book.producer(sig(4))).toBe(4);
  });

  it.each([
    ['messages.1.content.0: Invalid `signature` in `thinking` block', true],
    ['Invalid signature in thinking block', true],
    ['thinking.signature: Field required', true],
    ['max_tokens: must be at most 8192', false],
  ])('%s → %s', (message, expected) => {
    expect(isInvalidSignatureError(message)).toBe(expected);
  });
});

describe('prepareAnthropicPassthrough with dropSigned', () => {
  const body = {
    model: 'x',
    thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'a', signature: 'SIG-A' }, { type: 'text', text: 'one' }] },
      { role: 'user', content: 'more' },
      { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'DATA-B' }, { type: 'thinking', thinking: 'b', signature: 'SIG-B' }, { type: 'tool_use', id: 't', name: 'n', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'ok' }] },
    ],
  };

  it('removes only the blocks the predicate picks; the body itself is untouched', () => {
    const before = JSON.stringify(body);
    const out = prepareAnthropicPassthrough(body, 'm', {}, (s) => s === 'SIG-A');
    expect(JSON.stringify(body)).toBe(before);
    const msgs = out.messages as any[];
    expect(msgs[1].content).toEqual([{ type: 'text', text: 'one' }]);
    expect(msgs[3].content.map((b: any) => b.type)).toEqual(['redacted_thinking', 'thinking', 'tool_use']);
    expect(out.thinking).toEqual(body.thinking); // the last assistant turn kept its thinking
  });

  it('with every block dropped, thinking is turned off (the last assistant turn lost its thinking)', () => {
    const out = prepareAnthropicPassthrough(body, 'm', {}, () => true);
    const msgs = out.messages as any[];
    expect(msgs[3].content.map((b: any) => b.type)).toEqual(['tool_use']);
    expect(out.thinking).toBeUndefined();
  });

  it('without a predicate nothing real is removed (the body object itself comes back)', () => {
    expect(prepareAnthropicPassthrough(body, 'x', {})).toBe(body);
  });
});
