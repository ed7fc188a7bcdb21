import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { testDatabase } from '../helpers/postgres.js';
import { missing } from '../helpers/needs.js';
import { until } from '../helpers/wait.js';
import { addProvider, anthropicBody, getPools, memberOf, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * CONTRACT "Conversations and member capabilities", the admin side: a pool's `affinity`
 * (PATCH /admin/pools/:pool), a member's `contextWindow` / `vision` (set by PATCH, prefilled from
 * the provider's fetched model list), and each log row's `conversation` / `affinity` with
 * `GET /admin/logs?conversation=`. Run on SQLite and, when it is there, on PostgreSQL.
 */

/** An OpenAI-format model list shaped like the real ones that state what a model holds. */
const MODEL_LIST = {
  object: 'list',
  data: [
    // OpenRouter: context_length and architecture.input_modalities
    { id: 'or-vision', context_length: 200000, architecture: { input_modalities: ['text', 'image'], output_modalities: ['text'] }, top_provider: { context_length: 100000 } },
    { id: 'or-text', context_length: 131072, architecture: { input_modalities: ['text'] } },
    // only the routed provider's window
    { id: 'top-only', context_length: null, top_provider: { context_length: 65536 } },
    // vLLM
    { id: 'vllm', object: 'model', max_model_len: 32768 },
    // LiteLLM-style, and a string count
    { id: 'litellm', max_input_tokens: '8192', capabilities: { vision: false } },
    // models.dev-style modalities object
    { id: 'md', context_window: 1000000, modalities: { input: ['text', 'image', 'pdf'], output: ['text'] } },
    // says nothing: nothing is guessed (even from a name that sounds like it)
    { id: 'gpt-4o-vision-128k', object: 'model' },
    // nonsense values are not taken
    { id: 'junk', context_length: -5, max_model_len: 1.5, architecture: { input_modalities: [] } },
  ],
};

const EXPECTED = [
  { id: 'gpt-4o-vision-128k', contextWindow: null, vision: null },
  { id: 'junk', contextWindow: null, vision: null },
  { id: 'litellm', contextWindow: 8192, vision: false },
  { id: 'md', contextWindow: 1000000, vision: true },
  { id: 'or-text', contextWindow: 131072, vision: false },
  { id: 'or-vision', contextWindow: 200000, vision: true },
  { id: 'top-only', contextWindow: 65536, vision: null },
  { id: 'vllm', contextWindow: 32768, vision: null },
];

async function modelListServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(MODEL_LIST));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const sessionHeader = (id: string) => ({ 'x-claude-code-session-id': id });

function suite(engine: 'sqlite' | 'postgres', envFor: () => Record<string, string>) {
  const gateways: TestGateway[] = [];
  const closers: (() => Promise<void>)[] = [];
  const gateway = async (dataDir?: string) => {
    const g = await startTestGateway(envFor(), dataDir);
    gateways.push(g);
    return g;
  };
  const stop = async (g: TestGateway) => {
    gateways.splice(gateways.indexOf(g), 1);
    await g.close();
  };
  const upstream = async () => {
    const u = await startUpstream({ format: 'anthropic' });
    closers.push(() => u.close());
    return u;
  };
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close().catch(() => {})));
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  describe(`pool affinity (${engine})`, () => {
    it('every pool starts with affinity "session"; PATCH {"affinity":"none"} answers the Pool, GET shows it, the gateway routes by it', async () => {
      const g = await gateway();
      const before = await getPools(g);
      expect(before.map((p: any) => [p.name, p.affinity])).toEqual([['tool', 'session'], ['normal', 'session'], ['advanced', 'session']]);

      const u: Upstream = await upstream();
      await addProvider(g, { name: 'A', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
      // on: a conversation is new, then kept
      expect((await post(`${g.url}/v1/messages`, anthropicBody(), sessionHeader('s-1'))).headers.get('x-gateway-affinity')).toBe('new');
      expect((await post(`${g.url}/v1/messages`, anthropicBody(), sessionHeader('s-1'))).headers.get('x-gateway-affinity')).toBe('kept');

      const r = await g.admin('PATCH', '/admin/pools/normal', { affinity: 'none' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ name: 'normal', virtualModel: 'sonnet', affinity: 'none' });
      expect(r.body.members).toHaveLength(1);
      expect(r.body.members[0]).toMatchObject({ model: 'm', providerName: 'A' });
      const pools = await getPools(g);
      expect(pools.map((p: any) => p.affinity)).toEqual(['session', 'none', 'session']);
      expect(g.gateway.poolAffinity('normal')).toBe('none');
      expect(g.gateway.poolAffinity('tool')).toBe('session');
      // off: the same conversation gets no affinity
      expect((await post(`${g.url}/v1/messages`, anthropicBody(), sessionHeader('s-1'))).headers.get('x-gateway-affinity')).toBe('none');

      const back = await g.admin('PATCH', '/admin/pools/normal', { affinity: 'session' });
      expect(back.status).toBe(200);
      expect(back.body.affinity).toBe('session');
      expect(g.gateway.poolAffinity('normal')).toBe('session');
    });

    it('the pool JSON sent back as read is accepted; bad and unknown fields are 400 naming the field; an unknown pool is 404', async () => {
      const g = await gateway();
      const pool = (await getPools(g))[0];
      const same = await g.admin('PATCH', '/admin/pools/tool', { ...pool, affinity: 'none' });
      expect(same.status).toBe(200);
      expect(same.body.affinity).toBe('none');

      const bad = await g.admin('PATCH', '/admin/pools/tool', { affinity: 'sticky' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('affinity');
      const typo = await g.admin('PATCH', '/admin/pools/tool', { afinity: 'session' });
      expect(typo.status).toBe(400);
      expect(typo.body.error.field).toBe('afinity');
      expect(typo.body.error.message).toContain('did you mean affinity?');
      const rename = await g.admin('PATCH', '/admin/pools/tool', { name: 'normal', affinity: 'session' });
      expect(rename.status).toBe(400);
      expect(rename.body.error.field).toBe('name');
      expect((await g.admin('PATCH', '/admin/pools/huge', { affinity: 'none' })).status).toBe(404);
      expect((await g.admin('PATCH', '/admin/pools/tool', { affinity: 'none' }, 'wrong-token')).status).toBe(401);
      // nothing of the refused ones changed anything
      expect((await getPools(g)).map((p: any) => p.affinity)).toEqual(['none', 'session', 'session']);
    });

    it('the setting is stored: a restart (or another replica) starts with it', async () => {
      const g = await gateway();
      await g.admin('PATCH', '/admin/pools/advanced', { affinity: 'none' });
      const dir = g.dataDir;
      await stop(g);
      const again = await gateway(engine === 'sqlite' ? dir : undefined);
      expect(again.gateway.poolAffinity('advanced')).toBe('none');
      expect((await getPools(again)).map((p: any) => p.affinity)).toEqual(['session', 'session', 'none']);
    });
  });

  describe(`member capabilities (${engine})`, () => {
    it('contextWindow and vision start unknown (null), are set by PATCH, cleared with null, and kept over a restart', async () => {
      const g = await gateway();
      const { memberIds: [id] } = await addProvider(g, { name: 'P', baseUrl: 'http://127.0.0.1:9', format: 'openai' }, 'normal', ['m']);
      expect(memberOf(await getPools(g), id!)).toMatchObject({ contextWindow: null, vision: null });

      const p = await g.admin('PATCH', `/admin/pools/normal/members/${id}`, { contextWindow: 128000, vision: false });
      expect(p.status).toBe(200);
      expect(p.body).toMatchObject({ id, contextWindow: 128000, vision: false });
      expect(g.gateway.registry.member(id!)).toMatchObject({ contextWindow: 128000, vision: false });
      const v = await g.admin('PATCH', `/admin/pools/normal/members/${id}`, { vision: true });
      expect(v.body).toMatchObject({ contextWindow: 128000, vision: true });
      // the member sent back as read, with one change
      const round = await g.admin('PATCH', `/admin/pools/normal/members/${id}`, { ...v.body, contextWindow: 200000 });
      expect(round.status).toBe(200);
      expect(round.body).toMatchObject({ contextWindow: 200000, vision: true });

      const dir = g.dataDir;
      await stop(g);
      const g2 = await gateway(engine === 'sqlite' ? dir : undefined);
      expect(memberOf(await getPools(g2), id!)).toMatchObject({ contextWindow: 200000, vision: true });
      const cleared = await g2.admin('PATCH', `/admin/pools/normal/members/${id}`, { contextWindow: null, vision: null });
      expect(cleared.body).toMatchObject({ contextWindow: null, vision: null });
      expect(g2.gateway.registry.member(id!)).toMatchObject({ contextWindow: null, vision: null });
    });

    const badPatches: [object, string][] = [
      [{ contextWindow: 0 }, 'contextWindow'],
      [{ contextWindow: 1.5 }, 'contextWindow'],
      [{ contextWindow: '128k' }, 'contextWindow'],
      [{ contextWindow: 100_000_001 }, 'contextWindow'],
      [{ vision: 'yes' }, 'vision'],
      [{ vision: 1 }, 'vision'],
      [{ context_window: 1000 }, 'context_window'],
    ];
    it('a bad contextWindow or vision is 400 naming the field, and changes nothing', async () => {
      const g = await gateway();
      const { memberIds: [id] } = await addProvider(g, { name: 'P', baseUrl: 'http://127.0.0.1:9', format: 'openai' }, 'tool', ['m']);
      await g.admin('PATCH', `/admin/pools/tool/members/${id}`, { contextWindow: 4096 });
      for (const [body, field] of badPatches) {
        const r = await g.admin('PATCH', `/admin/pools/tool/members/${id}`, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.field, JSON.stringify(body)).toBe(field);
      }
      expect(memberOf(await getPools(g), id!)).toMatchObject({ contextWindow: 4096, vision: null });
    });

    it('a fetched model list says what each model holds (never guessed); members added from it are prefilled; the request may override', async () => {
      const list = await modelListServer();
      closers.push(list.close);
      const g = await gateway();
      const c = await g.admin('POST', '/admin/providers', { name: 'Lists', baseUrl: list.url, apiKey: 'sk-list-000000001', format: 'openai' });
      const f = await g.admin('POST', `/admin/providers/${c.body.id}/models/fetch`);
      expect(f.status).toBe(200);
      expect(f.body.models).toEqual(EXPECTED);
      expect((await g.admin('GET', `/admin/providers/${c.body.id}/models`)).body.models).toEqual(EXPECTED);

      const added = await g.admin('POST', '/admin/pools/normal/members', {
        providerId: c.body.id,
        models: ['or-vision', 'vllm', 'gpt-4o-vision-128k', { id: 'md', contextWindow: 500000 }, { id: 'or-text', vision: null, contextWindow: null }, 'not-in-the-list'],
      });
      expect(added.status).toBe(201);
      const byModel = Object.fromEntries(added.body.members.map((m: any) => [m.model, [m.contextWindow, m.vision]]));
      expect(byModel).toEqual({
        'or-vision': [200000, true],
        vllm: [32768, null],
        'gpt-4o-vision-128k': [null, null],
        md: [500000, true], // contextWindow given, vision from the list
        'or-text': [null, null], // both given as unknown
        'not-in-the-list': [null, null],
      });
      // the routing table has them too
      const orVision = added.body.members.find((m: any) => m.model === 'or-vision');
      expect(g.gateway.registry.member(orVision.id)).toMatchObject({ contextWindow: 200000, vision: true });
      // a model entry's unknown field and bad values are refused, naming them
      const typo = await g.admin('POST', '/admin/pools/tool/members', { providerId: c.body.id, models: [{ id: 'vllm', contextWindw: 5 }] });
      expect(typo.status).toBe(400);
      expect(typo.body.error.field).toBe('models[0].contextWindw');
      const bad = await g.admin('POST', '/admin/pools/tool/members', { providerId: c.body.id, models: ['x', { id: 'vllm', vision: 'maybe' }] });
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('models[1].vision');
      expect((await g.admin('POST', '/admin/pools/tool/members', { providerId: c.body.id, models: [{ contextWindow: 5 }] })).body.error.field).toBe('models');
      expect((await getPools(g))[0].members).toHaveLength(0);
    });
  });

  describe(`conversations in the request log (${engine})`, () => {
    it('each row carries its conversation and what affinity did; ?conversation= filters', async () => {
      const g = await gateway();
      const u = await upstream();
      await addProvider(g, { name: 'A', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
      const conv = `conv-${engine}-${Date.now()}`;
      const turns: [Record<string, string>, string][] = [
        [sessionHeader(conv), 'new'],
        [{}, 'none'],
        [sessionHeader(conv), 'kept'],
        [sessionHeader(`${conv}-other`), 'new'],
      ];
      for (const [headers, expected] of turns) {
        const r = await post(`${g.url}/v1/messages`, anthropicBody(), headers);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-gateway-affinity')).toBe(expected);
      }
      await until(async () => (await g.admin('GET', '/admin/logs')).body.total === 4, 'the four log rows');

      const all = (await g.admin('GET', '/admin/logs')).body.logs; // newest first
      expect(all.map((l: any) => [l.conversation, l.affinity])).toEqual([
        [`${conv}-other`, 'new'],
        [conv, 'kept'],
        [null, 'none'],
        [conv, 'new'],
      ]);
      const one = await g.admin('GET', `/admin/logs?conversation=${encodeURIComponent(conv)}`);
      expect(one.status).toBe(200);
      expect(one.body.total).toBe(2);
      expect(one.body.logs.map((l: any) => [l.conversation, l.affinity])).toEqual([[conv, 'kept'], [conv, 'new']]);
      const detail = await g.admin('GET', `/admin/logs/${one.body.logs[0].id}`);
      expect(detail.body).toMatchObject({ conversation: conv, affinity: 'kept' });
      expect((await g.admin('GET', '/admin/logs?conversation=nobody-said-this')).body.total).toBe(0);
      expect((await g.admin('GET', `/admin/logs?conversation=${'x'.repeat(301)}`)).status).toBe(400);
    });
  });
}

suite('sqlite', () => ({}));

// Skipped without PostgreSQL on this machine (the run says so once, at its end). Each test gets a
// database of its own (a restart in a test starts a gateway on the same one).
describe.skipIf(missing('postgres'))('on PostgreSQL', () => {
  const SECRET_KEY = 'conversations-admin-secret-key-0123456789';
  let db = testDatabase();
  beforeEach(async () => {
    db = testDatabase();
    await db.create();
  });
  afterEach(() => db.drop());
  suite('postgres', () => ({ DATABASE_URL: db.url, SECRET_KEY }));

  it('a replica without Redis picks up another replica\'s affinity change through its database poll', async () => {
    const env = { DATABASE_URL: db.url, SECRET_KEY };
    const a = await startTestGateway(env);
    const b = await startTestGateway(env);
    try {
      expect(b.gateway.poolAffinity('tool')).toBe('session');
      expect((await a.admin('PATCH', '/admin/pools/tool', { affinity: 'none' })).status).toBe(200);
      await until(async () => b.gateway.poolAffinity('tool') === 'none', 'the other replica to load the change', 15_000);
      expect((await getPools(b)).find((p: any) => p.name === 'tool').affinity).toBe('none');
    } finally {
      await a.close();
      await b.close();
    }
  }, 30_000);
});
