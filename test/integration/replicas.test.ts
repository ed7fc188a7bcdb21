import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { PG_ADMIN_URL, testDatabase } from '../helpers/postgres.js';
import { missing } from '../helpers/needs.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/wait.js';
import { completion, streamEvents, startUpstream, type Behaviour, type Upstream } from '../helpers/upstream.js';
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
/** Without PostgreSQL or Redis on this machine the whole file is skipped (the run says so once, at its end). */
const skip = missing('postgres', 'redis');

beforeAll(async () => {
  if (skip) return;
  await db.create();
  a = await startTestGateway(env);
  b = await startTestGateway(env);
});

afterAll(async () => {
  if (skip) return;
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

describe.skipIf(skip)('PostgreSQL + Redis: replicas act as one', () => {
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

  it('PostgreSQL ending the gateway\'s idle connections (a restart, a failover) does not end the process: the next query reconnects', async () => {
    expect((await a.admin('GET', '/admin/providers')).status).toBe(200); // connections open and idle in the pool
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      const r = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
      expect(r.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    // (an unheard pool 'error' event would have failed this test file with an unhandled error)
    expect(await eventually(async () => (await a.admin('GET', '/admin/providers')).status === 200 && (await b.admin('GET', '/admin/providers')).status === 200, 5000)).toBe(true);
    expect((await post(`${b.url}/v1/messages`, anthropicBody())).status).toBe(200);
  });

  it('a conversation keeps its member when its turns alternate between replicas (shared through Redis)', async () => {
    for (const conv of ['rep-conv-1', 'rep-conv-2', 'rep-conv-3']) {
      const seen: string[] = [];
      const affinity: string[] = [];
      for (let i = 0; i < 4; i++) {
        const gw = i % 2 === 0 ? a : b;
        const r = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { messages: [{ role: 'user', content: `${conv} turn ${i}` }] }), { 'x-claude-code-session-id': conv });
        expect(r.status).toBe(200);
        seen.push(r.headers.get('x-gateway-provider')!);
        affinity.push(r.headers.get('x-gateway-affinity')!);
      }
      expect(new Set(seen).size).toBe(1);
      // the second turn, on the other replica, already knew the member (with replica-local tables it would be "new")
      expect(affinity).toEqual(['new', 'kept', 'kept', 'kept']);
    }
    const redis = new Redis(REDIS_URL);
    const stored = await redis.get(`${dbName}:conv:normal:rep-conv-1`).finally(() => redis.quit());
    expect(stored).toMatch(/^\d+$/);
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

describe.skipIf(skip)('PostgreSQL + Redis: the later cooldown end wins across replicas', () => {
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

describe.skipIf(skip)('PostgreSQL + Redis: access keys and admin sessions hold across replicas', () => {
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
    // the running request holds its slot until the test lets its upstream answer
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const held: Behaviour = { kind: 'custom', handle: (_req, body, res) => {
      void gate.then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(streamEvents('anthropic', body.model, 2).join(''));
      });
    } };
    const before = ups.reduce((n, u) => n + u.requests.length, 0);
    for (const u of ups) u.fallback = held;
    const running = post(`${a.url}/v1/messages`, anthropicBody('sonnet', { stream: true }), { 'x-api-key': k.key });
    await until(async () => ups.reduce((n, u) => n + u.requests.length, 0) > before, 'the first request to reach its upstream');
    expect((await call(b, k.key)).status).toBe(429);
    release();
    expect((await running).status).toBe(200);
    for (const u of ups) u.fallback = { kind: 'ok' };
    expect((await call(b, k.key)).status).toBe(200);
  });
});

describe.skipIf(skip)('Redis away', () => {
  /** A loopback port where Redis "is": nobody listens (connections refused), or a server that takes connections and never answers. */
  async function awayRedis(how: 'refuses' | 'never answers'): Promise<{ url: string; accepted: () => number; close: () => Promise<void> }> {
    const held = new Set<net.Socket>();
    let accepted = 0;
    const server = net.createServer((s) => {
      accepted++;
      held.add(s);
      s.on('error', () => {});
      s.on('close', () => held.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const close = async () => {
      const closed = server.listening ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
      for (const s of held) s.destroy();
      await closed;
    };
    if (how === 'refuses') await close();
    return { url: `redis://127.0.0.1:${port}`, accepted: () => accepted, close };
  }

  // Nothing here reads a clock: the gateway must start and serve while Redis has not answered a
  // single byte; the test's own time limit bounds how long starting may take.
  it.each(['refuses', 'never answers'] as const)('a gateway whose Redis %s starts anyway and serves on local state', async (how) => {
    const redis = await awayRedis(how);
    const lonely = await startTestGateway({ REDIS_URL: redis.url });
    try {
      expect(lonely.gateway.cluster?.ready).toBe(false);
      const u = await startUpstream({ format: 'anthropic' });
      ups.push(u);
      await addProvider(lonely, { name: 'L', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
      expect((await post(`${lonely.url}/v1/messages`, anthropicBody())).status).toBe(200);
      expect((await lonely.admin('GET', '/admin/status')).body.redis).toBe(false);
      // it did try to reach Redis, which never answered
      if (how === 'never answers') expect(redis.accepted()).toBeGreaterThan(0);
    } finally {
      await lonely.close();
      await redis.close();
    }
  });
});

/** Deletes every access key (the suites above leave some), so that /v1 is open again on every replica. */
async function openAccess() {
  for (const k of (await a.admin('GET', '/admin/keys')).body.keys) await a.admin('DELETE', `/admin/keys/${k.id}`);
  await until(async () => a.gateway.access.list().length === 0 && b.gateway.access.list().length === 0, 'every replica to drop the access keys');
}

describe.skipIf(skip)('Redis away for a moment: resets still reach every replica', () => {
  // Replica C reaches the real Redis through a proxy the tests cut and restore; A and B reach it directly.
  let proxy: TcpProxy;
  let c: TestGateway;
  const haiku = (gw: TestGateway) => post(`${gw.url}/v1/messages`, anthropicBody('haiku'));
  const state = async (gw: TestGateway, id: number) => memberOf(await getPools(gw), id);

  beforeAll(async () => {
    await openAccess();
    const u = new URL(REDIS_URL);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    c = await startTestGateway({ ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
  });

  afterAll(async () => {
    await c?.close();
    await proxy?.close();
  });

  /** A single-member tool pool, cooled (a 503, transient) on every replica. */
  async function cooledEverywhere(name: string) {
    const u = await startUpstream({ format: 'anthropic', name });
    ups.push(u);
    const { providerId, memberIds: [id] } = await addProvider(a, { name, baseUrl: u.url, format: 'anthropic' }, 'tool', ['t']);
    await until(async () => (await state(c, id!)) !== undefined && (await state(b, id!)) !== undefined, 'every replica to know the member');
    u.fallback = { kind: 'status', status: 503 };
    expect((await haiku(a)).status).toBe(503);
    for (const gw of [a, b, c]) await until(async () => (await state(gw, id!))?.cooldownKind === 'transient', 'every replica to see the member cooling');
    return { u, providerId, id: id! };
  }

  async function cut() {
    await proxy.cut();
    await until(async () => !c.gateway.cluster!.ready, 'replica C to lose Redis');
  }

  async function restore() {
    await proxy.restore();
    await until(async () => c.gateway.cluster!.ready, 'replica C to reach Redis again', 15_000);
  }

  it('a probe succeeds on a replica cut off from Redis: the reset reaches the others once Redis is back, and the shared cooldown does not come back', async () => {
    const { u, providerId, id } = await cooledEverywhere('PC');
    const key = `${dbName}:cool:${id}`;
    const redis = new Redis(REDIS_URL);
    try {
      expect(JSON.parse((await redis.get(key))!)).toMatchObject({ kind: 'transient' });
      await cut();
      u.fallback = { kind: 'ok' };
      expect((await haiku(c)).status).toBe(200); // nothing else ready: a probe, which succeeds
      expect(await state(c, id)).toMatchObject({ state: 'ready', failures: 0 });
      // the outage is real: nothing reached A, B or Redis
      expect((await state(a, id)).state).toBe('cooling');
      expect((await state(b, id)).state).toBe('cooling');
      expect(JSON.parse((await redis.get(key))!)).toMatchObject({ kind: 'transient' });
      await restore();
      await until(async () => (await state(a, id)).state === 'ready' && (await state(b, id)).state === 'ready', 'the reset to reach A and B');
      expect(await state(a, id)).toMatchObject({ failures: 0, cooldownUntil: null });
      // Redis holds the reset, not the cooldown; C, having read Redis again, is still ready
      expect(JSON.parse((await redis.get(key))!)).toEqual({ reset: expect.any(Number) });
      await c.gateway.cluster!.sync();
      expect((await state(c, id)).state).toBe('ready');
      for (const gw of [a, b, c]) expect((await haiku(gw)).headers.get('x-gateway-provider')).toBe('PC');
    } finally {
      redis.disconnect();
      await proxy.restore().catch(() => {});
      await a.admin('DELETE', `/admin/providers/${providerId}`);
    }
  });

  it('a reset made while a replica is cut off from Redis reaches it when it reconnects', async () => {
    const { u, providerId, id } = await cooledEverywhere('PD');
    try {
      await cut();
      u.fallback = { kind: 'ok' };
      expect((await a.admin('POST', `/admin/pools/tool/members/${id}/reset`)).body.state).toBe('ready');
      await until(async () => (await state(b, id)).state === 'ready', 'B to hear of the reset');
      expect((await state(c, id)).state).toBe('cooling'); // C missed the notice
      await restore();
      await until(async () => (await state(c, id)).state === 'ready', 'C to learn the reset from Redis');
      expect((await haiku(c)).headers.get('x-gateway-provider')).toBe('PD');
    } finally {
      await proxy.restore().catch(() => {});
      await a.admin('DELETE', `/admin/providers/${providerId}`);
    }
  });

  it('a failure that came after a reset delivered late stands everywhere', async () => {
    const { u, providerId, id } = await cooledEverywhere('PE');
    try {
      await cut();
      u.fallback = { kind: 'ok' };
      expect((await haiku(c)).status).toBe(200); // C's probe succeeds: its reset waits for Redis
      // then the member is reset on A and fails there again: a newer cooldown, everywhere but on C
      await a.admin('POST', `/admin/pools/tool/members/${id}/reset`);
      u.fallback = { kind: 'status', status: 503 };
      expect((await haiku(a)).status).toBe(503);
      await until(async () => (await state(b, id)).cooldownKind === 'transient', 'B to hear of the new failure');
      await restore();
      await c.gateway.cluster!.sync();
      // C's reset is older than A's failure: the failure stands on A and B, and C learns it
      await until(async () => (await state(c, id)).state === 'cooling', 'C to learn the newer failure');
      expect((await state(a, id)).state).toBe('cooling');
      expect((await state(b, id)).state).toBe('cooling');
    } finally {
      await proxy.restore().catch(() => {});
      await a.admin('DELETE', `/admin/providers/${providerId}`);
    }
  });
});

describe.skipIf(skip)('probes across replicas', () => {
  beforeAll(() => openAccess());

  it('a member being probed on one replica is not probed on another at the same time: there, 503 with Retry-After 1', async () => {
    const u = await startUpstream({ format: 'anthropic', name: 'PP' });
    ups.push(u);
    const { providerId, memberIds: [id] } = await addProvider(a, { name: 'PP', baseUrl: u.url, format: 'anthropic' }, 'tool', ['t']);
    const state = async (gw: TestGateway) => memberOf(await getPools(gw), id!);
    try {
      await until(async () => (await state(b)) !== undefined, 'B to know the member');
      u.fallback = { kind: 'status', status: 500 };
      expect((await post(`${a.url}/v1/messages`, anthropicBody('haiku'))).status).toBe(500);
      await until(async () => (await state(b))?.cooldownKind === 'transient', 'B to see the member cooling');
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      u.fallback = { kind: 'custom', handle: (_req, body, res) => {
        void gate.then(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(completion('anthropic', body.model, 'probe ok')));
        });
      } };
      const before = u.requests.length;
      const probe = post(`${a.url}/v1/messages`, anthropicBody('haiku'));
      await until(async () => u.requests.length === before + 1, 'the probe to reach the upstream');
      await until(async () => (await state(b)).probing === true, 'B to hear of the probe');
      const meanwhile = await post(`${b.url}/v1/chat/completions`, { model: 'haiku', messages: [{ role: 'user', content: 'hi' }] });
      expect(meanwhile.status).toBe(503);
      expect(meanwhile.headers.get('retry-after')).toBe('1');
      expect(meanwhile.body.error.message).toContain('probed');
      expect(u.requests.length).toBe(before + 1);
      release();
      expect((await probe).status).toBe(200);
      await until(async () => {
        const m = await state(b);
        return m.state === 'ready' && m.probing === false;
      }, 'B to see the member ready and no probe running');
    } finally {
      await a.admin('DELETE', `/admin/providers/${providerId}`);
    }
  });
});
