import { describe, expect, it } from 'vitest';
import { FieldError, parseOptions, parsePasswordBody, parseProviderInput, parseSettingsPatch, suggestField } from '../../../src/admin/validate.js';

describe('suggestField: the known field an unknown one probably meant', () => {
  const known = ['logBodies', 'logBodyMaxBytes', 'logRetentionCount', 'logRetentionDays'];
  const table: [string, string | null][] = [
    ['logbodies', 'logBodies'],
    ['log_bodies', 'logBodies'],
    ['LOG-BODIES', 'logBodies'],
    ['logBodys', 'logBodies'],
    ['logRetention', null], // a prefix of two: no guess
    ['logRetentionDay', 'logRetentionDays'],
    ['retention', null],
    ['x', null],
    ['', null],
  ];
  for (const [unknown, meant] of table) it(`${JSON.stringify(unknown)} → ${meant}`, () => expect(suggestField(unknown, known)).toBe(meant));
});

describe('schemas refuse unknown fields', () => {
  const refused = (fn: () => unknown): FieldError => {
    try {
      fn();
    } catch (e) {
      if (e instanceof FieldError) return e;
      throw e;
    }
    throw new Error('not refused');
  };
  it('names the field, with its prefix inside options', () => {
    expect(refused(() => parseSettingsPatch({ logbodies: true }))).toMatchObject({ field: 'logbodies', message: expect.stringMatching(/^unknown field logbodies: did you mean logBodies\?/) });
    expect(refused(() => parseOptions({ reasoning_content: true }))).toMatchObject({ field: 'options.reasoning_content', message: expect.stringContaining('did you mean options.reasoningContent?') });
    expect(refused(() => parseProviderInput({ name: 'x', baseUrl: 'http://h', format: 'openai', api_key: 'k' }, false)).field).toBe('api_key');
  });
  it('takes read-only answer fields and ignores them', () => {
    expect(parseProviderInput({ id: 3, apiKeyMasked: '****abcd', createdAt: 'x', memberCount: 2, cooldownIsDefault: true, enabled: false }, true)).toEqual({ enabled: false });
  });
  it('login bodies: no password is undefined (the route answers "password required"), a bad one a FieldError', () => {
    for (const body of [undefined, null, {}, { password: '' }, { password: null }]) expect(parsePasswordBody(body)).toBeUndefined();
    expect(parsePasswordBody({ password: 'pw' })).toBe('pw');
    expect(refused(() => parsePasswordBody({ password: 12 })).field).toBe('password');
    expect(refused(() => parsePasswordBody({ pasword: 'pw' })).message).toContain('did you mean password?');
    expect(refused(() => parsePasswordBody('pw')).field).toBe('body');
  });
});
