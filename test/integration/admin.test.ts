import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';
import { ADMIN, addProvider, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let ups: Upstream[] = [];

beforeEach(async () => {
  gw = await startTestGateway();
  ups = [];
});
afterEach(async () => {
  await gw.close();
  await Promise.all(ups.map((u) => u.close()));
});

const SECRET = 'sk-live-SECRET-abcdefghijklmnop-WXYZ';

describe('admin auth', () => {
  const routes: [string, string][] = [
    ['GET', '/admin/providers'],
    ['POST', '/admin/providers'],
    ['GET', '/admin/providers/1'],
    ['PATCH', '/admin/providers/1'],
    ['DELETE', '/admin/providers/1'],
    ['POST', '/admin/providers/1/models/fetch'],
    ['GET', '/admin/providers/1/models'],
    ['GET', '/admin/pools'],
    ['POST', '/admin/pools/normal/members'],
    ['PATCH', '/admin/pools/normal/members/1'],
    ['DELETE', '/admin/pools/normal/members/1'],
    ['POST', '/admin/pools/normal/members/1/reset'],
  ];
  for (const [method, path] of routes) {
    it(`${method} ${path} refuses a missing or wrong token with 401 JSON`, async () => {
      for (const token of [null, 'wrong', '']) {
        const r = await gw.admin(method, path, method === 'GET' || method === 'DELETE' ? undefined : {}, token);
        expect(r.status).toBe(401);
        expect(typeof r.body.error.message).toBe('string');
      }
    });
  }

  it('login returns a token that works; a wrong password gets 401; the password itself works as a token', async () => {
    const bad = await gw.admin('POST', '/admin/login', { password: 'nope' }, null);
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toBeTruthy();
    const ok = await gw.admin('POST', '/admin/login', { password: ADMIN }, null);
    expect(ok.status).toBe(200);
    expect(typeof ok.body.token).toBe('string');
    expect(Date.parse(ok.body.expiresAt)).toBeGreaterThan(Date.now());
    expect((await gw.admin('GET', '/admin/providers', undefined, ok.body.token)).status).toBe(200);
    expect((await gw.admin('GET', '/admin/providers', undefined, ADMIN)).status).toBe(200);
  });
});

describe('sessions', () => {
  it('logout ends a token; other tokens keep working', async () => {
    const t1 = (await gw.admin('POST', '/admin/login', { password: ADMIN }, null)).body.token;
    const t2 = (await gw.admin('POST', '/admin/login', { password: ADMIN }, null)).body.token;
    expect((await gw.admin('POST', '/admin/logout', undefined, t1)).status).toBe(204);
    expect((await gw.admin('GET', '/admin/pools', undefined, t1)).status).toBe(401);
    expect((await gw.admin('GET', '/admin/pools', undefined, t2)).status).toBe(200);
  });

  it('tokens survive a restart, but not a change of ADMIN_PASSWORD', async () => {
    const token = (await gw.admin('POST', '/admin/login', { password: ADMIN }, null)).body.token;
    const dir = gw.dataDir;
    await gw.close();
    gw = await startTestGateway({}, dir);
    expect((await gw.admin('GET', '/admin/pools', undefined, token)).status).toBe(200);
    await gw.close();
    gw = await startTestGateway({ ADMIN_PASSWORD: 'a-new-password' }, dir);
    expect((await gw.admin('GET', '/admin/pools', undefined, token)).status).toBe(401);
    expect((await gw.admin('GET', '/admin/pools', undefined, 'a-new-password')).status).toBe(200);
  });

  it('guessing through the bearer header is throttled like wrong logins', async () => {
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await gw.admin('GET', '/admin/pools', undefined, `guess-${i}`)).status;
    expect(last).toBe(429);
    // wrong logins from the same address are refused too, even with the right password, for a minute
    expect((await gw.admin('POST', '/admin/login', { password: ADMIN }, null)).status).toBe(429);
  });
});

describe('providers', () => {
  it('creates, reads, updates and deletes; the key never comes back', async () => {
    const c = await gw.admin('POST', '/admin/providers', { name: 'Relay 1', baseUrl: 'http://127.0.0.1:9/v1', apiKey: SECRET, format: 'openai' });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ name: 'Relay 1', baseUrl: 'http://127.0.0.1:9/v1', format: 'openai', enabled: true, apiKeyMasked: '****WXYZ' });
    expect(typeof c.body.id).toBe('number');
    expect(typeof c.body.cooldownSeconds).toBe('number');
    expect(Date.parse(c.body.createdAt)).toBeGreaterThan(0);
    const id = c.body.id;

    const g = await gw.admin('GET', `/admin/providers/${id}`);
    expect(g.status).toBe(200);
    const p = await gw.admin('PATCH', `/admin/providers/${id}`, { enabled: false, cooldownSeconds: 5, apiKey: 'sk-new-key-0000000009876' });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ enabled: false, cooldownSeconds: 5, apiKeyMasked: '****9876' });
    const list = await gw.admin('GET', '/admin/providers');
    expect(list.body.providers).toHaveLength(1);
    for (const r of [c, g, p, list]) {
      const text = JSON.stringify(r.body);
      expect(text).not.toContain('SECRET');
      expect(text).not.toContain('sk-new-key');
      expect(text).not.toMatch(/"apiKey"/);
    }
    expect((await gw.admin('DELETE', `/admin/providers/${id}`)).status).toBe(204);
    expect((await gw.admin('GET', `/admin/providers/${id}`)).status).toBe(404);
  });

  it('a short key is masked completely', async () => {
    const c = await gw.admin('POST', '/admin/providers', { name: 'local', baseUrl: 'http://127.0.0.1:9', apiKey: 'abc12', format: 'openai' });
    expect(c.body.apiKeyMasked).toBe('****');
  });

  const bad: [string, object, string][] = [
    ['missing name', { baseUrl: 'http://h', format: 'openai' }, 'name'],
    ['empty name', { name: ' ', baseUrl: 'http://h', format: 'openai' }, 'name'],
    ['bad URL', { name: 'x', baseUrl: 'not a url', format: 'openai' }, 'baseUrl'],
    ['ftp URL', { name: 'x', baseUrl: 'ftp://h', format: 'openai' }, 'baseUrl'],
    ['bad format', { name: 'x', baseUrl: 'http://h', format: 'gemini' }, 'format'],
    ['bad enabled', { name: 'x', baseUrl: 'http://h', format: 'openai', enabled: 'yes' }, 'enabled'],
    ['negative cooldown', { name: 'x', baseUrl: 'http://h', format: 'openai', cooldownSeconds: -1 }, 'cooldownSeconds'],
    ['key with newline', { name: 'x', baseUrl: 'http://h', format: 'openai', apiKey: 'a\nb' }, 'apiKey'],
  ];
  for (const [name, body, field] of bad) {
    it(`400 naming the field: ${name}`, async () => {
      const r = await gw.admin('POST', '/admin/providers', body);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain(field);
      expect(r.body.error.field).toBe(field);
      expect((await gw.admin('GET', '/admin/providers')).body.providers).toHaveLength(0);
    });
  }

  it('malformed JSON to the admin API: 400 and the server keeps serving', async () => {
    const res = await fetch(`${gw.url}/admin/providers`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"name":' });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/JSON/);
    expect((await gw.admin('GET', '/admin/providers')).status).toBe(200);
  });

  for (const format of ['openai', 'anthropic'] as const) {
    it(`fetches the ${format} provider's own model list with its key, and keeps it`, async () => {
      const u = await startUpstream({ format, key: SECRET, models: ['m-2', 'm-1', 'm-3'] });
      ups.push(u);
      const c = await gw.admin('POST', '/admin/providers', { name: 'P', baseUrl: u.url, apiKey: SECRET, format });
      const f = await gw.admin('POST', `/admin/providers/${c.body.id}/models/fetch`);
      expect(f.status).toBe(200);
      // a list that says nothing about what its models hold: unknown (null), never guessed
      expect(f.body.models).toEqual(['m-1', 'm-2', 'm-3'].map((id) => ({ id, contextWindow: null, vision: null })));
      const req = u.requests.at(-1)!;
      expect(req.path).toBe('/v1/models');
      if (format === 'anthropic') expect(req.headers['x-api-key']).toBe(SECRET);
      else expect(req.headers.authorization).toBe(`Bearer ${SECRET}`);
      const g = await gw.admin('GET', `/admin/providers/${c.body.id}/models`);
      expect(g.body.models).toEqual(f.body.models);
    });
  }

  it('a model fetch that fails upstream says why (502) and keeps the last list', async () => {
    const u = await startUpstream({ format: 'openai', key: 'right-key-1234567' });
    ups.push(u);
    const c = await gw.admin('POST', '/admin/providers', { name: 'P', baseUrl: u.url, apiKey: 'wrong-key-12345678', format: 'openai' });
    const f = await gw.admin('POST', `/admin/providers/${c.body.id}/models/fetch`);
    expect(f.status).toBe(502);
    expect(f.body.error.message).toContain('401');
    expect(JSON.stringify(f.body)).not.toContain('wrong-key');
  });
});

describe('pools and members', () => {
  it('lists the three pools in order with their virtual models', async () => {
    const r = await gw.admin('GET', '/admin/pools');
    expect(r.body.pools.map((p: any) => [p.name, p.virtualModel])).toEqual([['tool', 'haiku'], ['normal', 'sonnet'], ['advanced', 'opus']]);
  });

  it('adds members once, patches weight and enabled, resets, deletes; deleting a provider removes its members', async () => {
    const c = await gw.admin('POST', '/admin/providers', { name: 'P', baseUrl: 'http://127.0.0.1:9', apiKey: SECRET, format: 'anthropic' });
    const a = await gw.admin('POST', '/admin/pools/normal/members', { providerId: c.body.id, models: ['x', 'y'] });
    expect(a.status).toBe(201);
    expect(a.body.members).toHaveLength(2);
    expect(a.body.members[0]).toMatchObject({ providerId: c.body.id, providerName: 'P', model: 'x', enabled: true, weight: 1, state: 'ready', cooldownUntil: null, lastError: null });
    const again = await gw.admin('POST', '/admin/pools/normal/members', { providerId: c.body.id, models: ['x'] });
    expect(again.status).toBe(201);
    expect(again.body.members[0].id).toBe(a.body.members[0].id);
    let pools = (await gw.admin('GET', '/admin/pools')).body.pools;
    expect(pools[1].members).toHaveLength(2);

    const id = a.body.members[0].id;
    const p = await gw.admin('PATCH', `/admin/pools/normal/members/${id}`, { weight: 5, enabled: false });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ weight: 5, enabled: false, state: 'disabled' });
    expect((await gw.admin('PATCH', `/admin/pools/normal/members/${id}`, { weight: 0 })).status).toBe(400);
    expect((await gw.admin('PATCH', `/admin/pools/tool/members/${id}`, { weight: 2 })).status).toBe(404);
    const reset = await gw.admin('POST', `/admin/pools/normal/members/${id}/reset`);
    expect(reset.status).toBe(200);
    expect(reset.body.cooldownUntil).toBeNull();

    expect((await gw.admin('DELETE', `/admin/pools/normal/members/${a.body.members[1].id}`)).status).toBe(204);
    pools = (await gw.admin('GET', '/admin/pools')).body.pools;
    expect(pools[1].members).toHaveLength(1);

    await gw.admin('POST', '/admin/pools/tool/members', { providerId: c.body.id, models: ['z'] });
    expect((await gw.admin('DELETE', `/admin/providers/${c.body.id}`)).status).toBe(204);
    pools = (await gw.admin('GET', '/admin/pools')).body.pools;
    expect(pools.flatMap((p: any) => p.members)).toHaveLength(0);
  });

  it('400 on bad member input, 404 on an unknown pool', async () => {
    expect((await gw.admin('POST', '/admin/pools/normal/members', { providerId: 999, models: ['x'] })).body.error.field).toBe('providerId');
    expect((await gw.admin('POST', '/admin/pools/normal/members', { providerId: 1, models: [] })).status).toBe(400);
    expect((await gw.admin('POST', '/admin/pools/huge/members', { providerId: 1, models: ['x'] })).status).toBe(404);
  });
});

describe('persistence', () => {
  it('a restart keeps providers, pools, members and cooldowns', async () => {
    const u = await startUpstream({ format: 'anthropic' });
    ups.push(u);
    const { providerId, memberIds } = await addProvider(gw, { name: 'Keep', baseUrl: u.url, format: 'anthropic', apiKey: SECRET }, 'advanced', ['m1', 'm2']);
    await gw.admin('PATCH', `/admin/pools/advanced/members/${memberIds[1]}`, { weight: 3 });
    u.fallback = { kind: 'status', status: 500 };
    await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'opus', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) });
    const before = (await gw.admin('GET', '/admin/pools')).body.pools;
    // the cooldowns are written in the background: wait until every cooling member's is stored
    const cooling = before[2].members.filter((m: any) => m.state === 'cooling').map((m: any) => m.id);
    await until(async () => (await gw.gateway.repo.listMembers()).filter((m) => cooling.includes(m.id) && m.cooldownUntil !== null).length === cooling.length, 'the cooldowns to be stored');
    const dir = gw.dataDir;
    await gw.close();
    gw = await startTestGateway({}, dir);
    const providers = (await gw.admin('GET', '/admin/providers')).body.providers;
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({ id: providerId, name: 'Keep', apiKeyMasked: '****WXYZ' });
    const after = (await gw.admin('GET', '/admin/pools')).body.pools;
    expect(after[2].members.map((m: any) => [m.id, m.model, m.weight, m.state])).toEqual(before[2].members.map((m: any) => [m.id, m.model, m.weight, m.state]));
    expect(after[2].members.filter((m: any) => m.state === 'cooling').length).toBeGreaterThan(0);
    // and it still routes with the stored key
    u.fallback = { kind: 'ok' };
    await gw.admin('POST', `/admin/pools/advanced/members/${memberIds[0]}/reset`);
    await gw.admin('POST', `/admin/pools/advanced/members/${memberIds[1]}/reset`);
    const r = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'opus', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) });
    expect(r.status).toBe(200);
    expect(u.requests.at(-1)!.headers['x-api-key']).toBe(SECRET);
  });
});
