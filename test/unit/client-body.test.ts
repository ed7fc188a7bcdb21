import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ClientBody, onlyModelChanged } from '../../src/protocol/client-body.js';
import { scanJson } from '../../src/protocol/json-depth.js';

const read = (text: string | Buffer): ClientBody => {
  const r = ClientBody.read(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
  if (typeof r === 'string') throw new Error(r);
  return r;
};

describe('scanJson: the top-level model value, found in the same pass as the depth', () => {
  const cases: [string, string, string | null][] = [
    ['first key', '{"model":"sonnet","messages":[]}', '"sonnet"'],
    ['spaces around the colon', '{ "model" :\t "sonnet" , "x": 1}', '"sonnet"'],
    ['after a nested "model"', '{"tools":[{"input_schema":{"properties":{"model":{"type":"string"}}}}],"model":"opus"}', '"opus"'],
    ['a value that is the word model', '{"system":"model","model":"haiku"}', '"haiku"'],
    ['a string value holding quotes', '{"model":"a\\"b\\\\","x":1}', '"a\\"b\\\\"'],
    ['only nested', '{"a":{"model":"x"}}', null],
    ['written twice', '{"model":"a","model":"b"}', null],
    ['not a string', '{"model":42}', null],
    ['key spelled with an escape', '{"mod\\u0065l":"x"}', null],
    ['an array body', '[{"model":"x"}]', null],
    ['unterminated', '{"model":"x', null],
  ];
  it.each(cases)('%s', (_name, text, value) => {
    const span = scanJson(text).model;
    expect(span === null ? null : text.slice(span[0], span[1])).toBe(value);
  });
});

describe('ClientBody: read once for routing, forwarded as its bytes', () => {
  it('an ASCII body: the view is the exact body, and the model is spliced into the bytes', () => {
    const text = '{"model":"sonnet","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}';
    const b = read(text);
    expect(b.ascii).toBe(true);
    expect(b.exact()).toBe(b.view);
    expect(b.withModel('up-model')!.toString()).toBe(text.replace('"sonnet"', '"up-model"'));
  });

  it('a body with Chinese and emoji: the view holds UTF-8 bytes, text() and exact() give back what was sent', () => {
    const content = '你好，世界 — naïve 🚀';
    const text = JSON.stringify({ model: 'sonnet', metadata: { user_id: '用户-1' }, messages: [{ role: 'user', content }] });
    const b = read(text);
    expect(b.ascii).toBe(false);
    const viewContent = (b.view.messages as { content: string }[])[0].content;
    expect(viewContent).not.toBe(content); // (the view's string is the bytes, one character each)
    expect(b.text(viewContent)).toBe(content);
    expect((b.exact().messages as { content: string }[])[0].content).toBe(content);
    const out = b.withModel('模型-x')!;
    expect(out.equals(Buffer.from(text.replace('"sonnet"', JSON.stringify('模型-x')), 'utf8'))).toBe(true);
  });

  it('names (model, conversation) are exact even when raw UTF-8 and \\u00XX escapes are mixed', () => {
    const text = '{"model":"caf\\u00e9-sonnet","metadata":{"user_id":"\\u00fcser"},"messages":[{"role":"user","content":"你好"}]}';
    const b = read(text);
    expect(b.ascii).toBe(false);
    expect(b.text(b.named.model as string)).toBe('café-sonnet');
    expect(b.text((b.named.metadata as { user_id: string }).user_id)).toBe('üser');
    const plain = read('{"model":"café","messages":[]}');
    expect(plain.named).toBe(plain.view);
    expect(plain.text(plain.named.model as string)).toBe('café');
  });

  it('refuses what is not a JSON object, with the reason', () => {
    const bad: [string, RegExp][] = [
      ['', /empty/],
      ['{"model":', /not valid JSON/],
      ['[1,2]', /must be a JSON object/],
      ['"text"', /must be a JSON object/],
      ['null', /must be a JSON object/],
      ['['.repeat(200) + ']'.repeat(200), /deeper than 128/],
    ];
    for (const [text, why] of bad) expect(ClientBody.read(Buffer.from(text))).toMatch(why);
  });

  it('accepts exactly what JSON.parse of the UTF-8 text accepts (a byte ≥ 0x80 outside a string fails both)', () => {
    for (const text of ['{"a":1}\u00a0', '\ufeff{"a":1}', '{"a":"\u00e9"}', '{"a":1 }']) {
      let utf8Ok = true;
      try { JSON.parse(text); } catch { utf8Ok = false; }
      expect(typeof ClientBody.read(Buffer.from(text, 'utf8')) !== 'string').toBe(utf8Ok);
    }
  });

  it('invalid UTF-8 inside a string: read as UTF-8 decoding would (replacement character), bytes kept as sent', () => {
    const raw = Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    const b = read(raw);
    expect((b.exact().messages as { content: string }[])[0].content).toBe('a\ufffd\ufffd');
    expect(b.withModel('x')!.subarray(-10).equals(raw.subarray(-10))).toBe(true);
  });

  it('head(): the first bytes for the request log, saying how many were left out', () => {
    const b = read(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(100) }] }));
    expect(b.head(20)).toMatch(/^\{"model":"m","messag… \[\d+ more bytes\]$/);
    expect(b.head(10_000)).toBe(b.raw.toString());
  });

  it('a body that came parsed (another content type) is read the same way', () => {
    const b = ClientBody.of({ model: 'm', messages: [] });
    expect(typeof b).not.toBe('string');
    expect((b as ClientBody).withModel('n')!.toString()).toBe('{"model":"n","messages":[]}');
    expect(ClientBody.of(undefined)).toMatch(/must be a JSON object/);
  });

  it('property: the spliced bytes parse to the exact body with only the model changed', () => {
    const value = fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.boolean(), fc.constant(null));
    const obj = fc.dictionary(fc.string({ unit: 'grapheme' }).filter((k) => k !== 'model' && k !== '__proto__'), fc.oneof(value, fc.array(value), fc.dictionary(fc.string(), value)));
    fc.assert(
      fc.property(obj, fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.nat(5), (rest, model, next, at) => {
        const entries = Object.entries(rest);
        entries.splice(Math.min(at, entries.length), 0, ['model', model]);
        const text = JSON.stringify(Object.fromEntries(entries));
        const b = read(text);
        const exact = JSON.parse(Buffer.from(text, 'utf8').toString('utf8'));
        expect(b.exact()).toEqual(exact);
        expect(b.text(b.named.model as string)).toBe(exact.model);
        expect(JSON.parse(b.withModel(next)!.toString('utf8'))).toEqual({ ...exact, model: next });
      }),
      { numRuns: 300 },
    );
  });
});

describe('exact(): the view with its non-ASCII strings re-read as UTF-8', () => {
  /** JSON text with non-ASCII characters written raw, or (ensure_ascii style) as \\u escapes. */
  const escaped = (text: string) => text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  it('property: equals the UTF-8 parse, raw text, escaped text, or both in one body; keys too', () => {
    const str = fc.string({ unit: 'binary', maxLength: 12 });
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.constant(null), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(str, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(tree, tree, fc.constantFrom('raw', 'escaped', 'mixed'), (a, b, how) => {
        const ta = JSON.stringify({ a });
        const tb = JSON.stringify({ b });
        const text = how === 'raw' ? JSON.stringify({ model: 'm', a, b }) : how === 'escaped' ? escaped(JSON.stringify({ model: 'm', a, b })) : `{"model":"m","a":${ta.slice(5, -1)},"b":${escaped(tb).slice(5, -1)}}`;
        const body = read(text);
        expect(body.exact()).toEqual(JSON.parse(Buffer.from(text, 'utf8').toString('utf8')));
      }),
      { numRuns: 400 },
    );
  });

  it('shares every part of the view that holds no non-ASCII text', () => {
    const tools = [{ name: 'Read', input_schema: { type: 'object' } }];
    const b = read(JSON.stringify({ model: 'm', tools, messages: [{ role: 'user', content: '你好' }] }));
    const exact = b.exact();
    expect(exact.tools).toBe(b.view.tools);
    expect((exact.messages as { content: string }[])[0].content).toBe('你好');
  });

  it('a "__proto__" key stays an own property, as JSON.parse makes it', () => {
    const text = '{"model":"m","x":{"__proto__":{"polluted":"是"},"k":"值"}}';
    const exact = read(text).exact();
    expect(exact).toEqual(JSON.parse(text));
    expect(Object.keys(exact.x as object)).toEqual(['__proto__', 'k']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('onlyModelChanged: the same-format preparation changed nothing but the model', () => {
  const view = { model: 'a', messages: [1], stream: true };
  it.each([
    ['the same object', view, true],
    ['a copy with a new model', { ...view, model: 'b' }, true],
    ['a field dropped', { model: 'b', messages: view.messages }, false],
    ['a field replaced', { ...view, model: 'b', messages: [1] }, false],
    ['a field added', { ...view, model: 'b', thinking: {} }, false],
  ] as [string, Record<string, unknown>, boolean][])('%s', (_n, prepared, expected) => {
    expect(onlyModelChanged(view, prepared)).toBe(expected);
  });
  it('a view without a model is never spliced', () => {
    const v = { messages: [] };
    expect(onlyModelChanged(v, { ...v, model: 'x' })).toBe(false);
  });
});
