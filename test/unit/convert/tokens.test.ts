import { afterAll, describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import { Tiktoken } from 'js-tiktoken/lite';
import { TokenCounter, estimateTokensFast, imageSize, imageTokens } from '../../../src/protocol/tokens.js';
import { claudeCodeBody } from './fixtures.js';

const reference = new Tiktoken(createRequire(import.meta.url)('js-tiktoken/ranks/o200k_base'));
const counter = new TokenCounter();
afterAll(() => counter.close());
const countTextTokens = (s: string) => counter.countTexts([s]);
const countAnthropicInputTokens = (b: Record<string, unknown>) => counter.countAnthropic(b);

function png(width: number, height: number): string {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b.toString('base64');
}
function jpeg(width: number, height: number): string {
  // SOI, APP0 (16 bytes), SOF0
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const sof = Buffer.alloc(19);
  sof.writeUInt16BE(0xffc0, 0);
  sof.writeUInt16BE(17, 2);
  sof[4] = 8;
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof]).toString('base64');
}

describe('tokens', () => {
  it('the worker\'s count equals the o200k_base BPE count exactly (and stays equal on the memoised second pass)', async () => {
    const samples = [
      'hello world',
      'function foo(a, b) {\n  return a + b; // sum\n}\n',
      '你好，世界！これは日本語です。 Ünïcödé ✓ 🚀🚀',
      '   leading and trailing spaces   \n\n\n',
      '<|endoftext|> special tokens are plain text here',
      JSON.stringify(claudeCodeBody()),
    ];
    for (const s of samples) {
      const want = reference.encode(s, [], []).length;
      expect(await countTextTokens(s)).toBe(want);
      expect(await countTextTokens(s)).toBe(want);
    }
  });

  it('counts a Claude Code request in a plausible range, as an integer', async () => {
    const body = claudeCodeBody();
    const { max_tokens: _m, stream: _s, ...countBody } = body;
    const n = await countAnthropicInputTokens(countBody);
    expect(Number.isInteger(n)).toBe(true);
    const raw = reference.encode(JSON.stringify(countBody), [], []).length;
    expect(n).toBeGreaterThan(raw * 0.5);
    expect(n).toBeLessThan(raw * 1.2);
  });

  it('case 60 (counting part): a minimal body gives an integer > 0; more content, more tokens', async () => {
    const small = await countAnthropicInputTokens({ model: 'sonnet', messages: [{ role: 'user', content: 'hi' }] });
    expect(Number.isInteger(small)).toBe(true);
    expect(small).toBeGreaterThan(0);
    const withSystem = await countAnthropicInputTokens({ model: 'sonnet', system: 'You are a careful assistant.', messages: [{ role: 'user', content: 'hi' }] });
    expect(withSystem).toBeGreaterThan(small);
    const withTools = await countAnthropicInputTokens({ model: 'sonnet', messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'Read', description: 'Reads a file', input_schema: { type: 'object', properties: { p: { type: 'string' } } } }] });
    expect(withTools).toBeGreaterThan(small + 300); // the tool-use system prompt overhead
    expect(await countAnthropicInputTokens({})).toBe(3);
  });

  it('counts every block kind: tool_use input, tool_result content, thinking, documents', async () => {
    const base = await countAnthropicInputTokens({ messages: [{ role: 'user', content: [] }] });
    const longText = 'alpha beta gamma delta '.repeat(50);
    for (const block of [
      { type: 'tool_use', id: 't', name: 'Bash', input: { command: longText } },
      { type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: longText }] },
      { type: 'tool_result', tool_use_id: 't', content: longText },
      { type: 'thinking', thinking: longText, signature: 'x' },
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: longText } },
    ]) {
      expect((await countAnthropicInputTokens({ messages: [{ role: 'user', content: [block] }] })) - base).toBeGreaterThan(150);
    }
  });

  it('a piece longer than 256 characters (no spaces) is estimated by estimateTokensFast, not encoded', async () => {
    const piece = 'QUJD'.repeat(500); // base64-like: one pre-tokenizer piece of 2,000 characters
    expect(await countTextTokens(piece)).toBe(estimateTokensFast(piece));
  });

  it('the worker starts on the first count, serves concurrent counts, ends when idle, and starts again', async () => {
    const c = new TokenCounter(150);
    try {
      expect(c.running).toBe(false);
      const texts = ['one two three', '四五六', 'seven'];
      const counts = await Promise.all(texts.map((t) => c.countTexts([t])));
      expect(counts).toEqual(texts.map((t) => reference.encode(t, [], []).length));
      expect(c.running).toBe(true);
      expect(c.started).toBe(1);
      await expect.poll(() => c.running, { timeout: 5000, interval: 50 }).toBe(false);
      expect(await c.countTexts(['again'])).toBe(reference.encode('again', [], []).length);
      expect(c.started).toBe(2);
    } finally {
      await c.close();
    }
    await expect(c.countTexts(['after close'])).resolves.toBeGreaterThan(0); // (a closed counter starts anew on demand)
    await c.close();
  });

  it('reads image sizes from PNG and JPEG headers and applies Anthropic’s w×h/750 rule', () => {
    expect(imageSize(png(800, 600))).toEqual({ width: 800, height: 600 });
    expect(imageSize(jpeg(1024, 768))).toEqual({ width: 1024, height: 768 });
    expect(imageSize('bm90IGFuIGltYWdl')).toBeNull();
    expect(imageTokens({ type: 'base64', media_type: 'image/png', data: png(750, 750) })).toBe(750);
    expect(imageTokens({ type: 'base64', media_type: 'image/png', data: png(200, 150) })).toBe(40);
    expect(imageTokens({ type: 'base64', media_type: 'image/png', data: png(4000, 3000) })).toBe(1600);
    expect(imageTokens({ type: 'url', url: 'https://x/y.png' })).toBe(1600);
  });

  it('estimateTokensFast is cheap and in the right range for Latin and CJK text', () => {
    const latin = 'The quick brown fox jumps over the lazy dog. '.repeat(200);
    const est = estimateTokensFast(latin);
    const real = reference.encode(latin, [], []).length;
    expect(est).toBeGreaterThan(real * 0.7);
    expect(est).toBeLessThan(real * 2.5);
    const cjk = '这是一个用于测试的中文句子，包含一些常见的词语。'.repeat(100);
    expect(estimateTokensFast(cjk)).toBeGreaterThan(cjk.length * 0.5);
    expect(estimateTokensFast('')).toBe(0);
  });
});
