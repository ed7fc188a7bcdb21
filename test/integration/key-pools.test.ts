import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorJson, requestKey, startUpstream, type Behaviour, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, getPools, memberOf, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { testDatabase } from '../helpers/postgres.js';
import { missing } from '../helpers/needs.js';
import { until } from '../helpers/wait.js';
import { migrations } from '../../src/store/migrations.js';
import { Sealer } from '../../src/secrets/seal.js';

/**
 * CONTRACT "Provider keys" (several keys per provider) and "Cooldowns", with the real gateway and
 * stand-in providers that accept only some keys or rate-limit one: keys taken in turn, a refused or
 * rate-limited key cooling alone, the members cooling only while every key does, the admin JSON,
 * restarts and upgrades, and replicas sharing the keys' cooldowns.
 */

const K1 = 'sk-pool-FIRSTKEY-0000000000000001';
const K2 = 'sk-pool-SECONDKEY-000000000000002';
const K3 = 'sk-pool-THIRDKEY-0000000000000003';
const SECRETS = ['FIRSTKEY', 'SECONDKEY', 'THIRDKEY'];
const masked = (k: string) => `****${k.slice(-4)}`;

const gateways: TestGateway[] = [];
const ups: Upstream[] = [];

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close().catch(() => {})));
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

async function gateway(env: Record<string, string> = {}, dataDir?: string) {
  const g = await startTestGateway({ DEFAULT_COOLDOWN_SECONDS: '60', MAX_COOLDOWN_SECONDS: '900', ...env }, dataDir);
  gateways.push(g);
  return g;
}
async function stop(g: TestGateway) {
  gateways.splice(gateways.indexOf(g), 1);
  await g.close();
}
async function upstream(format: 'openai' | 'anthropic', key?: string | string[], name = 'keyed') {
  const u = await startUpstream({ format, key, name });
  ups.push(u);
  return u;
}

type Entry = 'anthropic' | 'openai';
const ENTRIES: [Entry, boolean][] = [['anthropic', false], ['anthropic', true], ['openai', false], ['openai', true]];

function ask(g: TestGateway, entry: Entry, stream: boolean) {
  return entry === 'anthropic'
    ? post(`${g.url}/v1/messages`, anthropicBody('sonnet', { stream }))
    : post(`${g.url}/v1/chat/completions`, openaiBody('sonnet', { stream }));
}

/** The keys the stand-in was sent, in order. */
const sent = (u: Upstream) => u.requests.map((r) => requestKey(u.format, r.headers));

async function provider(g: TestGateway, id: number) {
  return (await g.admin('GET', `/admin/providers/${id}`)).body;
}

/** The request, with the clock read just before it was sent and just after its answer. */
async function timed<T>(fn: () => Promise<T>): Promise<{ r: T; t0: number; t1: number }> {
  const t0 = Date.now();
  const r = await fn();
  return { r, t0, t1: Date.now() };
}

/** A cooldown set during [t0, t1] that lasts `seconds`: its end lies in [t0 + s, t1 + s]. */
function expectCooling(x: { state: string; cooldownUntil: string | null }, t0: number, t1: number, seconds: number) {
  expect(x.state).toBe('cooling');
  const end = Date.parse(x.cooldownUntil!);
  expect(end).toBeGreaterThanOrEqual(t0 + seconds * 1000);
  expect(end).toBeLessThanOrEqual(t1 + seconds * 1000);
}

const status = (s: number, retryAfter?: string): Behaviour => ({
  kind: 'status',
  status: s,
  headers: retryAfter ? { 'retry-after': retryAfter } : {},
});

describe('keys are taken in turn', () => {
  for (const format of ['anthropic', 'openai'] as const) {
    for (const [entry, stream] of ENTRIES) {
      it(`${format} provider, ${entry} client${stream ? ', streamed' : ''}: K1, K2, K3, K1, …`, async () => {
        const g = await gateway();
        const u = await upstream(format, [K1, K2, K3]);
        const created = await g.admin('POST', '/admin/providers', { name: 'Pool', baseUrl: u.url, format, apiKeys: [K1, K2, K3] });
        expect(created.status).toBe(201);
        await g.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m'] });
        for (let i = 0; i < 6; i++) {
          const r = await ask(g, entry, stream);
          expect(r.status).toBe(200);
          if (stream) expect(r.text).toContain(entry === 'anthropic' ? 'message_stop' : '[DONE]');
        }
        expect(sent(u)).toEqual([K1, K2, K3, K1, K2, K3]);
      });
    }
  }

  it('one key ("apiKey", or a list of one) is sent on every request, as before', async () => {
    const g = await gateway();
    const u = await upstream('openai', K1);
    const { providerId } = await addProvider(g, { name: 'One', baseUrl: u.url, format: 'openai', apiKey: K1 }, 'normal', ['m']);
    for (let i = 0; i < 3; i++) expect((await ask(g, 'openai', false)).status).toBe(200);
    expect(sent(u)).toEqual([K1, K1, K1]);
    const p = await provider(g, providerId);
    expect(p.apiKeyMasked).toBe(masked(K1));
    expect(p.apiKeysMasked).toEqual([masked(K1)]);
    expect(p.keys).toEqual([{ masked: masked(K1), state: 'ready', cooldownUntil: null, lastError: null, failures: 0, cooldownKind: null }]);
  });
});

describe('a failing key cools alone', () => {
  for (const [entry, stream] of ENTRIES) {
    it(`a revoked key (401) cools alone, the same request goes on with the next key, the provider keeps serving (${entry}${stream ? ', streamed' : ''})`, async () => {
      const g = await gateway();
      const u = await upstream('anthropic', [K1, K3]); // K2 was revoked
      const created = await g.admin('POST', '/admin/providers', { name: 'Pool', baseUrl: u.url, format: 'anthropic', apiKeys: [K1, K2, K3] });
      const added = await g.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m1'] });
      const tool = await g.admin('POST', '/admin/pools/tool/members', { providerId: created.body.id, models: ['t1'] });
      expect((await ask(g, entry, stream)).status).toBe(200); // K1
      const { r, t0, t1 } = await timed(() => ask(g, entry, stream)); // K2 refused, then K3
      expect(r.status).toBe(200);
      expect(sent(u)).toEqual([K1, K2, K3]);
      const p = await provider(g, created.body.id);
      expect(p.keys.map((k: any) => k.state)).toEqual(['ready', 'cooling', 'ready']);
      expectCooling(p.keys[1], t0, t1, 60);
      expect(p.keys[1]).toMatchObject({ cooldownKind: 'auth', failures: 1 });
      expect(p.keys[1].lastError).toMatch(/^HTTP 401/);
      // no member cooled, in either pool (a refused key is not the provider's refusal when it has others)
      const pools = await getPools(g);
      for (const id of [added.body.members[0].id, tool.body.members[0].id]) expect(memberOf(pools, id)).toMatchObject({ state: 'ready', cooldownUntil: null });
      // and from now on only K1 and K3 are sent
      for (let i = 0; i < 4; i++) expect((await ask(g, entry, stream)).status).toBe(200);
      expect(sent(u).slice(3)).toEqual([K1, K3, K1, K3]);
      // the request log names the refused attempt
      await g.gateway.telemetry.flush();
      const rows = (await g.admin('GET', '/admin/logs?limit=50')).body.logs;
      expect(rows.filter((row: any) => row.attempts?.some((a: any) => a.status === 401))).toHaveLength(1);
    });
  }

  it('a rate-limited key (429) cools alone with its own Retry-After, escalating like a member', async () => {
    const g = await gateway();
    const u = await upstream('openai', [K1, K2]);
    const created = await g.admin('POST', '/admin/providers', { name: 'Pool', baseUrl: u.url, format: 'openai', apiKeys: [K1, K2] });
    const { body: { members: [m] } } = await g.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m'] });
    u.byKey[K1] = status(429, '300');
    const t = await timed(() => ask(g, 'openai', false)); // K1: 429, then K2
    expect(t.r.status).toBe(200);
    expect(t.r.headers.get('x-gateway-provider')).toBe('Pool');
    const p = await provider(g, created.body.id);
    expectCooling(p.keys[0], t.t0, t.t1, 300); // its Retry-After, longer than the cooldown
    expect(p.keys[0]).toMatchObject({ cooldownKind: 'rate-limit', failures: 1 });
    expect(p.keys[1]).toMatchObject({ state: 'ready', failures: 0 });
    expect(memberOf(await getPools(g), m.id).state).toBe('ready');
    // while K1 cools, only K2 is sent
    for (let i = 0; i < 3; i++) expect((await ask(g, 'openai', false)).status).toBe(200);
    expect(sent(u)).toEqual([K1, K2, K2, K2, K2]);
  });

  it('a key failing again in a row cools twice as long (its provider’s cooldown, doubled); a success with it resets its count', async () => {
    const g = await gateway();
    const u = await upstream('openai', [K1, K2]);
    const created = await g.admin('POST', '/admin/providers', { name: 'Pool', baseUrl: u.url, format: 'openai', apiKeys: [K1, K2], cooldownSeconds: 1 });
    await g.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m'] });
    const key1 = async () => (await provider(g, created.body.id)).keys[0];
    /** Requests until one of them was sent with K1. */
    const untilK1 = async () => {
      const from = u.requests.length;
      for (let i = 0; i < 3 && !sent(u).slice(from).includes(K1); i++) expect((await ask(g, 'openai', false)).status).toBe(200);
      expect(sent(u).slice(from)).toContain(K1);
    };
    u.byKey[K1] = status(429);
    let t = await timed(untilK1);
    expectCooling(await key1(), t.t0, t.t1, 1);
    expect((await key1()).failures).toBe(1);
    await until(async () => (await key1()).state === 'ready', 'K1’s 1 s cooldown to end');
    t = await timed(untilK1);
    expectCooling(await key1(), t.t0, t.t1, 2);
    expect((await key1()).failures).toBe(2);
    await until(async () => (await key1()).state === 'ready', 'K1’s 2 s cooldown to end');
    delete u.byKey[K1];
    await untilK1();
    expect((await key1()).failures).toBe(0);
  });

  it('every key cooling: the member cools (state, cooldownUntil: the first key back, lastError), the client gets the 429 with Retry-After; a reset clears the keys', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', [K1, K2]);
    const created = await g.admin('POST', '/admin/providers', { name: 'Pool', baseUrl: u.url, format: 'anthropic', apiKeys: [K1, K2] });
    const { body: { members: [m] } } = await g.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m'] });
    u.byKey[K1] = status(429, '200');
    u.byKey[K2] = status(429, '100');
    const { r, t0, t1 } = await timed(() => ask(g, 'anthropic', false));
    expect(r.status).toBe(429);
    expect(sent(u)).toEqual([K1, K2]); // both tried in the one request
    const retryAfter = Number(r.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(99);
    expect(retryAfter).toBeLessThanOrEqual(101);
    const member = memberOf(await getPools(g), m.id);
    expectCooling(member, t0, t1, 100); // until K2, the first key back
    expect(member.cooldownKind).toBe('rate-limit');
    expect(member.lastError).toMatch(/^HTTP 429/);
    const p = await provider(g, created.body.id);
    expect(p.keys.map((k: any) => k.state)).toEqual(['cooling', 'cooling']);
    // nothing is sent while every key cools: 503 with Retry-After
    const none = await ask(g, 'anthropic', false);
    expect(none.status).toBe(503);
    expect(Number(none.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(u.requests).toHaveLength(2);
    // the member's reset clears the keys that held it
    delete u.byKey[K1];
    delete u.byKey[K2];
    const reset = await g.admin('POST', `/admin/pools/normal/members/${m.id}/reset`);
    expect(reset.body).toMatchObject({ state: 'ready', cooldownUntil: null });
    expect((await provider(g, created.body.id)).keys.map((k: any) => k.state)).toEqual(['ready', 'ready']);
    expect((await ask(g, 'anthropic', false)).status).toBe(200);
  });

  it('with one key, today’s rules: 401 cools every member of the provider, 429 the member; the key itself stays ready', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', K1);
    const { providerId, memberIds } = await addProvider(g, { name: 'One', baseUrl: u.url, format: 'anthropic', apiKey: K1 }, 'normal', ['m1', 'm2']);
    u.queue.push(status(429, '120')); // the first member rate-limited, the second serves
    expect((await ask(g, 'anthropic', false)).status).toBe(200);
    let pools = await getPools(g);
    expect(memberIds.map((id) => memberOf(pools, id).state).sort()).toEqual(['cooling', 'ready']);
    await g.admin('POST', `/admin/pools/normal/members/${memberIds[0]}/reset`);
    await g.admin('POST', `/admin/pools/normal/members/${memberIds[1]}/reset`);
    u.fallback = status(401);
    expect((await ask(g, 'anthropic', false)).status).toBe(401);
    pools = await getPools(g);
    for (const id of memberIds) expect(memberOf(pools, id)).toMatchObject({ state: 'cooling', cooldownKind: 'auth' });
    expect((await provider(g, providerId)).keys).toMatchObject([{ state: 'ready', cooldownUntil: null }]);
  });

  it('a refused connection still cools the whole provider, whatever its keys', async () => {
    const g = await gateway();
    const u = await upstream('openai', [K1, K2]);
    const created = await g.admin('POST', '/admin/providers', { name: 'Gone', baseUrl: u.url, format: 'openai', apiKeys: [K1, K2] });
    const { body: { members } } = await g.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m1', 'm2'] });
    await u.close();
    ups.splice(ups.indexOf(u), 1);
    const r = await ask(g, 'openai', false);
    expect(r.status).toBe(502);
    const pools = await getPools(g);
    for (const m of members) expect(memberOf(pools, m.id)).toMatchObject({ state: 'cooling', cooldownKind: 'unreachable' });
    expect((await provider(g, created.body.id)).keys.map((k: any) => k.state)).toEqual(['ready', 'ready']);
  });

  it('a key echoed in an upstream error is masked (the key sent, and its siblings) in the answer, lastError and the log', async () => {
    const g = await gateway();
    const u = await upstream('openai', [K1, K2]);
    const created = await g.admin('POST', '/admin/providers', { name: 'Echo', baseUrl: u.url, format: 'openai', apiKeys: [K1, K2] });
    await g.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m'] });
    const echo: Behaviour = {
      kind: 'custom',
      handle: (req, _body, res) => {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(errorJson('openai', 'invalid_api_key', `Incorrect API key provided: ${requestKey('openai', req.headers)} (the account also holds ${K1} and ${K2})`)));
      },
    };
    u.byKey[K1] = echo;
    u.byKey[K2] = echo;
    const r = await ask(g, 'openai', false);
    expect(r.status).toBe(401);
    const p = await provider(g, created.body.id);
    await g.gateway.telemetry.flush();
    const logs = (await g.admin('GET', '/admin/logs?limit=10')).body;
    const everything = JSON.stringify([r.text, p, await getPools(g), logs]);
    for (const s of SECRETS) expect(everything).not.toContain(s);
    expect(p.keys[0].lastError).toContain(masked(K1));
    expect(p.keys[0].lastError).toContain(masked(K2));
  });
});

describe('the admin API: several keys in, never a key out', () => {
  it('POST apiKeys, PATCH apiKeys (kept keys keep their cooldown; refused keys sent again are cleared), PATCH apiKey sets one; no answer carries a key', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', [K1, K2, K3]);
    const answers: unknown[] = [];
    const created = await g.admin('POST', '/admin/providers', { name: 'Pool', baseUrl: u.url, format: 'anthropic', apiKeys: [` ${K1} `, '', K2, K1] });
    answers.push(created.body);
    expect(created.status).toBe(201);
    expect(created.body.apiKeyMasked).toBe(masked(K1));
    expect(created.body.apiKeysMasked).toEqual([masked(K1), masked(K2)]); // trimmed, blank and repeated left out
    expect(created.body.keys).toHaveLength(2);
    for (const k of created.body.keys) expect(Object.keys(k).sort()).toEqual(['cooldownKind', 'cooldownUntil', 'failures', 'lastError', 'masked', 'state']);
    const id = created.body.id;
    await g.admin('POST', '/admin/pools/normal/members', { providerId: id, models: ['m'] });

    // K1 rate-limited, K2 refused: both cool
    u.byKey[K1] = status(429, '300');
    u.byKey[K2] = status(401);
    expect((await ask(g, 'anthropic', false)).status).toBe(401);
    expect((await provider(g, id)).keys.map((k: any) => k.cooldownKind)).toEqual(['rate-limit', 'auth']);
    delete u.byKey[K2];

    // the same keys sent again, plus K3: K1 keeps its rate limit, K2's refusal ends, K3 is new
    const patched = await g.admin('PATCH', `/admin/providers/${id}`, { apiKeys: [K1, K2, K3] });
    answers.push(patched.body);
    expect(patched.status).toBe(200);
    expect(patched.body.apiKeysMasked).toEqual([masked(K1), masked(K2), masked(K3)]);
    expect(patched.body.keys.map((k: any) => k.state)).toEqual(['cooling', 'ready', 'ready']);
    for (let i = 0; i < 2; i++) expect((await ask(g, 'anthropic', false)).status).toBe(200);
    expect(sent(u).slice(-2).sort()).toEqual([K2, K3].sort());

    // reordered, one dropped: what is stored follows; the key kept keeps its state
    const reordered = await g.admin('PATCH', `/admin/providers/${id}`, { apiKeys: [K3, K1] });
    answers.push(reordered.body);
    expect(reordered.body.apiKeysMasked).toEqual([masked(K3), masked(K1)]);
    expect(reordered.body.keys.map((k: any) => k.state)).toEqual(['ready', 'cooling']);

    // "apiKey" still sets one key
    const one = await g.admin('PATCH', `/admin/providers/${id}`, { apiKey: K2 });
    answers.push(one.body);
    expect(one.body.apiKeysMasked).toEqual([masked(K2)]);
    expect((await ask(g, 'anthropic', false)).status).toBe(200);
    expect(sent(u).at(-1)).toBe(K2);

    // both at once is refused, naming the field; nothing changed
    const both = await g.admin('PATCH', `/admin/providers/${id}`, { apiKey: K1, apiKeys: [K1, K2] });
    expect(both.status).toBe(400);
    expect(both.body.error.field).toBe('apiKeys');
    expect((await provider(g, id)).apiKeysMasked).toEqual([masked(K2)]);

    // an empty list: no key at all
    const none = await g.admin('PATCH', `/admin/providers/${id}`, { apiKeys: [] });
    expect(none.body).toMatchObject({ apiKeyMasked: '', apiKeysMasked: [], keys: [] });

    answers.push((await g.admin('GET', '/admin/providers')).body, await getPools(g));
    const all = JSON.stringify(answers);
    for (const s of SECRETS) expect(all).not.toContain(s);
  });

  it('a baseUrl moving to another origin needs the keys too (apiKey or apiKeys)', async () => {
    const g = await gateway();
    const a = await upstream('openai', [K1, K2]);
    const b = await upstream('openai', [K3]);
    const created = await g.admin('POST', '/admin/providers', { name: 'Pool', baseUrl: a.url, format: 'openai', apiKeys: [K1, K2] });
    const moved = await g.admin('PATCH', `/admin/providers/${created.body.id}`, { baseUrl: b.url });
    expect(moved.status).toBe(400);
    expect(moved.body.error.field).toBe('apiKey');
    const withKeys = await g.admin('PATCH', `/admin/providers/${created.body.id}`, { baseUrl: b.url, apiKeys: [K3] });
    expect(withKeys.status).toBe(200);
    expect(withKeys.body.apiKeysMasked).toEqual([masked(K3)]);
  });
});

describe('stored: sealed, and a restart keeps the keys’ cooldowns', () => {
  it('each key is sealed in provider_keys (the first also in providers.api_key); a key cooling before a restart is cooling after it', async () => {
    const g1 = await gateway();
    const u = await upstream('anthropic', [K1, K2]);
    const created = await g1.admin('POST', '/admin/providers', { name: 'Pool', baseUrl: u.url, format: 'anthropic', apiKeys: [K1, K2] });
    await g1.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m'] });
    u.byKey[K1] = status(429, '600');
    const { t0, t1 } = await timed(() => ask(g1, 'anthropic', false));
    await stop(g1); // the writer finishes its writes when it closes

    const db = new Database(path.join(g1.dataDir, 'gateway.db'), { readonly: true });
    const rows = db.prepare('SELECT position, api_key, cooldown_until, last_error FROM provider_keys ORDER BY position').all() as any[];
    const first = (db.prepare('SELECT api_key FROM providers').get() as any).api_key as string;
    db.close();
    expect(rows).toHaveLength(2);
    for (const r of [...rows.map((x) => x.api_key), first]) {
      expect(r).toMatch(/^enc:v1:/);
      for (const s of SECRETS) expect(r).not.toContain(s);
    }
    expect(rows[0].cooldown_until).toBeGreaterThanOrEqual(t0 + 600_000);
    expect(rows[0].last_error).toMatch(/^HTTP 429/);
    expect(rows[1].cooldown_until).toBeNull();

    const g2 = await gateway({}, g1.dataDir);
    const p = await provider(g2, created.body.id);
    expectCooling(p.keys[0], t0, t1, 600);
    expect(p.keys[1].state).toBe('ready');
    for (let i = 0; i < 2; i++) expect((await ask(g2, 'anthropic', false)).status).toBe(200);
    expect(sent(u).slice(-2)).toEqual([K2, K2]);
  });
});

// ---- upgrade: a database written before provider_keys existed ----

const SECRET = 'key-pools-upgrade-secret-0123456789abcdef';

/** Creates the schema as the previous version left it (migrations up to 004), with one provider and its member. */
async function olderDatabase(db: Kysely<any>, dialect: 'sqlite' | 'postgres', baseUrl: string, storedKey: string): Promise<void> {
  const all = migrations(dialect);
  const older = Object.fromEntries(Object.entries(all).filter(([name]) => name < '005'));
  expect(Object.keys(older)).toEqual(['001_initial', '002_request_logs', '003_access_keys', '004_conversations']);
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => older } }).migrateToLatest();
  if (error) throw error;
  const now = Date.now();
  await db.insertInto('providers').values({ name: 'Old', base_url: baseUrl, api_key: storedKey, format: 'anthropic', enabled: 1, cooldown_seconds: null, options: '{}', created_at: now }).execute();
  await db.insertInto('pool_members').values({ pool: 'normal', provider_id: 1, model: 'm', enabled: 1, weight: 1, cooldown_until: null, last_error: null, created_at: now }).execute();
}

/** After the upgrade: the key migrated is the provider's one key, it is sent, and it stays sealed (also after a write). */
async function checkUpgraded(g: TestGateway, u: Upstream, rows: () => Promise<string[]>, stored: string | null) {
  const p = await provider(g, 1);
  expect(p.apiKeyMasked).toBe(masked(K1));
  expect(p.apiKeysMasked).toEqual([masked(K1)]);
  expect(p.keys).toMatchObject([{ masked: masked(K1), state: 'ready' }]);
  const before = await rows();
  expect(before).toHaveLength(1);
  expect(before[0]).toMatch(/^enc:v1:/);
  expect(before[0]).not.toContain('FIRSTKEY');
  if (stored !== null) expect(before[0]).toBe(stored); // copied as it was stored
  expect((await ask(g, 'anthropic', false)).status).toBe(200);
  expect((await ask(g, 'anthropic', true)).status).toBe(200);
  expect(sent(u)).toEqual([K1, K1]);
  // a second key added by the admin joins it
  const patched = await g.admin('PATCH', '/admin/providers/1', { apiKeys: [K1, K2] });
  expect(patched.body.apiKeysMasked).toEqual([masked(K1), masked(K2)]);
  const after = await rows();
  expect(after).toHaveLength(2);
  expect(after[0]).toBe(before[0]); // the first key's row stays as it was
  for (const r of after) expect(r).toMatch(/^enc:v1:/);
}

describe('upgrade of a database with a single stored key', () => {
  for (const [label, sealed] of [['sealed', true], ['in plain text (an older version)', false]] as const) {
    it(`SQLite, the key ${label}: 005_provider_keys makes it the provider's first key, sealed, and it is sent`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apg-upgrade-'));
      const u = await upstream('anthropic', [K1, K2]);
      const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(path.join(dir, 'gateway.db')) }) });
      const stored = sealed ? new Sealer(SECRET).seal(K1) : K1;
      await olderDatabase(db, 'sqlite', u.url, stored);
      await db.destroy();
      const g = await gateway({ SECRET_KEY: SECRET }, dir);
      const rows = async () => {
        const d = new Database(path.join(dir, 'gateway.db'), { readonly: true });
        try {
          const names = (d.prepare('SELECT name FROM kysely_migration').all() as any[]).map((r) => r.name);
          expect(names).toContain('005_provider_keys');
          return (d.prepare('SELECT api_key FROM provider_keys WHERE provider_id = 1 ORDER BY position').all() as any[]).map((r) => r.api_key as string);
        } finally {
          d.close();
        }
      };
      await checkUpgraded(g, u, rows, sealed ? stored : null);
    });
  }

  it.skipIf(missing('postgres'))('PostgreSQL, the key sealed: the same', async () => {
    const pgdb = testDatabase();
    await pgdb.create();
    try {
      const u = await upstream('anthropic', [K1, K2]);
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: pgdb.url, max: 2 }) }) });
      const stored = new Sealer(SECRET).seal(K1);
      await olderDatabase(db, 'postgres', u.url, stored);
      await db.destroy();
      const g = await gateway({ DATABASE_URL: pgdb.url, SECRET_KEY: SECRET });
      const rows = async () => {
        const c = new pg.Client({ connectionString: pgdb.url });
        await c.connect();
        try {
          const { rows: names } = await c.query('SELECT name FROM kysely_migration');
          expect(names.map((r) => r.name)).toContain('005_provider_keys');
          return (await c.query('SELECT api_key FROM provider_keys WHERE provider_id = 1 ORDER BY position')).rows.map((r) => r.api_key as string);
        } finally {
          await c.end();
        }
      };
      await checkUpgraded(g, u, rows, stored);
      await stop(g);
    } finally {
      await pgdb.drop();
    }
  });
});

// ---- two replicas on PostgreSQL + Redis ----

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe.skipIf(missing('postgres', 'redis'))('two replicas on PostgreSQL + Redis see the same keys’ cooldowns', () => {
  const pgdb = testDatabase();
  const env = { DATABASE_URL: pgdb.url, REDIS_URL, REDIS_KEY_PREFIX: `${pgdb.name}:`, SECRET_KEY: 'replicas-share-this-secret-key-0123456789' };
  let a: TestGateway;
  let b: TestGateway;
  let u: Upstream;
  beforeAll(async () => {
    await pgdb.create();
    a = await startTestGateway(env);
    b = await startTestGateway(env);
    u = await startUpstream({ format: 'anthropic', key: [K1, K2] });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await u?.close();
    await pgdb.drop();
  });

  it('a key cooled on one replica is cooling on the other at once (its end, its reason), and only the other key is sent there; a reset clears it everywhere', async () => {
    const created = await a.admin('POST', '/admin/providers', { name: 'Shared', baseUrl: u.url, format: 'anthropic', apiKeys: [K1, K2] });
    const { body: { members: [m] } } = await a.admin('POST', '/admin/pools/normal/members', { providerId: created.body.id, models: ['m'] });
    const id = created.body.id;
    await until(async () => memberOf(await getPools(b), m.id) !== undefined, 'replica b to know the member');

    u.byKey[K1] = status(429, '300');
    for (let i = 0; i < 2 && !u.requests.some((r) => requestKey('anthropic', r.headers) === K1); i++) {
      expect((await post(`${a.url}/v1/messages`, anthropicBody())).status).toBe(200);
    }
    const onA = (await provider(a, id)).keys[0];
    expect(onA).toMatchObject({ state: 'cooling', cooldownKind: 'rate-limit' });
    await until(async () => (await provider(b, id)).keys[0].state === 'cooling', 'replica b to see K1 cooling');
    const onB = (await provider(b, id)).keys[0];
    expect(onB.cooldownUntil).toBe(onA.cooldownUntil);
    expect(onB.lastError).toBe(onA.lastError);
    // b sends only K2 now
    const before = u.requests.length;
    for (let i = 0; i < 3; i++) expect((await post(`${b.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect(u.requests.slice(before).map((r) => requestKey('anthropic', r.headers))).toEqual([K2, K2, K2]);

    // K2 too, on b: the member is cooling on both replicas
    u.byKey[K2] = status(429, '120');
    expect((await post(`${b.url}/v1/messages`, anthropicBody())).status).toBe(429);
    await until(async () => memberOf(await getPools(a), m.id).state === 'cooling', 'replica a to see the member cooling');
    expect(memberOf(await getPools(a), m.id).cooldownUntil).toBe(memberOf(await getPools(b), m.id).cooldownUntil);

    // stored in PostgreSQL too (a restart keeps them)
    const c = new pg.Client({ connectionString: pgdb.url });
    await c.connect();
    try {
      await until(async () => (await c.query('SELECT count(*)::int AS n FROM provider_keys WHERE provider_id = $1 AND cooldown_until IS NOT NULL', [id])).rows[0].n === 2, 'both key cooldowns stored');
    } finally {
      await c.end();
    }

    // a reset on a clears the keys on b as well
    delete u.byKey[K1];
    delete u.byKey[K2];
    const reset = await a.admin('POST', `/admin/pools/normal/members/${m.id}/reset`);
    expect(reset.body.state).toBe('ready');
    await until(async () => (await provider(b, id)).keys.every((k: any) => k.state === 'ready'), 'replica b to see the keys reset');
    expect(memberOf(await getPools(b), m.id).state).toBe('ready');
    expect((await post(`${b.url}/v1/messages`, anthropicBody())).status).toBe(200);
  });

  it('a replica started later reads the keys’ cooldowns from Redis', async () => {
    const id = (await a.admin('GET', '/admin/providers')).body.providers[0].id;
    u.byKey[K2] = status(429, '300');
    for (let i = 0; i < 2 && (await provider(a, id)).keys[1].state !== 'cooling'; i++) await post(`${a.url}/v1/messages`, anthropicBody());
    const onA = (await provider(a, id)).keys[1];
    expect(onA.state).toBe('cooling');
    const c = await startTestGateway(env);
    try {
      const onC = (await provider(c, id)).keys[1];
      expect(onC).toMatchObject({ state: 'cooling', cooldownUntil: onA.cooldownUntil, cooldownKind: 'rate-limit' });
    } finally {
      await c.close();
    }
  });
});
