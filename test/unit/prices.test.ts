/**
 * The shipped price table (src/telemetry/prices.json) and the price lookup and cost arithmetic
 * (src/telemetry/prices.ts). After editing the data file, this is the test to run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { priceSchema, pricesDocumentSchema, shippedPricesSchema, type Price } from '../../src/admin/schema/prices.js';
import { PriceBook, SHIPPED_PRICES, usd } from '../../src/telemetry/prices.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILE = path.join(ROOT, 'src/telemetry/prices.json');
const raw = JSON.parse(fs.readFileSync(FILE, 'utf8'));

const usage = (inputTokens: number, outputTokens = 0, cacheReadTokens = 0, cacheCreationTokens = 0) => ({ inputTokens, outputTokens, cacheReadTokens, cacheCreationTokens });
const row = (match: string, input: number, rest: Partial<Price> = {}): Price => ({ match, input, output: 0, cacheRead: 0, cacheWrite: 0, ...rest });

describe('the shipped price table', () => {
  it('parses with the schema the admin API uses; its source and date are at the top', () => {
    const parsed = shippedPricesSchema.safeParse(raw);
    expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues[0])).toBe(true);
    expect(Object.keys(raw).slice(0, 3)).toEqual(['$comment', 'source', 'asOf']);
    expect(raw.asOf).toMatch(/^20\d\d-\d\d/);
    for (const s of raw.source) expect(s).toMatch(/^https:\/\//);
    // the module serves exactly the file's rows, and a PUT of them is a valid document
    expect(SHIPPED_PRICES.prices).toEqual(raw.prices);
    expect(pricesDocumentSchema.safeParse({ prices: raw.prices }).success).toBe(true);
  });

  it('every row is a valid Price, written as stored (trimmed), with prices of at most six decimals (exact costs)', () => {
    expect(raw.prices.length).toBeGreaterThan(40);
    for (const p of raw.prices) {
      const r = priceSchema.safeParse(p);
      expect(r.success, JSON.stringify(p)).toBe(true);
      expect(r.success && r.data, JSON.stringify(p)).toEqual(p);
      for (const k of ['input', 'output', 'cacheRead', 'cacheWrite'] as const) {
        expect(Math.round(p[k] * 1e6) / 1e6, `${p.match}.${k}`).toBe(p[k]);
      }
      // a cache read never costs more than plain input, a cache write never less
      expect(p.cacheRead, p.match).toBeLessThanOrEqual(p.input);
      expect(p.cacheWrite, p.match).toBeGreaterThanOrEqual(p.input);
    }
  });

  it('prices the models people put behind the gateway, each by the row meant for it', () => {
    const book = new PriceBook();
    const cases: [string, string][] = [
      ['claude-opus-4-5-20251101', 'claude-opus-4?5*'],
      ['claude-opus-4-1-20250805', 'claude-opus-4*'],
      ['claude-opus-4-20250514', 'claude-opus-4*'],
      ['claude-sonnet-4-5-20250929', 'claude-sonnet-4*'],
      ['anthropic/claude-sonnet-4.5', 'claude-sonnet-4*'],
      ['claude-sonnet-4-20250514', 'claude-sonnet-4*'],
      ['claude-haiku-4-5-20251001', 'claude-haiku-4*'],
      ['claude-3-7-sonnet-20250219', 'claude-3?7-sonnet*'],
      ['claude-3-5-sonnet-20241022', 'claude-3?5-sonnet*'],
      ['claude-3-5-haiku-20241022', 'claude-3?5-haiku*'],
      ['anthropic/claude-3.5-haiku', 'claude-3?5-haiku*'],
      ['claude-3-opus-20240229', 'claude-3-opus*'],
      ['claude-3-haiku-20240307', 'claude-3-haiku*'],
      ['gpt-5', 'gpt-5*'],
      ['gpt-5.1-codex', 'gpt-5*'],
      ['gpt-5-mini-2025-08-07', 'gpt-5-mini*'],
      ['gpt-5-nano', 'gpt-5-nano*'],
      ['gpt-4.1-2025-04-14', 'gpt-4.1*'],
      ['gpt-4.1-mini', 'gpt-4.1-mini*'],
      ['gpt-4o-2024-08-06', 'gpt-4o*'],
      ['gpt-4o-2024-05-13', 'gpt-4o-2024-05-13'],
      ['gpt-4o-mini', 'gpt-4o-mini*'],
      ['o1', 'o1*'],
      ['o3', 'o3*'],
      ['o3-mini', 'o3-mini*'],
      ['o4-mini', 'o4-mini*'],
      ['deepseek-chat', 'deepseek-chat'],
      ['deepseek-reasoner', 'deepseek-reasoner'],
      ['deepseek-ai/DeepSeek-V3.1', 'deepseek-*'],
      ['gemini-2.5-pro', 'gemini-2.5-pro*'],
      ['gemini-2.5-flash', 'gemini-2.5-flash*'],
      ['models/gemini-2.5-flash-lite', 'gemini-2.5-flash-lite*'],
      ['gemini-2.0-flash', 'gemini-2.0-flash*'],
      ['gemini-3-pro-preview', 'gemini-3-pro*'],
      ['kimi-k2-0905-preview', 'kimi-k2*'],
      ['kimi-k2-turbo-preview', 'kimi-k2*turbo*'],
      ['moonshotai/Kimi-K2-Instruct', 'kimi-k2*'],
      ['moonshot-v1-32k', 'moonshot-v1-32k*'],
      ['glm-4.6', 'glm-4.6*'],
      ['GLM-4.5-Air', 'glm-4.5-air*'],
      ['glm-4.5-airx', 'glm-4.5-airx*'],
      ['zai-org/GLM-4.5', 'glm-4.5*'],
      ['qwen3-max', 'qwen3-max*'],
      ['qwen-plus-latest', 'qwen-plus*'],
      ['qwen-turbo', 'qwen-turbo*'],
      ['qwen3-coder-plus', 'qwen3-coder-plus*'],
    ];
    const wrong = cases.filter(([model, match]) => book.lookup(model)?.match !== match).map(([model, match]) => `${model}: ${book.lookup(model)?.match ?? 'none'}, meant ${match}`);
    expect(wrong).toEqual([]);
    // and some figures, to the cent
    expect(book.lookup('claude-sonnet-4-5-20250929')).toEqual({ match: 'claude-sonnet-4*', input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 });
    expect(book.lookup('claude-opus-4-5')?.input).toBe(5);
    expect(book.lookup('claude-opus-4-1')?.input).toBe(15);
    // a million input tokens of deepseek-chat cost its input price
    expect(usd(book.cost('deepseek-chat', usage(1_000_000))!.cost)).toBe(book.lookup('deepseek-chat')!.input);
  });
});

describe('PriceBook', () => {
  it('an exact id wins over any glob; then the glob with the most literal characters, then fewer wildcards, then the first row; any case', () => {
    const book = new PriceBook([
      row('a*', 1),
      row('ab*', 2),
      row('a?c*', 3), // 3 literal characters like ab*c below, but two wildcards
      row('ab*c', 4),
      row('AB-EXACT', 5),
      row('x*', 6),
      row('x?', 7),
      row('*', 8),
    ]);
    expect(book.lookup('ab-exact')?.input).toBe(5);
    expect(book.lookup('AB-EXACT-2')?.input).toBe(2); // ab* (2 literal) over a* (1) and * (0)
    expect(book.lookup('abxc')?.input).toBe(4); // ab*c and a?c* have 3 literal characters: fewer wildcards wins
    expect(book.lookup('azc-1')?.input).toBe(3);
    expect(book.lookup('x1')?.input).toBe(6); // x* and x? tie on both: the first row
    expect(book.lookup('zzz')?.input).toBe(8);
    expect(new PriceBook([row('a*', 1)]).lookup('zzz')).toBeNull();
  });

  it('globs: * is any run (empty too), ? exactly one character, other characters literal', () => {
    const book = new PriceBook([row('gpt-4.1*', 1), row('o?-mini', 2), row('m(x)+[y]', 3)]);
    expect(book.lookup('gpt-4.1')?.input).toBe(1);
    expect(book.lookup('gpt-4x1')).toBeNull(); // the dot is a dot
    expect(book.lookup('o3-mini')?.input).toBe(2);
    expect(book.lookup('o-mini')).toBeNull();
    expect(book.lookup('o33-mini')).toBeNull();
    expect(book.lookup('m(x)+[y]')?.input).toBe(3);
    expect(book.lookup('mxxy')).toBeNull();
  });

  it('a model named with a vendor prefix is priced by the whole id first, then by the part after the last /', () => {
    const book = new PriceBook([row('claude-*', 1), row('openrouter/claude-*', 2)]);
    expect(book.lookup('anthropic/claude-x')?.input).toBe(1);
    expect(book.lookup('openrouter/claude-x')?.input).toBe(2);
    expect(book.lookup('claude-x/')?.input).toBe(1); // nothing after the slash: the whole id only
    expect(book.lookup('a/b/claude-x')?.input).toBe(1);
  });

  it('a new table drops what was looked up before', () => {
    const book = new PriceBook([row('m*', 1)]);
    expect(book.lookup('m1')?.input).toBe(1);
    const v = book.version;
    book.set([row('m*', 2)], false);
    expect(book.version).toBe(v + 1);
    expect(book.lookup('m1')?.input).toBe(2);
    book.set([], false);
    expect(book.lookup('m1')).toBeNull();
    expect(book.cost('m1', usage(5))).toBeNull();
    expect(book.cost(null, usage(5))).toBeNull();
  });

  it('cost = (input × input + output × output + cache reads × cacheRead + cache writes × cacheWrite) / 10⁶; savings = cache reads × (input − cacheRead) / 10⁶', () => {
    const book = new PriceBook([row('m', 3, { output: 15, cacheRead: 0.3, cacheWrite: 3.75 })]);
    const c = book.cost('m', usage(1234, 567, 8000, 2000))!;
    expect(usd(c.cost)).toBe(0.022107);
    expect(usd(c.cacheSavings)).toBe(0.0216);
    expect(usd(book.cost('m', usage(0))!.cost)).toBe(0);
    expect(usd(book.cost('m', usage(0, 0, 0, 1))!.cost)).toBe(0.00000375);
  });

  it('any token counts at any prices of up to six decimals give the exact decimal figure', () => {
    const micro = fc.integer({ min: 0, max: 200_000_000 }); // up to $200 per million, in millionths
    const tokens = fc.integer({ min: 0, max: 2_000_000 });
    fc.assert(
      fc.property(micro, micro, micro, micro, tokens, tokens, tokens, tokens, (pi, po, pr, pw, ti, to, tr, tw) => {
        const p = row('m', pi / 1e6, { output: po / 1e6, cacheRead: pr / 1e6, cacheWrite: pw / 1e6 });
        const got = usd(new PriceBook([p]).cost('m', usage(ti, to, tr, tw))!.cost);
        // the exact amount in 10⁻¹² USD, then the decimal string of it read as a number
        const exact = BigInt(ti) * BigInt(pi) + BigInt(to) * BigInt(po) + BigInt(tr) * BigInt(pr) + BigInt(tw) * BigInt(pw);
        const s = exact.toString().padStart(13, '0');
        expect(got).toBe(Number(`${s.slice(0, -12)}.${s.slice(-12)}`));
      }),
      { numRuns: 500 },
    );
  });
});
