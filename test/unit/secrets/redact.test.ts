import { describe, expect, it } from 'vitest';
import { keyMasker, keysMasker, maskKeyIn, maskedForm } from '../../../src/secrets/redact.js';

const KEY = 'sk-live-SECRETPART-0123456789abcdef';

describe('keyMasker: a provider key never leaves in upstream text', () => {
  it.each([
    ['the whole key in an error message', `Incorrect API key provided: ${KEY}. You can find your API key at …`, 'Incorrect API key provided: ****cdef. You can find your API key at …'],
    ['the key inside JSON', `{"error":{"message":"bad key ${KEY}"}}`, '{"error":{"message":"bad key ****cdef"}}'],
    ['every occurrence', `${KEY} and ${KEY}`, '****cdef and ****cdef'],
    ['a truncated echo (head + more)', 'key sk-live-SECRETP… rejected', 'key ****cdef… rejected'],
    ['a partly starred echo', 'Incorrect API key provided: sk-live-****************cdef.', 'Incorrect API key provided: ****cdef.'],
    ['the key followed by other text', `${KEY}xyz`, '****cdef'],
    ['text without it is untouched', 'rate limited, try again', 'rate limited, try again'],
    ['another key with a different head is untouched', 'sk-test-0000000000000000', 'sk-test-0000000000000000'],
    ['a bare key', KEY, '****cdef'],
  ])('%s', (_name, text, expected) => {
    const out = keyMasker(KEY)(text);
    expect(out).toBe(expected);
    expect(out).not.toContain('SECRETPART');
  });

  it('returns the very same string when the key is absent (no copy on the hot path)', () => {
    const text = 'x'.repeat(10_000);
    expect(keyMasker(KEY)(text)).toBe(text);
  });

  it('a key with characters a token stops at is still masked whole', () => {
    const key = 'abc.def"ghi|jkl|mnop';
    expect(maskKeyIn(`got ${key}!`, key)).toBe('got ****mnop!');
  });

  it.each([
    ['short keys: only whole occurrences', 'abc12', 'key abc12, not abc1', 'key ****, not abc1'],
    ['keys under 4 characters: nothing (would garble text)', 'ab', 'tab cab', 'tab cab'],
    ['no key: nothing', '', 'anything', 'anything'],
  ])('%s', (_name, key, text, expected) => {
    expect(maskKeyIn(text, key)).toBe(expected);
  });

  it('the masked form shows at most the last four characters', () => {
    expect(maskedForm(KEY)).toBe('****cdef');
    expect(maskedForm('abc12')).toBe('****');
  });
});

describe('keysMasker: every key of a provider’s pool', () => {
  const A = 'sk-proj-AAAASECRET-000000000000aaaa';
  const B = 'sk-proj-BBBBSECRET-000000000000bbbb';
  const C = 'other-CCCCSECRET-00000000cccc';
  it.each([
    ['each whole key gets its own mask, though they share their head', `got ${A}, also ${B} and ${C}`, 'got ****aaaa, also ****bbbb and ****cccc'],
    ['a fragment of one is masked too', 'key sk-proj-BBBBSEC… rejected', 'key ****'],
    ['text without any of them is untouched', 'rate limited', 'rate limited'],
  ])('%s', (_name, text, expected) => {
    const out = keysMasker([A, B, C, '', null])(text);
    expect(out.startsWith(expected)).toBe(true);
    expect(out).not.toContain('SECRET');
  });

  it('the same string back when none is there; one key masks as keyMasker does; none masks nothing', () => {
    const text = 'x'.repeat(1000);
    expect(keysMasker([A, B])(text)).toBe(text);
    expect(keysMasker([A])(`a ${A}`)).toBe(keyMasker(A)(`a ${A}`));
    expect(keysMasker([])(A)).toBe(A);
  });
});
