/** Conversion must add well under 1 ms to an ~80 KB Claude Code request (DESIGN: one parse, one serialise). */
import { describe, it, expect } from 'vitest';
import { getConverter } from '../../../src/protocol/convert/index.js';
import { claudeCodeBody } from './fixtures.js';
import { ctxOf, openaiSse, chunk } from './helpers.js';
import { SseParser } from '../../../src/protocol/sse.js';

function medianMs(fn: () => void, runs = 300, warmup = 100): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

describe('performance', () => {
  const body = claudeCodeBody();
  const size = JSON.stringify(body).length;

  it('the fixture is Claude Code sized', () => {
    expect(size).toBeGreaterThan(70_000);
    expect(size).toBeLessThan(120_000);
    expect((body.tools as unknown[]).length).toBe(24);
  });

  it('Anthropic → OpenAI request conversion of an ~80 KB body takes well under 1 ms', () => {
    const conv = getConverter('anthropic', 'openai')!;
    const ms = medianMs(() => conv.request(body, 'gpt-4o', { maxTokensCap: 8192 }));
    expect(ms).toBeLessThan(0.5);
    // sanity: the conversion really did the work
    const { body: out, ctx } = conv.request(body, 'gpt-4o', {});
    expect((out.messages as unknown[]).length).toBeGreaterThan(30);
    expect(ctx.toolNames.size).toBe(1);
  });

  it('OpenAI → Anthropic request conversion of the equivalent body takes well under 1 ms', () => {
    const a2o = getConverter('anthropic', 'openai')!;
    const openaiBody = { ...a2o.request(body, 'gpt-4o', {}).body, model: 'gpt-4o' };
    const conv = getConverter('openai', 'anthropic')!;
    const ms = medianMs(() => conv.request(openaiBody, 'claude-sonnet-4-5', {}));
    expect(ms).toBeLessThan(0.5);
  });

  it('stream translation keeps up: 2,000 text chunks in well under 50 ms', () => {
    const conv = getConverter('anthropic', 'openai')!;
    const parser = new SseParser();
    const events = parser.push(openaiSse([
      chunk({ role: 'assistant', content: '' }),
      ...Array.from({ length: 2000 }, (_, i) => chunk({ content: `token${i} ` })),
      chunk({}, 'stop'),
      '[DONE]',
    ]));
    const ms = medianMs(() => {
      const t = conv.stream(ctxOf());
      for (const ev of events) t.push(ev);
    }, 20, 5);
    expect(ms).toBeLessThan(50);
  });
});
