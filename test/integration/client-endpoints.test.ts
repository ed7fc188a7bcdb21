import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let up: Upstream;

beforeEach(async () => {
  gw = await startTestGateway({ MAX_BODY_MB: '0.01' });
  up = await startUpstream({ format: 'anthropic' });
  await addProvider(gw, { name: 'A', baseUrl: up.url, format: 'anthropic' }, 'normal', ['real']);
  const o = await startUpstream({ format: 'openai' });
  await addProvider(gw, { name: 'O', baseUrl: o.url, format: 'openai' }, 'tool', ['real-o']);
  (gw as any).extra = o;
});
afterEach(async () => {
  await gw.close();
  await up.close();
  await (gw as any).extra.close();
});

const isAnthropicError = (b: any) => b?.type === 'error' && typeof b.error?.type === 'string' && typeof b.error?.message === 'string';
const isOpenAIError = (b: any) => b?.type === undefined && typeof b?.error?.message === 'string' && typeof b.error.type === 'string' && 'code' in b.error;

describe('bad input gets a 4xx in the client format; nothing goes upstream', () => {
  const cases: [string, string | object, number, string][] = [
    ['malformed JSON', '{"model": "sonnet", ', 400, 'JSON'],
    ['a JSON array', '[1,2]', 400, 'object'],
    ['missing model', { max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, 400, 'model'],
    ['model not a string', { model: 42, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, 400, 'model'],
    ['unknown model', { model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, 404, 'sonnet'],
    ['empty messages', { model: 'sonnet', max_tokens: 5, messages: [] }, 400, 'messages'],
    ['body over MAX_BODY_MB', { model: 'sonnet', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(20_000) }] }, 413, 'MAX_BODY_MB'],
  ];
  for (const [name, body, status, mention] of cases) {
    it(`${name}: Anthropic client`, async () => {
      const before = up.requests.length;
      const r = await post(`${gw.url}/v1/messages`, body);
      expect(r.status).toBe(status);
      expect(isAnthropicError(r.body)).toBe(true);
      expect(r.body.error.message).toContain(mention);
      expect(r.headers.get('x-gateway-provider')).toBeTruthy();
      expect(up.requests.length).toBe(before);
      const pools = (await gw.admin('GET', '/admin/pools')).body.pools;
      expect(pools.flatMap((p: any) => p.members).every((m: any) => m.state === 'ready')).toBe(true);
    });
    it(`${name}: OpenAI client`, async () => {
      const r = await post(`${gw.url}/v1/chat/completions`, body);
      expect(r.status).toBe(status);
      expect(isOpenAIError(r.body)).toBe(true);
      expect(r.body.error.message).toContain(mention);
    });
  }

  it('the process keeps serving after bad input', async () => {
    await post(`${gw.url}/v1/messages`, '{{{');
    const r = await post(`${gw.url}/v1/messages`, anthropicBody());
    expect(r.status).toBe(200);
  });
});

describe('routes', () => {
  it('GET /v1/models in OpenAI list form, and Anthropic form with anthropic-version', async () => {
    const o = await fetch(`${gw.url}/v1/models`).then((r) => r.json());
    expect(o.object).toBe('list');
    expect(o.data.map((m: any) => m.id)).toEqual(['haiku', 'sonnet', 'opus']);
    expect(o.data.every((m: any) => m.object === 'model')).toBe(true);
    const a = await fetch(`${gw.url}/v1/models?limit=1000`, { headers: { 'anthropic-version': '2023-06-01' } });
    expect(a.headers.get('x-gateway-provider')).toBeTruthy();
    const ab = await a.json();
    expect(ab.has_more).toBe(false);
    expect(ab.data.map((m: any) => [m.type, m.id])).toEqual([['model', 'haiku'], ['model', 'sonnet'], ['model', 'opus']]);
  });

  it('HEAD / answers 200', async () => {
    const r = await fetch(`${gw.url}/`, { method: 'HEAD' });
    expect(r.status).toBe(200);
  });

  it('unknown routes: 404 JSON', async () => {
    const a = await fetch(`${gw.url}/v1/nothing`, { headers: { 'anthropic-version': '2023-06-01' } });
    expect(a.status).toBe(404);
    expect(isAnthropicError(await a.json())).toBe(true);
    const o = await fetch(`${gw.url}/v1/nothing`);
    expect(o.status).toBe(404);
    expect(isOpenAIError(await o.json())).toBe(true);
    const x = await fetch(`${gw.url}/nowhere`);
    expect(x.status).toBe(404);
    expect((await x.json()).error.message).toContain('/nowhere');
  });

  it('query strings do not change the route', async () => {
    const r = await post(`${gw.url}/v1/messages?beta=true&x=1`, anthropicBody());
    expect(r.status).toBe(200);
    expect(r.headers.get('x-gateway-model')).toBe('real');
  });

  it('no member ready: 503 + Retry-After in both formats, streamed too', async () => {
    const pools = (await gw.admin('GET', '/admin/pools')).body.pools;
    for (const m of pools.flatMap((p: any) => p.members)) await gw.admin('PATCH', `/admin/pools/${pools.find((p: any) => p.members.includes(m)).name}/members/${m.id}`, { enabled: false });
    for (const stream of [false, true]) {
      const a = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream }));
      expect(a.status).toBe(503);
      expect(isAnthropicError(a.body)).toBe(true);
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
      const o = await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku', { stream }));
      expect(o.status).toBe(503);
      expect(isOpenAIError(o.body)).toBe(true);
      expect(Number(o.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it('count_tokens: forwarded to an Anthropic member; counted locally for a pool without one', async () => {
    up.fallback = { kind: 'custom', handle: (_q, _b, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"input_tokens":1234}'); } };
    const a = await post(`${gw.url}/v1/messages/count_tokens?beta=true`, { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hello' }] });
    expect(a.status).toBe(200);
    expect(a.body.input_tokens).toBe(1234);
    expect(up.requests.at(-1)!.path).toBe('/v1/messages/count_tokens');
    expect(up.requests.at(-1)!.body.model).toBe('real');
    const o = await post(`${gw.url}/v1/messages/count_tokens`, { model: 'haiku', messages: [{ role: 'user', content: 'hello there, how are you today?' }] });
    expect(o.status).toBe(200);
    expect(Number.isInteger(o.body.input_tokens)).toBe(true);
    expect(o.body.input_tokens).toBeGreaterThan(0);
  });

  it('count_tokens that the upstream lacks (404) is counted locally and cools nothing', async () => {
    up.fallback = { kind: 'status', status: 404 };
    const a = await post(`${gw.url}/v1/messages/count_tokens`, { model: 'sonnet', messages: [{ role: 'user', content: 'hello' }] });
    expect(a.status).toBe(200);
    expect(a.body.input_tokens).toBeGreaterThan(0);
    const pools = (await gw.admin('GET', '/admin/pools')).body.pools;
    expect(pools[1].members[0].state).toBe('ready');
  });
});
