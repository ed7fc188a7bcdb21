import { describe, expect, it } from 'vitest';
import { buildUpstreamUrl, normalizeBaseUrl, upstreamTarget } from '../../src/upstream/url.js';

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
    it(`upstreamTarget: ${base} + ${p} as origin + path, remembered`, () => {
      const t = upstreamTarget(base, p);
      expect(t.origin + t.path).toBe(expected);
      expect(upstreamTarget(base, p)).toBe(t);
    });
  }
});

describe('normalizeBaseUrl: stored and shown as buildUpstreamUrl reads it', () => {
  const table: [string, string][] = [
    ['http://h:8311', 'http://h:8311'],
    ['http://h:8311/', 'http://h:8311'],
    [' HTTP://H:80/v1/ ', 'http://h/v1'],
    ['https://h:443/api/paas/v4', 'https://h/api/paas/v4'],
    ['https://h/v1/chat/completions', 'https://h/v1'],
    ['https://h/v1/messages/', 'https://h/v1'],
    ['https://h/v1//models', 'https://h/v1'],
    ['https://h/x/messages/messages', 'https://h/x'],
    ['https://h/openai/v1?api-version=1#frag', 'https://h/openai/v1?api-version=1'],
    ['http://[::1]:8080/v1', 'http://[::1]:8080/v1'],
  ];
  for (const [raw, expected] of table) {
    it(`${raw.trim()} → ${expected}`, () => {
      const n = normalizeBaseUrl(raw);
      expect(n).toBe(expected);
      expect(normalizeBaseUrl(n)).toBe(n); // a stored URL normalises to itself
      for (const p of ['/chat/completions', '/messages', '/models']) expect(buildUpstreamUrl(n, p).toString()).toBe(buildUpstreamUrl(raw, p).toString());
    });
  }
});
