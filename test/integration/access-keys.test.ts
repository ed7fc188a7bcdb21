import http from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, streamEvents, type Upstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';
import { addProvider, anthropicBody, getPools, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let up: Upstream;
let upOpenAI: Upstream;

beforeAll(async () => {
  gw = await startTestGateway();
  up = await startUpstream({ format: 'anthropic', name: 'A' });
  upOpenAI = await startUpstream({ format: 'openai', name: 'O' });
  await addProvider(gw, { name: 'A', baseUrl: up.url, format: 'anthropic' }, 'normal', ['claude-real']);
  await addProvider(gw, { name: 'O', baseUrl: upOpenAI.url, format: 'openai' }, 'tool', ['gpt-real']);
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
  await upOpenAI?.close();
});

async function createKey(body: object): Promise<{ id: number; key: string; [k: string]: any }> {
  const r = await gw.admin('POST', '/admin/keys', body);
  expect(r.status).toBe(201);
  return r.body;
}

const upstreamCalls = () => up.requests.length + upOpenAI.requests.length;
const anyCooling = async () => (await getPools(gw)).some((p: any) => p.members.some((m: any) => m.state === 'cooling'));

describe('access keys', () => {
  it('while no key exists, /v1 is open to anyone (any x-api-key, or none)', async () => {
    expect((await gw.admin('GET', '/admin/keys')).body).toEqual({ keys: [] });
    expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect((await post(`${gw.url}/v1/messages`, anthropicBody(), { 'x-api-key': 'whatever' })).status).toBe(200);
    expect((await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku'))).status).toBe(200);
  });

  let alice: { id: number; key: string; [k: string]: any };

  it('creates a key whose secret is shown once and stored only as a hash', async () => {
    alice = await createKey({ name: 'alice' });
    expect(alice.key).toMatch(/^sk-apg-[A-Za-z0-9_-]{32,}$/);
    expect(alice).toMatchObject({ name: 'alice', keyMasked: `****${alice.key.slice(-4)}`, pools: ['tool', 'normal', 'advanced'], rpm: null, maxConcurrent: null, expiresAt: null, enabled: true, lastUsedAt: null });
    const list = await gw.admin('GET', '/admin/keys');
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(alice.key);
    expect(text).not.toContain(alice.key.slice(7, 20));
    expect(list.body.keys[0]).not.toHaveProperty('key');
    const rows = await gw.gateway.db.kysely.selectFrom('access_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(alice.key.slice(7));
  });

  it('refuses bad key fields with 400 naming the field', async () => {
    for (const [body, field] of [
      [{}, 'name'],
      [{ name: 'x', pools: ['gold'] }, 'pools'],
      [{ name: 'x', pools: [] }, 'pools'],
      [{ name: 'x', rpm: 0 }, 'rpm'],
      [{ name: 'x', maxConcurrent: 1.5 }, 'maxConcurrent'],
      [{ name: 'x', expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ name: 'x', key: 'sk-apg-mine' }, 'key'],
      [{ name: 'x', rmp: 5 }, 'rmp'],
    ] as const) {
      const r = await gw.admin('POST', '/admin/keys', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field).toBe(field);
    }
  });

  it('once a key exists, missing or wrong keys get 401 in the client format, reach no provider and cool nothing', async () => {
    const before = upstreamCalls();
    const cases: { path: string; body: object; headers: Record<string, string> }[] = [
      { path: '/v1/messages', body: anthropicBody(), headers: {} },
      { path: '/v1/messages', body: anthropicBody(), headers: { 'x-api-key': 'sk-apg-wrong' } },
      { path: '/v1/messages', body: anthropicBody('sonnet', { stream: true }), headers: { authorization: 'Bearer nope' } },
      { path: '/v1/chat/completions', body: openaiBody('haiku'), headers: {} },
      { path: '/v1/chat/completions', body: openaiBody('haiku', { stream: true }), headers: { authorization: 'Bearer sk-apg-wrong' } },
    ];
    for (const c of cases) {
      const r = await post(gw.url + c.path, c.body, c.headers);
      expect(r.status).toBe(401);
      if (c.path === '/v1/messages') expect(r.body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
      else expect(r.body.error).toMatchObject({ code: 'invalid_api_key' });
      expect(r.text).not.toContain('sk-apg-wrong');
    }
    const models = await fetch(`${gw.url}/v1/models`);
    expect(models.status).toBe(401);
    expect(upstreamCalls()).toBe(before);
    expect(await anyCooling()).toBe(false);
    // HEAD / stays open (Claude Code probes it)
    expect((await fetch(gw.url + '/', { method: 'HEAD' })).status).toBe(200);
  });

  it('a percent-encoded or absolute-form target meets the same checks (the router decodes it)', async () => {
    const send = (target: string, type = 'application/json') => new Promise<number>((resolve, reject) => {
      const u = new URL(gw.url);
      const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: target, headers: { 'content-type': type } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end(JSON.stringify(anthropicBody()));
    });
    const before = upstreamCalls();
    for (const target of ['/%761/messages', '/%76%31/messages', '/v1/%6Dessages', `${gw.url}/v1/messages`, '/%761/chat/completions']) {
      expect(await send(target), target).toBe(401);
      expect(await send(target, 'application/x-www-form-urlencoded'), target).toBe(415);
    }
    const models = await new Promise<number>((resolve) => http.get(`${gw.url}/%761/models`, (res) => { res.resume(); resolve(res.statusCode!); }));
    expect(models).toBe(401);
    expect(upstreamCalls()).toBe(before);
  });

  it('accepts the key as x-api-key or Authorization: Bearer, through the official SDKs', async () => {
    const viaApiKey = new Anthropic({ baseURL: gw.url, apiKey: alice.key, maxRetries: 0 });
    const m = await viaApiKey.messages.create({ model: 'sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    expect(m.content[0].type).toBe('text');
    const viaToken = new Anthropic({ baseURL: gw.url, authToken: alice.key, apiKey: null, maxRetries: 0 });
    const stream = await viaToken.messages.create({ model: 'sonnet', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let events = 0;
    for await (const _ of stream) events++;
    expect(events).toBeGreaterThan(2);
    const oa = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: alice.key, maxRetries: 0 });
    const c = await oa.chat.completions.create({ model: 'haiku', messages: [{ role: 'user', content: 'hi' }] });
    expect(c.choices[0].message.content).toBeTruthy();
    const list = await oa.models.list();
    expect(list.data.map((x) => x.id)).toContain('sonnet');
    // the provider gets its own key, never the client's
    expect(up.requests.at(-1)!.headers['x-api-key']).not.toBe(alice.key);
    expect(JSON.stringify(up.requests.at(-1)!.headers)).not.toContain(alice.key);
  });

  it('a key limited to some pools gets 403 for the others (chat and count_tokens)', async () => {
    const toolOnly = await createKey({ name: 'tool-only', pools: ['tool'] });
    const before = upstreamCalls();
    const r = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet'), { 'x-api-key': toolOnly.key });
    expect(r.status).toBe(403);
    expect(r.body.error.type).toBe('permission_error');
    expect(r.body.error.message).toContain('normal');
    const o = await post(`${gw.url}/v1/chat/completions`, openaiBody('opus'), { authorization: `Bearer ${toolOnly.key}` });
    expect(o.status).toBe(403);
    const ct = await post(`${gw.url}/v1/messages/count_tokens`, anthropicBody('sonnet'), { 'x-api-key': toolOnly.key });
    expect(ct.status).toBe(403);
    expect(upstreamCalls()).toBe(before);
    expect((await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku'), { authorization: `Bearer ${toolOnly.key}` })).status).toBe(200);
  });

  it('over rpm: 429 with Retry-After in the client format, streamed or not, nothing cooled', async () => {
    const k = await createKey({ name: 'slow', rpm: 2 });
    expect((await post(`${gw.url}/v1/messages`, anthropicBody(), { 'x-api-key': k.key })).status).toBe(200);
    expect((await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku'), { 'x-api-key': k.key })).status).toBe(200);
    const before = upstreamCalls();
    const a = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream: true }), { 'x-api-key': k.key });
    expect(a.status).toBe(429);
    expect(a.body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(a.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const o = await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku'), { authorization: `Bearer ${k.key}` });
    expect(o.status).toBe(429);
    expect(o.body.error.code).toBe('rate_limit_exceeded');
    const ct = await post(`${gw.url}/v1/messages/count_tokens`, anthropicBody(), { 'x-api-key': k.key });
    expect(ct.status).toBe(429);
    expect(upstreamCalls()).toBe(before);
    expect(await anyCooling()).toBe(false);
  });

  it('over maxConcurrent: 429 while one request runs, accepted again once it ends', async () => {
    const k = await createKey({ name: 'one-at-a-time', maxConcurrent: 1 });
    // the first request runs until the test lets its upstream answer
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    up.queue.push({ kind: 'custom', handle: (_req, body, res) => {
      void gate.then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(streamEvents('anthropic', body.model, 2).join(''));
      });
    } });
    const before = up.requests.length;
    const running = post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream: true }), { 'x-api-key': k.key });
    await until(async () => up.requests.length > before, 'the first request to reach the upstream');
    const second = await post(`${gw.url}/v1/messages`, anthropicBody(), { 'x-api-key': k.key });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    release();
    expect((await running).status).toBe(200);
    expect((await post(`${gw.url}/v1/messages`, anthropicBody(), { 'x-api-key': k.key })).status).toBe(200);
  });

  it('disabled, expired and deleted keys stop working at once', async () => {
    const k = await createKey({ name: 'temp' });
    const call = () => post(`${gw.url}/v1/messages`, anthropicBody(), { 'x-api-key': k.key });
    expect((await call()).status).toBe(200);
    expect((await gw.admin('PATCH', `/admin/keys/${k.id}`, { enabled: false })).body.enabled).toBe(false);
    const disabled = await call();
    expect(disabled.status).toBe(401);
    expect(disabled.body.error.message).toContain('disabled');
    await gw.admin('PATCH', `/admin/keys/${k.id}`, { enabled: true, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const expired = await call();
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toContain('expired');
    await gw.admin('PATCH', `/admin/keys/${k.id}`, { expiresAt: null });
    expect((await call()).status).toBe(200);
    expect((await gw.admin('DELETE', `/admin/keys/${k.id}`)).status).toBe(204);
    expect((await call()).status).toBe(401);
    expect((await gw.admin('GET', `/admin/keys/${k.id}`)).status).toBe(404);
  });

  it('logs and statistics carry the key; logs filter by key; the key list shows use', async () => {
    const k = await createKey({ name: 'bob' });
    const sent = Date.now();
    expect((await post(`${gw.url}/v1/messages`, anthropicBody(), { 'x-api-key': k.key })).status).toBe(200);
    expect((await post(`${gw.url}/v1/chat/completions`, openaiBody('opus'), { 'x-api-key': k.key })).status).toBe(503); // no member in advanced
    await gw.gateway.telemetry.flush();
    const logs = await gw.admin('GET', `/admin/logs?keyId=${k.id}`);
    expect(logs.body.total).toBe(2);
    expect(logs.body.logs.every((l: any) => l.keyId === k.id && l.keyName === 'bob')).toBe(true);
    const listed = (await gw.admin('GET', '/admin/keys')).body.keys.find((x: any) => x.id === k.id);
    expect(listed.usage).toMatchObject({ requests: 2, errors: 1 });
    expect(listed.usage.outputTokens).toBeGreaterThan(0);
    // set while the requests ran: between the clock read before the first and now
    expect(Date.parse(listed.lastUsedAt)).toBeGreaterThanOrEqual(sent);
    expect(Date.parse(listed.lastUsedAt)).toBeLessThanOrEqual(Date.now());
    const stats = await gw.admin('GET', '/admin/stats?window=1h');
    const row = stats.body.byKey.find((x: any) => x.keyId === k.id);
    expect(row).toMatchObject({ keyName: 'bob', requests: 2, errors: 1 });
    expect(stats.body.byKey.find((x: any) => x.keyId === null).requests).toBeGreaterThan(0); // the open-access requests
    expect((await gw.admin('GET', '/admin/logs?keyId=abc')).status).toBe(400);
  });

  it('a provider refusing the gateway\'s own key is not blamed on the client\'s key, and is not retried', async () => {
    up.queue.push({ kind: 'status', status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } });
    const a = await post(`${gw.url}/v1/messages`, anthropicBody(), { 'x-api-key': alice.key });
    expect(a.status).toBe(401);
    expect(a.headers.get('x-should-retry')).toBe('false');
    expect(a.body.error.message).toContain('provider "A"');
    expect(a.body.error.message).toContain('not your access key');
    upOpenAI.queue.push({ kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const o = await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku'), { authorization: `Bearer ${alice.key}` });
    expect(o.status).toBe(401);
    expect(o.body.error.code).toBe('upstream_key_rejected');
    expect(o.headers.get('x-should-retry')).toBe('false');
    for (const p of await getPools(gw)) for (const m of p.members) if (m.state === 'cooling') await gw.admin('POST', `/admin/pools/${p.name}/members/${m.id}/reset`);
  });

  it('status tells the UI whether access is open', async () => {
    const s = await gw.admin('GET', '/admin/status');
    expect(s.body.security).toMatchObject({ openAccess: false, exposed: false, passwordFromEnv: true });
    expect(s.body.security.accessKeys).toBeGreaterThan(0);
  });
});
