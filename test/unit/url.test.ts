import { describe, expect, it } from 'vitest';
import { buildUpstreamUrl } from '../../src/upstream/url.js';

describe('buildUpstreamUrl', () => {
  const table: [string, string, string][] = [
    ['http://h:8311', '/chat/completions', 'http://h:8311/v1/chat/completions'],
    ['http://h:8311/', '/chat/completions', 'http://h:8311/v1/chat/completions'],
    ['http://h:8311/v1', '/messages', 'http://h:8311/v1/messages'],
    ['http://h:8311/v1/', '/models', 'http://h:8311/v1/models'],
    ['https://h/api/paas/v4', '/chat/completions', 'https://h/api/paas/v4/chat/completions'],
    ['https://h/api', '/messages', 'https://h/api/v1/messages'],
    ['https://h/v1beta', '/models', 'https://h/v1beta/models'],
    ['https://h/v1/chat/completions', '/chat/completions', 'https://h/v1/chat/completions'],
    ['https://h/v1/messages', '/models', 'https://h/v1/models'],
    ['https://h/openai/v1?api-version=1', '/chat/completions', 'https://h/openai/v1/chat/completions?api-version=1'],
  ];
  for (const [base, p, expected] of table) {
    it(`${base} + ${p}`, () => expect(buildUpstreamUrl(base, p).toString()).toBe(expected));
  }
});
