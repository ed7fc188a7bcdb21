import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';

const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
const nestedObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

describe('jsonTooDeep: nesting checked on the text, without parsing', () => {
  it.each([
    ['empty object', '{}', 1, false],
    ['depth 2 within 2', '{"a":[1]}', 2, false],
    ['depth 2 over 1', '{"a":[1]}', 1, true],
    ['siblings do not add up', '{"a":[1],"b":[2],"c":{"d":3}}', 2, false],
    ['brackets inside strings do not count', '{"a":"[[[[{{{{"}', 1, false],
    ['an escaped quote does not end the string', '{"a":"x\\"[[[["}', 1, false],
    ['an escaped backslash before the closing quote ends it', '{"a":"x\\\\"}', 1, false],
    ['…and brackets after it count again', '{"a":"x\\\\","b":[[1]]}', 2, true],
    ['three backslashes then quote: still inside', '{"a":"\\\\\\"[[["}', 1, false],
    ['unicode escapes and non-ASCII text', '{"a":"\\u005b ünïcödé 🎉 [","b":[1]}', 2, false],
    ['scalars only', '"[[[["', 0, false],
  ])('%s', (_name, text, max, expected) => {
    expect(jsonTooDeep(text, max)).toBe(expected);
  });

  it(`the limit is ${MAX_JSON_DEPTH}: exactly ${MAX_JSON_DEPTH} passes, one more does not (arrays and objects)`, () => {
    expect(MAX_JSON_DEPTH).toBe(128);
    expect(jsonTooDeep(nested(128))).toBe(false);
    expect(jsonTooDeep(nested(129))).toBe(true);
    expect(jsonTooDeep(nestedObj(128))).toBe(false);
    expect(jsonTooDeep(nestedObj(129))).toBe(true);
  });

  it('deep nesting that JSON.stringify could not handle is caught, without recursion', () => {
    expect(jsonTooDeep(nested(1_000_000))).toBe(true);
  });

  it('unterminated strings and invalid JSON are left to JSON.parse', () => {
    expect(jsonTooDeep('{"a":"[[[[')).toBe(false);
    expect(jsonTooDeep('{{{', 5)).toBe(false);
  });

  it('a real Claude Code request passes', () => {
    const text = fs.readFileSync(new URL('../fixtures/claude-code-request.json', import.meta.url), 'utf8');
    expect(text.length).toBeGreaterThan(50_000);
    expect(jsonTooDeep(text)).toBe(false);
    expect(jsonTooDeep(text, 3)).toBe(true);
  });
});
