import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { testDatabase } from '../helpers/postgres.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, getPools, memberOf, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Two gateway replicas on one PostgreSQL database and one Redis: the real servers on this machine
 * (TEST_PG_URL / TEST_REDIS_URL override the defaults).
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const db = testDatabase();
const dbName = db.name;
const databaseUrl = db.url;
const env = { DATABASE_URL: databaseUrl, REDIS_URL, REDIS_KEY_PREFIX: `${dbName}:`, DEFAULT_COOLDOWN_SECONDS: '60', SECRET_KEY: 'replicas-share-this-secret-key-0123456789' };

let a: TestGateway;
let b: TestGateway;
const ups: Upstream[] = [];

beforeAll(async () => {
  await db.create();
  a = await startTestGateway(env);
  b = await startTestGateway(env);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await Promise.all(ups.map((u) => u.close()));
  await db.drop();
});

async function eventually(check: () => Promise<boolean>, ms = 2000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

describe('PostgreSQL + Redis: replicas act as one', () => {
  let ids: { p1: number[]; p2: number[] };

  it('stores state in PostgreSQL: a provider added on one replica is served by the other', async () => {
    expect(a.gateway.db.dialect).toBe('postgres');
    const u1 = await startUpstream({ format: 'anthropic', name: 'P1' });
    const u2 = await startUpstream({ format: 'anthropic', name: 'P2' });
    ups.push(u1, u2);
    const r1 = await addProvider(a, { name: 'P1', baseUrl: u1.url, format: 'anthropic', apiKey: 'sk-pg-secret-000011' }, 'normal', ['m1']);
    const r2 = await addProvider(a, { name: 'P2', baseUrl: u2.url, format: 'anthropic' }, 'normal', ['m2']);
    ids = { p1: r1.memberIds, p2: r2.memberIds };
    expect(await eventually(async () => (await getPools(b))[1].members.length === 2)).toBe(true);
    const r = await post(`${b.url}/v1/messages`, anthropicBody());
    expect(r.status).toBe(200);
    const providers = (await b.admin('GET', '/admin/providers')).body.providers;
    expect(providers.map((p: any) => p.apiKeyMasked)).toEqual(['****0011', '****3456']);
  });

  it('rotation is shared: requests alternating between replicas still alternate providers', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const gw = i % 2 === 0 ? a : b;
      const r = await post(`${gw.url}/v1/messages`, anthropicBody());
      expect(r.status).toBe(200);
      seen.push(r.headers.get('x-gateway-provider')!);
    }
    // without a shared counter, each replica would start with P1 and we would see P1 twice in a row
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
  });

  it('a cooldown on one replica is seen by the other at once, and so is its reset', async () => {
    ups[0].fallback = { kind: 'status', status: 503 };
    // send until P1 has been tried (rotation may start at either provider)
    for (let i = 0; i < 2; i++) await post(`${a.url}/v1/messages`, anthropicBody());
    expect(memberOf(await getPools(a), ids.p1[0]).state).toBe('cooling');
    expect(await eventually(async () => memberOf(await getPools(b), ids.p1[0]).state === 'cooling')).toBe(true);
    const before = ups[0].requests.length;
    for (let i = 0; i < 4; i++) {
      const r = await post(`${b.url}/v1/messages`, anthropicBody());
      expect(r.headers.get('x-gateway-provider')).toBe('P2');
    }
    expect(ups[0].requests.length).toBe(before);
    ups[0].fallback = { kind: 'ok' };
    const reset = await b.admin('POST', `/admin/pools/normal/members/${ids.p1[0]}/reset`);
    expect(reset.body.state).toBe('ready');
    expect(await eventually(async () => memberOf(await getPools(a), ids.p1[0]).state === 'ready')).toBe(true);
  });

  it('a restarted replica keeps everything (PostgreSQL) and learns current cooldowns (Redis)', async () => {
    ups[1].fallback = { kind: 'status', status: 429, headers: { 'retry-after': '300' } };
    for (let i = 0; i < 2; i++) await post(`${a.url}/v1/messages`, anthropicBody());
    expect(memberOf(await getPools(a), ids.p2[0]).state).toBe('cooling');
    await b.close();
    b = await startTestGateway(env);
    const pools = await getPools(b);
    expect(pools[1].members.map((m: any) => m.model).sort()).toEqual(['m1', 'm2']);
    const m2 = memberOf(pools, ids.p2[0]);
    expect(m2.state).toBe('cooling');
    expect(Date.parse(m2.cooldownUntil)).toBeGreaterThan(Date.now() + 250_000);
  });
});

describe('PostgreSQL + Redis: the later cooldown end wins across replicas', () => {
  it('a longer cooldown set on replica A is not shortened by a shorter one from replica B', async () => {
    const u3 = await startUpstream({ format: 'anthropic', name: 'P3' });
    ups.push(u3);
    const { memberIds: [id] } = await addProvider(a, { name: 'P3', baseUrl: u3.url, format: 'anthropic' }, 'advanced', ['m3']);
    expect(await eventually(async () => memberOf(await getPools(b), id) !== undefined)).toBe(true);
    u3.fallback = { kind: 'status', status: 429, headers: { 'retry-after': '300' } };
    expect((await post(`${a.url}/v1/messages`, anthropicBody('opus'))).status).toBe(429);
    const longEnd = Date.parse(memberOf(await getPools(a), id).cooldownUntil);
    expect(longEnd).toBeGreaterThan(Date.now() + 250_000);
    const redis = new Redis(REDIS_URL);
    try {
      // Redis holds it (set by the compare-and-set script) with its kind and count…
      const key = `${dbName}:cool:${id}`;
      expect(JSON.parse((await redis.get(key))!)).toMatchObject({ until: longEnd, kind: 'rate-limit', failures: 1 });
      // …and B learns it from the notice, with its kind: the database holds no kind, so no
      // PostgreSQL poll could have carried this
      expect(await eventually(async () => memberOf(await getPools(b), id).cooldownKind === 'rate-limit')).toBe(true);
      expect(Date.parse(memberOf(await getPools(b), id).cooldownUntil)).toBe(longEnd);

      // B misses it (as if the notice were lost), then fails the member itself: a 500, 60 s, shorter
      b.gateway.registry.reset(id);
      u3.fallback = { kind: 'status', status: 500 };
      expect((await post(`${b.url}/v1/messages`, anthropicBody('opus'))).status).toBe(500);
      // the later end wins: Redis keeps it, B adopts it from Redis' answer, A never shortens
      expect(JSON.parse((await redis.get(key))!).until).toBe(longEnd);
      expect(await eventually(async () => Date.parse(memberOf(await getPools(b), id).cooldownUntil) === longEnd)).toBe(true);
      expect(Date.parse(memberOf(await getPools(a), id).cooldownUntil)).toBe(longEnd);
      // a shorter notice reaching A is ignored too
      a.gateway['onClusterEvent']({ type: 'cool', memberId: id, until: Date.now() + 1000, lastError: 'shorter', kind: 'transient', failures: 1 });
      expect(Date.parse(memberOf(await getPools(a), id).cooldownUntil)).toBe(longEnd);
      // and so does the database
      const stored = async () => (await a.gateway.repo.listMembers()).find((m) => m.id === id)!.cooldownUntil;
      expect(await eventually(async () => (await stored()) === longEnd)).toBe(true);
      await b.gateway.writer.setCooldown(id, Date.now() + 1000, 'shorter');
      expect(await stored()).toBe(longEnd);
    } finally {
      redis.disconnect();
      u3.fallback = { kind: 'ok' };
    }
  });
});

describe('PostgreSQL + Redis: access keys and admin sessions hold across replicas', () => {
  const call = (gw: TestGateway, key: string) => post(`${gw.url}/v1/messages`, anthropicBody(), { 'x-api-key': key });

  it('a key made on one replica works on the other, and its deletion reaches the other within 2 s', async () => {
    ups[0].fallback = { kind: 'ok' };
    ups[1].fallback = { kind: 'ok' };
    await a.admin('POST', `/admin/pools/normal/members/${(await getPools(a))[1].members[1].id}/reset`);
    // a second key keeps access closed when the first is deleted (with none, /v1 is open again)
    expect((await a.admin('POST', '/admin/keys', { name: 'keeper' })).status).toBe(201);
    const created = await a.admin('POST', '/admin/keys', { name: 'shared' });
    expect(created.status).toBe(201);
    const key = created.body.key;
    expect(await eventually(async () => (await call(b, key)).status === 200)).toBe(true);
    expect((await post(`${b.url}/v1/messages`, anthropicBody())).status).toBe(401);
    await a.admin('DELETE', `/admin/keys/${created.body.id}`);
    expect(await eventually(async () => (await call(b, key)).status === 401, 2000)).toBe(true);
  });

  it('requests per minute are counted across replicas', async () => {
    const k = (await a.admin('POST', '/admin/keys', { name: 'rpm3', rpm: 3 })).body;
    expect(await eventually(async () => (await b.admin('GET', '/admin/status')).body.security.accessKeys >= 1)).toBe(true);
    await eventually(async () => b.gateway.access.list().some((x) => x.id === k.id));
    const codes = [];
    for (const gw of [a, b, a, b]) codes.push((await call(gw, k.key)).status);
    expect(codes).toEqual([200, 200, 200, 429]);
  });

  it('concurrent requests are counted across replicas', async () => {
    const k = (await a.admin('POST', '/admin/keys', { name: 'conc1', maxConcurrent: 1 })).body;
    await eventually(async () => b.gateway.access.list().some((x) => x.id === k.id));
    for (const u of ups) u.fallback = { kind: 'slow-stream', events: 4, intervalMs: 150 };
    const running = post(`${a.url}/v1/messages`, anthropicBody('sonnet', { stream: true }), { 'x-api-key': k.key });
    await new Promise((r) => setTimeout(r, 150));
    expect((await call(b, k.key)).status).toBe(429);
    expect((await running).status).toBe(200);
    for (const u of ups) u.fallback = { kind: 'ok' };
    expect((await call(b, k.key)).status).toBe(200);
  });
});

describe('Redis away', () => {
  it('a gateway whose Redis cannot be reached starts anyway and serves on local state', async () => {
    const t0 = Date.now();
    const lonely = await startTestGateway({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      expect(Date.now() - t0).toBeLessThan(5000);
      const u = await startUpstream({ format: 'anthropic' });
      ups.push(u);
      await addProvider(lonely, { name: 'L', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
      expect((await post(`${lonely.url}/v1/messages`, anthropicBody())).status).toBe(200);
      expect((await lonely.admin('GET', '/admin/status')).body.redis).toBe(false);
    } finally {
      await lonely.close();
    }
  });
});
