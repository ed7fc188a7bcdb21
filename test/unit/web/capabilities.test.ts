// The UI's short forms of token counts and conversation ids (web/src/lib/capabilities.ts).
import { describe, expect, it } from 'vitest';
import { fmtTokens, parseTokens, shortConversation } from '../../../web/src/lib/capabilities.js';

describe('fmtTokens', () => {
  const table: [number | null, string][] = [
    [null, ''], [900, '900'], [1000, '1k'], [8192, '8.2k'], [32768, '32.8k'], [128000, '128k'], [131072, '131.1k'],
    [200000, '200k'], [1000000, '1M'], [1048576, '1.05M'], [2000000, '2M'],
  ];
  for (const [n, s] of table) it(`${n} → ${JSON.stringify(s)}`, () => expect(fmtTokens(n)).toBe(s));
});

describe('parseTokens: what a person types', () => {
  const table: [string, number | null | undefined][] = [
    ['', null], ['  ', null], ['128k', 128000], ['128K', 128000], ['1M', 1000000], ['1m', 1000000], ['1.5m', 1500000],
    ['131072', 131072], ['131,072', 131072], ['200 000', 200000], ['0.5k', 500],
    ['0', undefined], ['-5', undefined], ['12.5', undefined], ['lots', undefined], ['128kb', undefined], ['101M', undefined],
  ];
  for (const [s, n] of table) it(`${JSON.stringify(s)} → ${n}`, () => expect(parseTokens(s)).toBe(n));
  it('what fmtTokens shows of a round count reads back as that count', () => {
    for (const n of [1000, 128000, 200000, 1000000, 2000000, 900]) expect(parseTokens(fmtTokens(n))).toBe(n);
  });
});

describe('shortConversation', () => {
  const table: [string, string][] = [
    ['0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5', '0c1d2e3f'],
    // Claude Code's metadata.user_id: the same start for every session of a user; the session's UUID tells them apart
    ['user_abc123_account_11111111-2222-3333-4444-555555555555_session_9f8e7d6c-4a5b-6c7d-8e9f-a0b1c2d3e4f5', '9f8e7d6c'],
    ['{"device_id":"d","session_id":"aabbccdd-4a5b-6c7d-8e9f-a0b1c2d3e4f5"}', 'aabbccdd'],
    ['sha256:AbCdEfGhIjKlMnOp', 'AbCdEfGh'],
    ['chat-42', 'chat-42'],
    ['a-long-conversation-name-here', '…-name-here'],
  ];
  for (const [id, s] of table) it(`${id} → ${s}`, () => expect(shortConversation(id)).toBe(s));
});
