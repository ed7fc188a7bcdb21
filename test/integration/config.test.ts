/**
 * CONTRACT "Configuration as data", on the real gateway: GET /admin/config (JSON and YAML, keys
 * only with ?secrets=true), POST /admin/config (JSON or YAML; ?dryRun, ?prune), a round trip into
 * a fresh gateway, and bad documents that name their field and change nothing. Run on SQLite and,
 * when it is there, on PostgreSQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseConfigText, substituteEnv } from '../../src/admin/config.js';
import { testDatabase } from '../helpers/postgres.js';
import { missing } from '../helpers/needs.js';
import { ADMIN, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A gateway set up through the admin API with one of everything the document carries. */
async function furnish(gw: TestGateway): Promise<void> {
  const ok = async (method: string, path: string, body: unknown, status = 200) => {
    const r = await gw.admin(method, path, body);
    expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
    return r.body;
  };
  const deep = await ok('POST', '/admin/providers', {
    name: 'DeepSeek', baseUrl: 'https://api.deepseek.com/v1', format: 'openai', apiKey: 'sk-deepseek-0000000001',
    cooldownSeconds: 30, options: { maxTokensCap: 8192, reasoningContent: true, streamOptions: false },
  }, 201);
  const claude = await ok('POST', '/admin/providers', {
    name: 'Claude relay', baseUrl: 'https://relay.example.com', format: 'anthropic', apiKeys: ['sk-ant-relay-000000000a', 'sk-ant-relay-000000000b'],
    enabled: false, options: { thinkingStyle: 'budget' },
  }, 201);
  await ok('POST', '/admin/providers', { name: 'Spare', baseUrl: 'http://127.0.0.1:9', format: 'openai' }, 201);
  const tool = await ok('POST', '/admin/pools/tool/members', { providerId: deep.id, models: ['deepseek-chat', { id: 'deepseek-reasoner', contextWindow: 64000, vision: false }] }, 201);
  await ok('PATCH', `/admin/pools/tool/members/${tool.members[0].id}`, { weight: 3 });
  const adv = await ok('POST', '/admin/pools/advanced/members', { providerId: claude.id, models: [{ id: 'claude-opus-4-1', contextWindow: 200000, vision: true }] }, 201);
  await ok('PATCH', `/admin/pools/advanced/members/${adv.members[0].id}`, { enabled: false });
  await ok('POST', '/admin/pools/normal/members', { providerId: deep.id, models: ['deepseek-chat'] }, 201);
  await ok('PATCH', '/admin/pools/normal', { affinity: 'none' });
  await ok('POST', '/admin/keys', { name: 'ci', pools: ['tool', 'normal'], rpm: 60, maxConcurrent: 4, expiresAt: '2099-01-01T00:00:00.000Z' }, 201);
  await ok('POST', '/admin/keys', { name: 'laptop', enabled: false }, 201);
  await ok('PATCH', '/admin/settings', { logBodies: true, logRetentionDays: 7 });
  await ok('PUT', '/admin/prices', { prices: [{ match: 'deepseek-*', input: 0.27, output: 1.1, cacheRead: 0.07, cacheWrite: 0 }, { match: 'claude-opus-4-1', input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 }] });
}

async function exported(gw: TestGateway, query = ''): Promise<any> {
  const r = await gw.admin('GET', `/admin/config${query}`);
  expect(r.status).toBe(200);
  return r.body;
}

/** POST /admin/config with a document as JSON, or as text with its content type. */
async function apply(gw: TestGateway, doc: unknown, query = '', type?: string): Promise<{ status: number; body: any }> {
  if (type === undefined) return gw.admin('POST', `/admin/config${query}`, doc);
  const res = await fetch(`${gw.url}/admin/config${query}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': type }, body: doc as string });
  return { status: res.status, body: await res.json() };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** `newEnv`: the settings of a gateway with storage of its own (a fresh gateway for each call). */
function suite(engine: 'sqlite' | 'postgres', newEnv: () => Promise<Record<string, string>>) {
  const gateways: TestGateway[] = [];
  const gateway = async () => {
    const g = await startTestGateway(await newEnv());
    gateways.push(g);
    return g;
  };
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  describe(`export (${engine})`, () => {
    it('answers every part by name, keys only with ?secrets=true, never an access key\'s secret', async () => {
      const gw = await gateway();
      await furnish(gw);
      const secret = (await gw.admin('POST', '/admin/keys', { name: 'shown-once' })).body.key as string;
      const doc = await exported(gw);
      expect(doc.version).toBe(1);
      expect(doc.providers).toEqual([
        { name: 'DeepSeek', baseUrl: 'https://api.deepseek.com/v1', format: 'openai', enabled: true, cooldownSeconds: 30, options: { maxTokensCap: 8192, streamOptions: false, reasoningContent: true } },
        { name: 'Claude relay', baseUrl: 'https://relay.example.com', format: 'anthropic', enabled: false, cooldownSeconds: null, options: { thinkingStyle: 'budget' } },
        { name: 'Spare', baseUrl: 'http://127.0.0.1:9', format: 'openai', enabled: true, cooldownSeconds: null, options: {} },
      ]);
      expect(doc.pools).toEqual({
        tool: { affinity: 'session', members: [
          { provider: 'DeepSeek', model: 'deepseek-chat', enabled: true, weight: 3, contextWindow: null, vision: null },
          { provider: 'DeepSeek', model: 'deepseek-reasoner', enabled: true, weight: 1, contextWindow: 64000, vision: false },
        ] },
        normal: { affinity: 'none', members: [{ provider: 'DeepSeek', model: 'deepseek-chat', enabled: true, weight: 1, contextWindow: null, vision: null }] },
        advanced: { affinity: 'session', members: [{ provider: 'Claude relay', model: 'claude-opus-4-1', enabled: false, weight: 1, contextWindow: 200000, vision: true }] },
      });
      expect(doc.accessKeys).toEqual([
        { name: 'ci', pools: ['tool', 'normal'], rpm: 60, maxConcurrent: 4, expiresAt: '2099-01-01T00:00:00.000Z', enabled: true },
        { name: 'laptop', pools: ['tool', 'normal', 'advanced'], rpm: null, maxConcurrent: null, expiresAt: null, enabled: false },
        { name: 'shown-once', pools: ['tool', 'normal', 'advanced'], rpm: null, maxConcurrent: null, expiresAt: null, enabled: true },
      ]);
      expect(doc.settings).toEqual({ logBodies: true, logBodyMaxBytes: 65536, logRetentionCount: 100000, logRetentionDays: 7 });
      expect(doc.prices).toEqual([
        { match: 'deepseek-*', input: 0.27, output: 1.1, cacheRead: 0.07, cacheWrite: 0 },
        { match: 'claude-opus-4-1', input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 },
      ]);

      const plain = JSON.stringify(doc);
      for (const s of ['sk-deepseek-0000000001', 'sk-ant-relay-000000000a', secret, secret.slice(-8)]) expect(plain).not.toContain(s);
      expect(plain).not.toMatch(/"apiKeys?"/);

      const withKeys = await exported(gw, '?secrets=true');
      expect(withKeys.providers.map((p: any) => [p.name, p.apiKey, p.apiKeys])).toEqual([
        ['DeepSeek', 'sk-deepseek-0000000001', undefined],
        ['Claude relay', undefined, ['sk-ant-relay-000000000a', 'sk-ant-relay-000000000b']],
        ['Spare', undefined, undefined],
      ]);
      expect(JSON.stringify(withKeys)).not.toContain(secret);
      // apart from the keys, the same document
      for (const p of withKeys.providers) { delete p.apiKey; delete p.apiKeys; }
      expect(withKeys).toEqual(doc);
    });

    it('?format=yaml is the same document in YAML', async () => {
      const gw = await gateway();
      await furnish(gw);
      const res = await fetch(`${gw.url}/admin/config?format=yaml&secrets=true`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/yaml/);
      const text = await res.text();
      expect(text).toMatch(/^# API Pool Gateway configuration/);
      expect(text).toContain('\nproviders:\n');
      expect(YAML.parse(text)).toEqual(await exported(gw, '?secrets=true'));
      const bad = await gw.admin('GET', '/admin/config?format=toml');
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('format');
    });
  });

  describe(`round trip (${engine})`, () => {
    it('export → import into a fresh gateway → export gives the same document, with and without keys', async () => {
      const a = await gateway();
      await furnish(a);
      const doc = await exported(a, '?secrets=true');
      const b = await gateway();
      const r = await apply(b, doc);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.dryRun).toBe(false);
      expect(r.body.changes).toContainEqual({ kind: 'provider', action: 'create', name: 'Claude relay' });
      expect(r.body.changes).toContainEqual({ kind: 'member', action: 'create', name: 'advanced/Claude relay/claude-opus-4-1' });
      // the access keys are new there: their secrets are answered this once, and they work
      expect(r.body.createdKeys.map((k: any) => k.name)).toEqual(['ci', 'laptop']);
      const ci = r.body.createdKeys[0].key as string;
      expect(ci).toMatch(/^sk-apg-/);
      expect((await fetch(`${b.url}/v1/models`, { headers: { 'x-api-key': ci } })).status).toBe(200);
      expect((await fetch(`${b.url}/v1/models`, { headers: { 'x-api-key': 'sk-apg-not-a-key' } })).status).toBe(401);

      expect(await exported(b, '?secrets=true')).toEqual(doc);
      expect(await exported(b)).toEqual(await exported(a));
      // the keys are really there: the provider answers show them masked
      const relay = (await b.admin('GET', '/admin/providers')).body.providers.find((p: any) => p.name === 'Claude relay');
      expect(relay.apiKeyMasked).toContain('000a');

      // applying the same document again changes nothing
      const again = await apply(b, doc);
      expect(again.body).toEqual({ dryRun: false, changes: [], createdKeys: [] });
    });

    it('a document without keys leaves the stored keys as they are', async () => {
      const gw = await gateway();
      await furnish(gw);
      const before = await exported(gw, '?secrets=true');
      const doc = await exported(gw);
      doc.providers[0].enabled = false;
      const r = await apply(gw, doc);
      expect(r.body.changes).toEqual([{ kind: 'provider', action: 'update', name: 'DeepSeek', fields: ['enabled'] }]);
      const after = await exported(gw, '?secrets=true');
      expect(after.providers[0]).toEqual({ ...before.providers[0], enabled: false });
      expect(after.providers[1].apiKeys).toEqual(before.providers[1].apiKeys);
    });
  });

  describe(`dry run and prune (${engine})`, () => {
    /** The document of a furnished gateway, edited: one provider gone, one added, a weight changed, a key dropped. */
    const edited = (doc: any) => {
      const d = clone(doc);
      d.providers = d.providers.filter((p: any) => p.name !== 'Spare');
      d.providers.push({ name: 'Kimi', baseUrl: 'https://api.moonshot.cn/v1', format: 'openai', apiKey: 'sk-kimi-000000000001' });
      d.pools.tool.members[0].weight = 5;
      d.pools.tool.members.push({ provider: 'Kimi', model: 'kimi-k2' });
      d.pools.normal.members = [];
      d.accessKeys = d.accessKeys.filter((k: any) => k.name !== 'laptop');
      d.settings.logRetentionDays = 14;
      return d;
    };
    const expectedChanges = [
      { kind: 'settings', action: 'update', name: 'settings', fields: ['logRetentionDays'] },
      { kind: 'provider', action: 'create', name: 'Kimi' },
      { kind: 'member', action: 'update', name: 'tool/DeepSeek/deepseek-chat', fields: ['weight'] },
      { kind: 'member', action: 'create', name: 'tool/Kimi/kimi-k2' },
    ];
    const pruned = [
      { kind: 'member', action: 'delete', name: 'normal/DeepSeek/deepseek-chat' },
      { kind: 'provider', action: 'delete', name: 'Spare' },
      { kind: 'accessKey', action: 'delete', name: 'laptop' },
    ];

    it('?dryRun=true answers the changes and makes none', async () => {
      const gw = await gateway();
      await furnish(gw);
      const before = await exported(gw, '?secrets=true');
      const doc = edited(await exported(gw));
      for (const [query, changes] of [['?dryRun=true', expectedChanges], ['?dryRun=true&prune=true', [...expectedChanges, ...pruned]]] as const) {
        const r = await apply(gw, doc, query);
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ dryRun: true, changes, createdKeys: [] });
        expect(await exported(gw, '?secrets=true')).toEqual(before);
      }
      // a dry run of a new access key makes no secret either
      const withKey = clone(doc);
      withKey.accessKeys.push({ name: 'new-one' });
      const dry = await apply(gw, withKey, '?dryRun=true');
      expect(dry.body.changes).toContainEqual({ kind: 'accessKey', action: 'create', name: 'new-one' });
      expect(dry.body.createdKeys).toEqual([]);
      expect((await gw.admin('GET', '/admin/keys')).body.keys.map((k: any) => k.name)).toEqual(['ci', 'laptop']);
    });

    it('without prune, what the document leaves out stays; with ?prune=true it goes, in the parts the document has', async () => {
      const gw = await gateway();
      await furnish(gw);
      const doc = edited(await exported(gw));
      const kept = await apply(gw, doc);
      expect(kept.body.changes).toEqual(expectedChanges);
      let now = await exported(gw);
      expect(now.providers.map((p: any) => p.name)).toEqual(['DeepSeek', 'Claude relay', 'Spare', 'Kimi']);
      expect(now.pools.normal.members).toHaveLength(1);
      expect(now.accessKeys.map((k: any) => k.name)).toEqual(['ci', 'laptop']);
      expect(now.pools.tool.members.map((m: any) => [m.provider, m.model, m.weight])).toEqual([['DeepSeek', 'deepseek-chat', 5], ['DeepSeek', 'deepseek-reasoner', 1], ['Kimi', 'kimi-k2', 1]]);

      const r = await apply(gw, doc, '?prune=true');
      expect(r.body.changes).toEqual(pruned);
      now = await exported(gw);
      expect(now.providers.map((p: any) => p.name)).toEqual(['DeepSeek', 'Claude relay', 'Kimi']);
      expect(now.pools.normal.members).toEqual([]);
      expect(now.accessKeys.map((k: any) => k.name)).toEqual(['ci']);
      expect((await gw.admin('GET', '/admin/pools')).body.pools.flatMap((p: any) => p.members.map((m: any) => m.providerName))).not.toContain('Spare');

      // a part the document does not have is never pruned
      const r2 = await apply(gw, { providers: now.providers }, '?prune=true');
      expect(r2.body.changes).toEqual([]);
      expect((await exported(gw)).accessKeys).toHaveLength(1);
      // a provider pruned away cannot keep members in the document
      const orphan = clone(now);
      orphan.providers = orphan.providers.filter((p: any) => p.name !== 'Kimi');
      const bad = await apply(gw, orphan, '?prune=true');
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('pools.tool.members[2].provider');
      expect(bad.body.error.message).toContain('prune would remove it');
      expect(await exported(gw)).toEqual(now);
    });
  });

  describe(`bad documents (${engine})`, () => {
    const cases: [string, (d: any) => unknown, string, RegExp?][] = [
      ['an unknown part', (d) => ({ ...d, provider: [] }), 'provider', /unknown field provider: did you mean providers\?/],
      ['an unknown field in a provider', (d) => { d.providers[1].base_url = 'x'; return d; }, 'providers[1].base_url', /did you mean providers\[1\]\.baseUrl\?/],
      ['a provider option misspelt', (d) => { d.providers[0].options.reasoning_content = true; return d; }, 'providers[0].options.reasoning_content', /did you mean providers\[0\]\.options\.reasoningContent\?/],
      ['a bad base URL', (d) => { d.providers[2].baseUrl = 'ftp://h'; return d; }, 'providers[2].baseUrl', /http:\/\/ or https:\/\//],
      ['a provider without a format', (d) => { delete d.providers[0].format; return d; }, 'providers[0].format', /is required/],
      ['two providers of one name', (d) => { d.providers[2].name = ' deepseek '; return d; }, 'providers[2].name', /already entry 0/],
      ['a member of an unknown provider', (d) => { d.pools.tool.members[1].provider = 'Nobody'; return d; }, 'pools.tool.members[1].provider', /no provider named "Nobody"/],
      ['a bad weight', (d) => { d.pools.advanced.members[0].weight = 0; return d; }, 'pools.advanced.members[0].weight', /from 1 to 1000/],
      ['an unknown pool', (d) => { d.pools.tools = d.pools.tool; return d; }, 'pools.tools', /did you mean pools\.tool\?/],
      ['a bad affinity', (d) => { d.pools.normal.affinity = 'sticky'; return d; }, 'pools.normal.affinity', /"session"/],
      ['a bad access-key limit', (d) => { d.accessKeys[0].rpm = -1; return d; }, 'accessKeys[0].rpm', /from 1 to 1000000/],
      ['an access-key secret of the wrong form', (d) => { d.accessKeys[0].key = 'hunter2'; return d; }, 'accessKeys[0].key', /sk-apg-/],
      ['a misspelt setting', (d) => { d.settings.logbodies = false; return d; }, 'settings.logbodies', /did you mean settings\.logBodies\?/],
      ['a negative price', (d) => { d.prices[1].output = -1; return d; }, 'prices[1].output', /0 or more/],
      ['another version', (d) => ({ ...d, version: 2 }), 'version', /must be 1/],
      ['a list where a mapping goes', () => [], 'body', /mapping/],
      ['a base URL moved to another host without its key', (d) => { d.providers[0].baseUrl = 'https://elsewhere.example.com/v1'; delete d.providers[0].apiKey; return d; }, 'providers[0].apiKey', /another origin/],
    ];
    for (const [what, edit, field, message] of cases) {
      it(`${what}: 400 naming ${field}, nothing changed`, async () => {
        const gw = await gateway();
        await furnish(gw);
        const before = await exported(gw, '?secrets=true');
        const doc = clone(before);
        // good changes next to the bad one are not applied either
        doc.settings.logRetentionDays = 99;
        doc.providers.push({ name: 'Extra', baseUrl: 'https://extra.example.com', format: 'openai' });
        const r = await apply(gw, edit(doc));
        expect(r.status).toBe(400);
        expect(r.body.error.field).toBe(field);
        if (message) expect(r.body.error.message).toMatch(message);
        expect(await exported(gw, '?secrets=true')).toEqual(before);
      });
    }

    it('YAML that does not parse, and a body of another type: 400 naming the body', async () => {
      const gw = await gateway();
      const before = await exported(gw);
      const broken = await apply(gw, 'providers:\n  - name: a\n   baseUrl: x\n', '', 'application/yaml');
      expect(broken.status).toBe(400);
      expect(broken.body.error.field).toBe('body');
      expect(broken.body.error.message).toMatch(/not valid YAML or JSON: line \d+/);
      const html = await apply(gw, '<p>hi</p>', '', 'text/html');
      expect(html.status).toBe(400);
      expect(html.body.error.field).toBe('body');
      expect((await apply(gw, {}, '?dryRun=maybe')).body.error.field).toBe('dryRun');
      expect(await exported(gw)).toEqual(before);
    });
  });

  describe(`the README's example (${engine})`, () => {
    it('applies to a fresh gateway, and a second time changes nothing', async () => {
      const gw = await gateway();
      const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      const yaml = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).find((b) => b.includes('accessKeys:'))!;
      const env = { DEEPSEEK_API_KEY: 'sk-d-000000000001', RELAY_KEY_1: 'sk-r-000000000001', RELAY_KEY_2: 'sk-r-000000000002', CI_ACCESS_KEY: 'sk-apg-0123456789abcdef0123456789abcdef' };
      const doc = substituteEnv(parseConfigText(yaml), env);
      const r = await apply(gw, doc);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.changes.filter((c: any) => c.action === 'create').map((c: any) => `${c.kind} ${c.name}`)).toEqual([
        'provider deepseek', 'provider claude-relay',
        'member tool/deepseek/deepseek-chat', 'member normal/deepseek/deepseek-chat', 'member normal/claude-relay/claude-sonnet-4-5', 'member advanced/claude-relay/claude-opus-4-1',
        'accessKey ci',
      ]);
      expect((await exported(gw, '?secrets=true')).providers[1].apiKeys).toEqual([env.RELAY_KEY_1, env.RELAY_KEY_2]);
      expect((await apply(gw, doc)).body.changes).toEqual([]);
    });
  });

  describe(`YAML in (${engine})`, () => {
    it('a YAML document with comments is applied like its JSON', async () => {
      const gw = await gateway();
      const yaml = [
        '# the whole setup',
        'version: 1',
        'providers:',
        '  - name: deepseek',
        '    baseUrl: https://api.deepseek.com/',
        '    format: openai',
        '    apiKeys: [sk-one-0000000001, sk-two-0000000002]',
        '    options: {maxTokensCap: 8192, reasoningContent: true}',
        'pools:',
        '  tool:',
        '    members:',
        '      - {provider: deepseek, model: deepseek-chat, weight: 2}',
        '  advanced:',
        '    affinity: none',
        'accessKeys:',
        '  - name: ci',
        '    key: sk-apg-0123456789abcdef0123456789abcdef',
        '    pools: [tool]',
        'settings: {logBodies: true}',
      ].join('\n');
      const r = await apply(gw, yaml, '', 'application/yaml');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      // the key was given: nothing to show
      expect(r.body.createdKeys).toEqual([]);
      const doc = await exported(gw, '?secrets=true');
      expect(doc.providers).toEqual([{ name: 'deepseek', baseUrl: 'https://api.deepseek.com', format: 'openai', apiKeys: ['sk-one-0000000001', 'sk-two-0000000002'], enabled: true, cooldownSeconds: null, options: { maxTokensCap: 8192, reasoningContent: true } }]);
      expect(doc.pools.tool.members).toEqual([{ provider: 'deepseek', model: 'deepseek-chat', enabled: true, weight: 2, contextWindow: null, vision: null }]);
      expect(doc.pools.advanced.affinity).toBe('none');
      expect(doc.settings.logBodies).toBe(true);
      // the given secret is the key's
      expect((await fetch(`${gw.url}/v1/models`, { headers: { 'x-api-key': 'sk-apg-0123456789abcdef0123456789abcdef' } })).status).toBe(200);
      // the same document in JSON is no change, nor as text/plain (curl --data-binary without a type)
      expect((await apply(gw, JSON.stringify(YAML.parse(yaml)), '', 'application/json')).body.changes).toEqual([]);
      expect((await apply(gw, yaml, '', 'text/plain')).body.changes).toEqual([]);
      // a new secret for a key of that name replaces the old one
      const rotated = await apply(gw, { accessKeys: [{ name: 'ci', key: 'sk-apg-fedcba9876543210fedcba9876543210' }] });
      expect(rotated.body.changes).toEqual([{ kind: 'accessKey', action: 'update', name: 'ci', fields: ['key'] }]);
      expect((await fetch(`${gw.url}/v1/models`, { headers: { 'x-api-key': 'sk-apg-0123456789abcdef0123456789abcdef' } })).status).toBe(401);
      expect((await fetch(`${gw.url}/v1/models`, { headers: { 'x-api-key': 'sk-apg-fedcba9876543210fedcba9876543210' } })).status).toBe(200);
    });
  });
}

suite('sqlite', async () => ({}));

// Skipped without PostgreSQL on this machine (the run says so once, at its end); a database per gateway.
describe.skipIf(missing('postgres'))('on PostgreSQL', () => {
  const SECRET_KEY = 'config-as-data-secret-key-0123456789abcdef';
  const dbs: ReturnType<typeof testDatabase>[] = [];
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((db) => db.drop()));
  });
  suite('postgres', async () => {
    const db = testDatabase();
    await db.create();
    dbs.push(db);
    return { DATABASE_URL: db.url, SECRET_KEY };
  });
});
