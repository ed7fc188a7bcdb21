// The admin API refuses what it does not understand (issue 10, item 8): unknown fields name
// themselves (and the field probably meant), duplicate provider names get 409, an empty login is
// "password required" and no guess, unknown routes say so in the right format, every 429 carries
// Retry-After, and a provider's base URL is stored as it is called.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { ADMIN, addProvider, anthropicBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const started: TestGateway[] = [];
const ups: Upstream[] = [];
async function gateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const g = await startTestGateway(env);
  started.push(g);
  return g;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  await Promise.all(ups.map((u) => u.close()));
});

const PROVIDER = { name: 'P', baseUrl: 'http://127.0.0.1:9', format: 'openai', apiKey: 'sk-test-0000000000001' };

describe('unknown fields', () => {
  it('settings: 400 naming the field and the one meant; nothing changes', async () => {
    const gw = await gateway();
    const before = (await gw.admin('GET', '/admin/settings')).body;
    const r = await gw.admin('PATCH', '/admin/settings', { logbodies: true });
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('logbodies');
    expect(r.body.error.message).toContain('unknown field logbodies');
    expect(r.body.error.message).toContain('did you mean logBodies?');
    // one bad field refuses the whole body: the good one is not applied either
    const mixed = await gw.admin('PATCH', '/admin/settings', { logRetentionDays: 7, log_body_max_bytes: 1024 });
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.message).toContain('did you mean logBodyMaxBytes?');
    expect((await gw.admin('GET', '/admin/settings')).body).toEqual(before);
    expect((await gw.admin('PATCH', '/admin/settings', { logBodies: true })).body.logBodies).toBe(true);
  });

  const cases: [string, string, string, (id: number, memberId: number) => unknown, string, string | null][] = [
    ['provider create', 'POST', '/admin/providers', () => ({ ...PROVIDER, name: 'Q', base_url: 'x' }), 'base_url', 'baseUrl'],
    ['provider create, a word off', 'POST', '/admin/providers', () => ({ ...PROVIDER, name: 'Q', cooldown: 5 }), 'cooldown', 'cooldownSeconds'],
    ['provider patch', 'PATCH', '/admin/providers/:id', () => ({ enable: false }), 'enable', 'enabled'],
    ['provider options', 'PATCH', '/admin/providers/:id', () => ({ options: { thinkingstyle: 'budget' } }), 'options.thinkingstyle', 'options.thinkingStyle'],
    ['provider options, nothing close', 'POST', '/admin/providers', () => ({ ...PROVIDER, name: 'Q', options: { temperature: 0 } }), 'options.temperature', null],
    ['pool members', 'POST', '/admin/pools/normal/members', (id) => ({ providerId: id, model: 'x' }), 'model', 'models'],
    ['member patch', 'PATCH', '/admin/pools/normal/members/:member', () => ({ weigth: 2 }), 'weigth', 'weight'],
    ['access key create', 'POST', '/admin/keys', () => ({ name: 'k', RPM: 5 }), 'RPM', 'rpm'],
    ['access key patch', 'PATCH', '/admin/keys/:key', () => ({ max_concurrent: 2 }), 'max_concurrent', 'maxConcurrent'],
    ['provider test', 'POST', '/admin/providers/:id/test', () => ({ model: 'm', prompt: 'hi' }), 'prompt', null],
  ];
  for (const [what, method, route, body, field, meant] of cases) {
    it(`${what}: 400 "unknown field ${field}"${meant ? `, suggesting ${meant}` : ''}`, async () => {
      const gw = await gateway();
      const { providerId, memberIds } = await addProvider(gw, { ...PROVIDER, format: 'openai' }, 'normal', ['m']);
      const key = await gw.admin('POST', '/admin/keys', { name: 'k0' });
      const path = route.replace(':id', String(providerId)).replace(':member', String(memberIds[0])).replace(':key', String(key.body.id));
      const before = JSON.stringify([(await gw.admin('GET', '/admin/providers')).body, (await gw.admin('GET', '/admin/pools')).body.pools.map((p: any) => p.members.map((m: any) => [m.id, m.weight])), (await gw.admin('GET', '/admin/keys')).body.keys.map((k: any) => [k.id, k.name, k.rpm, k.maxConcurrent])]);
      const r = await gw.admin(method, path, body(providerId, memberIds[0]!));
      expect(r.status).toBe(400);
      expect(r.body.error.field).toBe(field);
      expect(r.body.error.message).toContain(`unknown field ${field}`);
      if (meant) expect(r.body.error.message).toContain(`did you mean ${meant}?`);
      else expect(r.body.error.message).not.toContain('did you mean');
      const after = JSON.stringify([(await gw.admin('GET', '/admin/providers')).body, (await gw.admin('GET', '/admin/pools')).body.pools.map((p: any) => p.members.map((m: any) => [m.id, m.weight])), (await gw.admin('GET', '/admin/keys')).body.keys.map((k: any) => [k.id, k.name, k.rpm, k.maxConcurrent])]);
      expect(after).toBe(before);
    });
  }

  it('an answer sent back as it was read passes (its read-only fields are ignored); another member\'s identity does not', async () => {
    const gw = await gateway();
    const { providerId, memberIds } = await addProvider(gw, PROVIDER as any, 'normal', ['m']);
    const provider = (await gw.admin('GET', `/admin/providers/${providerId}`)).body;
    const p = await gw.admin('PATCH', `/admin/providers/${providerId}`, { ...provider, enabled: false });
    expect(p.status).toBe(200);
    expect(p.body.enabled).toBe(false);
    expect(p.body.apiKeyMasked).toBe(provider.apiKeyMasked);
    const member = (await gw.admin('GET', '/admin/pools/normal')).body.members[0];
    const m = await gw.admin('PATCH', `/admin/pools/normal/members/${memberIds[0]}`, { ...member, weight: 4 });
    expect(m.status).toBe(200);
    expect(m.body.weight).toBe(4);
    const other = await gw.admin('PATCH', `/admin/pools/normal/members/${memberIds[0]}`, { model: 'another-model', weight: 5 });
    expect(other.status).toBe(400);
    expect(other.body.error.field).toBe('model');
    expect((await gw.admin('GET', '/admin/pools/normal')).body.members[0]).toMatchObject({ model: 'm', weight: 4 });
  });
});

describe('provider names', () => {
  it('a duplicate name (trimmed, any case) is refused with 409 on create and on rename; a provider may change its own case', async () => {
    const gw = await gateway();
    const a = await gw.admin('POST', '/admin/providers', { ...PROVIDER, name: 'Relay' });
    expect(a.status).toBe(201);
    const dup = await gw.admin('POST', '/admin/providers', { ...PROVIDER, name: '  relay ' });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ field: 'name', code: 'duplicate_name' });
    expect(dup.body.error.message).toContain('"Relay" already exists');
    const b = await gw.admin('POST', '/admin/providers', { ...PROVIDER, name: 'Other' });
    expect(b.status).toBe(201);
    const rename = await gw.admin('PATCH', `/admin/providers/${b.body.id}`, { name: 'RELAY' });
    expect(rename.status).toBe(409);
    expect(rename.body.error.field).toBe('name');
    const own = await gw.admin('PATCH', `/admin/providers/${a.body.id}`, { name: 'RELAY' });
    expect(own.status).toBe(200);
    expect(own.body.name).toBe('RELAY');
    // sending the unchanged name back with another change is no rename
    expect((await gw.admin('PATCH', `/admin/providers/${b.body.id}`, { name: 'Other', enabled: false })).status).toBe(200);
    const names = (await gw.admin('GET', '/admin/providers')).body.providers.map((p: any) => p.name).sort();
    expect(names).toEqual(['Other', 'RELAY']);
  });

  it('two creates with one name at the same moment: one 201, one 409', async () => {
    const gw = await gateway();
    const rs = await Promise.all([1, 2, 3].map(() => gw.admin('POST', '/admin/providers', { ...PROVIDER, name: 'Twin' })));
    expect(rs.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect((await gw.admin('GET', '/admin/providers')).body.providers).toHaveLength(1);
  });
});

describe('login and throttling', () => {
  it('an empty login is 400 "password required", never "wrong password", and never counts as a guess', async () => {
    const gw = await gateway();
    const login = (init: RequestInit) => fetch(`${gw.url}/admin/login`, { method: 'POST', ...init }).then(async (r) => ({ status: r.status, body: await r.json() }));
    for (let i = 0; i < 4; i++) {
      for (const init of [{}, { headers: { 'content-type': 'application/json' }, body: '{}' }, { headers: { 'content-type': 'application/json' }, body: '{"password":""}' }]) {
        const r = await login(init);
        expect(r.status).toBe(400);
        expect(r.body.error.message).toMatch(/^password required/);
        expect(r.body.error.field).toBe('password');
      }
    }
    // twelve empty logins later, the right password still works: none of them counted
    expect((await gw.admin('POST', '/admin/login', { password: ADMIN }, null)).status).toBe(200);
    const unknown = await gw.admin('POST', '/admin/login', { password: ADMIN, remember: true }, null);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('unknown field remember');
    expect((await gw.admin('POST', '/admin/login', { password: 'wrong' }, null)).status).toBe(401);
  });

  it('every 429 carries Retry-After: wrong logins, and guesses through the bearer header', async () => {
    const gw = await gateway();
    for (let i = 0; i < 10; i++) expect((await gw.admin('POST', '/admin/login', { password: `wrong-${i}` }, null)).status).toBe(401);
    const refusals = [
      await gw.admin('POST', '/admin/login', { password: ADMIN }, null),
      await gw.admin('GET', '/admin/providers', undefined, 'a-guess'),
      await gw.admin('GET', '/metrics', undefined, 'a-guess'),
      await gw.admin('POST', '/admin/login', {}, null),
    ];
    for (const r of refusals) {
      expect(r.status).toBe(429);
      const after = Number(r.headers.get('retry-after'));
      expect(Number.isInteger(after)).toBe(true);
      expect(after).toBeGreaterThanOrEqual(1);
      expect(after).toBeLessThanOrEqual(60);
    }
  });
});

describe('unknown routes', () => {
  it('/admin/*: 404 saying the route is unknown (and which method the path takes)', async () => {
    const gw = await gateway();
    const r = await gw.admin('GET', '/admin/providerz');
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'unknown_route' });
    expect(r.body.error.message).toContain('unknown route GET /admin/providerz');
    const method = await gw.admin('PUT', '/admin/settings', { logBodies: true });
    expect(method.status).toBe(404);
    expect(method.body.error.message).toContain('/admin/settings takes GET or PATCH');
  });

  it('/v1/*: 404 in the client\'s format, never model_not_found', async () => {
    const gw = await gateway();
    const openai = await post(`${gw.url}/v1/completions`, { model: 'sonnet', prompt: 'hi' });
    expect(openai.status).toBe(404);
    expect(openai.body.error).toMatchObject({ type: 'invalid_request_error', code: 'unknown_route' });
    expect(openai.body.error.message).toContain('unknown route POST /v1/completions');
    expect(openai.body.error.message).toContain('POST /v1/chat/completions');
    const anthropic = await post(`${gw.url}/v1/messages/batches`, anthropicBody());
    expect(anthropic.status).toBe(404);
    expect(anthropic.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(anthropic.body.error.message).toContain('unknown route POST /v1/messages/batches');
    const get = await fetch(`${gw.url}/v1/messages?beta=true`);
    const getBody = await get.json();
    expect(get.status).toBe(404);
    expect(getBody.type).toBe('error');
    expect(getBody.error.message).toContain('/v1/messages takes POST');
    for (const body of [openai.text, anthropic.text, JSON.stringify(getBody)]) expect(body).not.toContain('model_not_found');
  });
});

describe('base URLs', () => {
  it('are stored and shown as they are called', async () => {
    const gw = await gateway();
    const table: [string, string][] = [
      ['HTTPS://API.Example.COM:443/v1/chat/completions/', 'https://api.example.com/v1'],
      ['http://h:8311/', 'http://h:8311'],
      ['  https://h/api/paas/v4/  ', 'https://h/api/paas/v4'],
      ['https://h/openai/v1/messages?api-version=1#top', 'https://h/openai/v1?api-version=1'],
    ];
    for (const [i, [input, shown]] of table.entries()) {
      const r = await gw.admin('POST', '/admin/providers', { ...PROVIDER, name: `u${i}`, baseUrl: input });
      expect(r.status, input).toBe(201);
      expect(r.body.baseUrl, input).toBe(shown);
      expect((await gw.admin('GET', `/admin/providers/${r.body.id}`)).body.baseUrl).toBe(shown);
    }
    const creds = await gw.admin('POST', '/admin/providers', { ...PROVIDER, name: 'creds', baseUrl: 'https://user:pw@h/v1' });
    expect(creds.status).toBe(400);
    expect(creds.body.error.field).toBe('baseUrl');
  });

  it('a pasted endpoint URL is shown as the base that is called', async () => {
    const gw = await gateway();
    const u = await startUpstream({ format: 'anthropic' });
    ups.push(u);
    const { providerId } = await addProvider(gw, { name: 'A', baseUrl: `${u.url}/v1/messages`, format: 'anthropic' }, 'normal', ['m']);
    expect((await gw.admin('GET', `/admin/providers/${providerId}`)).body.baseUrl).toBe(`${u.url}/v1`);
    expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect(u.requests.at(-1)!.path).toBe('/v1/messages');
  });
});
