import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { completion, startUpstream, type Behaviour, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, getPools, memberOf, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * CONTRACT "Cooldowns" with the real gateway and stand-in providers: escalation, a success
 * resetting the count, provider-wide cooling (401, a refused connection), probes, MAX_ATTEMPTS.
 * Cooldown ends are checked against the time the request was sent and answered, never against
 * elapsed time.
 */

let gw: TestGateway | null = null;
let ups: Upstream[] = [];

async function gateway(env: Record<string, string> = {}): Promise<TestGateway> {
  gw = await startTestGateway({ DEFAULT_COOLDOWN_SECONDS: '1', MAX_COOLDOWN_SECONDS: '4', UPSTREAM_TIMEOUT_SECONDS: '2', UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS: '2', ...env });
  return gw;
}

afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(ups.map((u) => u.close()));
  ups = [];
});

async function upstream(format: 'openai' | 'anthropic', name: string, port?: number) {
  const u = await startUpstream({ format, name, port });
  ups.push(u);
  return u;
}

type Entry = 'anthropic' | 'openai';
const ENTRIES: [Entry, boolean][] = [['anthropic', false], ['anthropic', true], ['openai', false], ['openai', true]];
const label = (entry: Entry, stream: boolean) => `${entry === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}${stream ? ', streamed' : ''}`;

function ask(g: TestGateway, entry: Entry, stream: boolean, model = 'sonnet') {
  return entry === 'anthropic'
    ? post(`${g.url}/v1/messages`, anthropicBody(model, { stream }))
    : post(`${g.url}/v1/chat/completions`, openaiBody(model, { stream }));
}

/** The request, with the clock read just before it was sent and just after its answer. */
async function timed<T>(fn: () => Promise<T>): Promise<{ r: T; t0: number; t1: number }> {
  const t0 = Date.now();
  const r = await fn();
  return { r, t0, t1: Date.now() };
}

async function member(g: TestGateway, id: number) {
  return memberOf(await getPools(g), id);
}

/** The cooldown set during [t0, t1] lasts `seconds`: its end lies in [t0 + s, t1 + s]. */
function expectCooldown(m: any, t0: number, t1: number, seconds: number) {
  expect(m.state).toBe('cooling');
  const until = Date.parse(m.cooldownUntil);
  expect(until).toBeGreaterThanOrEqual(t0 + seconds * 1000);
  expect(until).toBeLessThanOrEqual(t1 + seconds * 1000);
}

async function logs(g: TestGateway) {
  await g.gateway.telemetry.flush();
  return (await g.admin('GET', '/admin/logs?limit=50')).body.logs as any[];
}

/** A loopback port nobody listens on (connections to it are refused). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('escalation: each failure in a row doubles the cooldown, up to MAX_COOLDOWN_SECONDS; a success resets it', () => {
  const failing: Record<Entry, Behaviour> = {
    anthropic: { kind: 'status', status: 500 },
    openai: { kind: 'error-first-event', errorType: 'server_error' },
  };
  for (const [entry, stream] of ENTRIES) {
    it(label(entry, stream), async () => {
      const g = await gateway();
      const u = await upstream(entry, 'solo');
      const { memberIds: [id] } = await addProvider(g, { name: 'solo', baseUrl: u.url, format: entry }, 'normal', ['m']);
      u.fallback = failing[entry];
      // DEFAULT_COOLDOWN_SECONDS 1, MAX_COOLDOWN_SECONDS 4: 1, 2, 4, 4. Each later request comes
      // within the running cooldown, or just after it: either way one upstream call, escalated.
      for (const [n, seconds] of [[1, 1], [2, 2], [3, 4], [4, 4]]) {
        const before = u.requests.length;
        const { r, t0, t1 } = await timed(() => ask(g, entry, stream));
        expect(r.status).toBeGreaterThanOrEqual(500);
        expect(u.requests.length - before).toBe(1);
        const m = await member(g, id);
        expectCooldown(m, t0, t1, seconds);
        expect(m.failures).toBe(n);
        expect(m.cooldownKind).toBe('transient');
      }
      // fixed: the next request (a probe while the cooldown runs) succeeds and resets the count
      u.fallback = { kind: 'ok' };
      const ok = await ask(g, entry, stream);
      expect(ok.status).toBe(200);
      let m = await member(g, id);
      expect(m.state).toBe('ready');
      expect(m.failures).toBe(0);
      expect(m.cooldownUntil).toBeNull();
      // the next failure starts from the base again
      u.fallback = failing[entry];
      const { t0, t1 } = await timed(() => ask(g, entry, stream));
      m = await member(g, id);
      expectCooldown(m, t0, t1, 1);
      expect(m.failures).toBe(1);
    });
  }

  it('a 429 escalates too (waited out, never probed), and Retry-After is capped at MAX_COOLDOWN_SECONDS', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', 'limited');
    const { memberIds: [id] } = await addProvider(g, { name: 'limited', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
    u.fallback = { kind: 'status', status: 429 };
    let t = await timed(() => ask(g, 'anthropic', false));
    expect(t.r.status).toBe(429);
    expectCooldown(await member(g, id), t.t0, t.t1, 1);
    await until(async () => (await member(g, id)).state === 'ready', 'the 1 s cooldown to end');
    t = await timed(() => ask(g, 'anthropic', false));
    expectCooldown(await member(g, id), t.t0, t.t1, 2);
    expect((await member(g, id)).cooldownKind).toBe('rate-limit');
    await until(async () => (await member(g, id)).state === 'ready', 'the 2 s cooldown to end');
    // a success in between resets the count; then Retry-After 3600 is cut to MAX_COOLDOWN_SECONDS (4)
    u.fallback = { kind: 'ok' };
    expect((await ask(g, 'anthropic', false)).status).toBe(200);
    expect((await member(g, id)).failures).toBe(0);
    u.fallback = { kind: 'status', status: 429, headers: { 'retry-after': '3600' } };
    t = await timed(() => ask(g, 'anthropic', false));
    expectCooldown(await member(g, id), t.t0, t.t1, 4);
  });
});

describe('provider-wide cooling: one attempt cools every member of the provider, in all pools', () => {
  for (const [entry, stream] of ENTRIES) {
    it(`401 (${label(entry, stream)})`, async () => {
      const g = await gateway({ DEFAULT_COOLDOWN_SECONDS: '60', MAX_COOLDOWN_SECONDS: '900' });
      const bad = await upstream('anthropic', 'bad-key');
      const good = await upstream('openai', 'good');
      const b1 = await addProvider(g, { name: 'bad-key', baseUrl: bad.url, format: 'anthropic' }, 'normal', ['n1', 'n2']);
      const b2 = await g.admin('POST', '/admin/pools/tool/members', { providerId: b1.providerId, models: ['t1', 't2'] });
      const badIds = [...b1.memberIds, ...b2.body.members.map((m: any) => m.id)];
      const goodP = await addProvider(g, { name: 'good', baseUrl: good.url, format: 'openai' }, 'normal', ['g1']);
      await g.admin('POST', '/admin/pools/tool/members', { providerId: goodP.providerId, models: ['g2'] });
      bad.fallback = { kind: 'status', status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } };
      // the first request meets the bad key (lowest provider id), and is served by "good"
      const { r, t0, t1 } = await timed(() => ask(g, entry, stream, 'sonnet'));
      expect(r.status).toBe(200);
      expect(r.headers.get('x-gateway-provider')).toBe('good');
      expect(bad.requests.length).toBe(1);
      const pools = await getPools(g);
      for (const id of badIds) {
        const m = memberOf(pools, id);
        expectCooldown(m, t0, t1, 60);
        expect(m.cooldownKind).toBe('auth');
        expect(m.lastError).toMatch(/^provider-wide: HTTP 401/);
        expect(m.lastError).toContain('invalid x-api-key');
      }
      // the tool pool never tries the bad key: its members are cooling already
      for (let i = 0; i < 3; i++) {
        const t = await ask(g, entry, stream, 'haiku');
        expect(t.status).toBe(200);
        expect(t.headers.get('x-gateway-provider')).toBe('good');
      }
      expect(bad.requests.length).toBe(1);
      // and a refused key is never probed: with "good" disabled, 503 and Retry-After, nothing sent
      await g.admin('PATCH', `/admin/providers/${goodP.providerId}`, { enabled: false });
      const none = await ask(g, entry, stream, 'haiku');
      expect(none.status).toBe(503);
      expect(Number(none.headers.get('retry-after'))).toBeGreaterThan(50);
      expect(bad.requests.length).toBe(1);
      // a new key for the provider ends the cooldowns the refused one caused
      bad.fallback = { kind: 'ok' };
      expect((await g.admin('PATCH', `/admin/providers/${b1.providerId}`, { apiKey: 'sk-the-right-key-0042' })).status).toBe(200);
      const fixed = await getPools(g);
      for (const id of badIds) expect(memberOf(fixed, id)).toMatchObject({ state: 'ready', failures: 0 });
      expect((await ask(g, entry, stream, 'haiku')).headers.get('x-gateway-provider')).toBe('bad-key');
    });
  }

  for (const [entry, stream] of [ENTRIES[0], ENTRIES[3]]) {
    it(`a refused connection (ECONNREFUSED) (${label(entry, stream)}); the host coming back is found by a probe`, async () => {
      const g = await gateway({ DEFAULT_COOLDOWN_SECONDS: '60', MAX_COOLDOWN_SECONDS: '900' });
      const port = await closedPort();
      const good = await upstream('anthropic', 'good');
      const d1 = await addProvider(g, { name: 'dead', baseUrl: `http://127.0.0.1:${port}`, format: 'openai' }, 'normal', ['n1', 'n2']);
      const d2 = await g.admin('POST', '/admin/pools/tool/members', { providerId: d1.providerId, models: ['t1', 't2'] });
      const deadIds = [...d1.memberIds, ...d2.body.members.map((m: any) => m.id)];
      const goodP = await addProvider(g, { name: 'good', baseUrl: good.url, format: 'anthropic' }, 'normal', ['g1']);
      await g.admin('POST', '/admin/pools/tool/members', { providerId: goodP.providerId, models: ['g2'] });

      const { r, t0, t1 } = await timed(() => ask(g, entry, stream, 'sonnet'));
      expect(r.status).toBe(200);
      expect(r.headers.get('x-gateway-provider')).toBe('good');
      const pools = await getPools(g);
      for (const id of deadIds) {
        const m = memberOf(pools, id);
        expectCooldown(m, t0, t1, 60);
        expect(m.cooldownKind).toBe('unreachable');
        expect(m.lastError).toMatch(/^provider-wide: ECONNREFUSED/);
      }
      const tool = await ask(g, entry, stream, 'haiku');
      expect(tool.headers.get('x-gateway-provider')).toBe('good');
      let rows = await logs(g);
      expect(rows.map((x) => x.attempts.length)).toEqual([0, 1]); // newest first: the tool request tried nothing dead

      // Only the dead provider left: one request costs one refused connection, not one per model
      // (a probe, since nothing is ready; the provider's other members are not tried again)
      await g.admin('PATCH', `/admin/providers/${goodP.providerId}`, { enabled: false });
      const dead = await ask(g, entry, stream, 'sonnet');
      expect(dead.status).toBe(502);
      rows = await logs(g);
      expect(rows[0].attempts.length).toBe(1);
      expect(rows[0].attempts[0].reason).toMatch(/ECONNREFUSED/);
      for (const id of deadIds) expect(memberOf(await getPools(g), id).failures).toBe(2);

      // the host comes back: the next request probes it, and every member of the provider is ready
      const back = await upstream('openai', 'dead', port);
      const ok = await ask(g, entry, stream, 'sonnet');
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-gateway-provider')).toBe('dead');
      expect(back.requests.length).toBe(1);
      const after = await getPools(g);
      for (const id of deadIds) expect(memberOf(after, id).state).toBe('ready');
    });
  }
});

describe('probes: when nothing is ready, a member cooled by a transient failure takes one request at a time', () => {
  for (const [entry, stream] of ENTRIES) {
    it(`single-member pool, 5xx, then fixed: the next request is a probe and succeeds (${label(entry, stream)})`, async () => {
      const g = await gateway();
      const u = await upstream('anthropic', 'solo');
      const { memberIds: [id] } = await addProvider(g, { name: 'solo', baseUrl: u.url, format: 'anthropic', cooldownSeconds: 60 }, 'normal', ['m']);
      u.fallback = { kind: 'status', status: 503 };
      expect((await ask(g, entry, stream)).status).toBe(503);
      expect((await member(g, id)).state).toBe('cooling');
      u.fallback = { kind: 'ok' };
      const r = await ask(g, entry, stream);
      expect(r.status).toBe(200);
      expect(u.requests.length).toBe(2);
      const m = await member(g, id);
      expect(m).toMatchObject({ state: 'ready', failures: 0, cooldownUntil: null, probing: false });
    });
  }

  it('a streamed probe makes the member ready at its first content, before the stream ends', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', 'solo');
    const { memberIds: [id] } = await addProvider(g, { name: 'solo', baseUrl: u.url, format: 'anthropic', cooldownSeconds: 60 }, 'normal', ['m']);
    u.fallback = { kind: 'status', status: 500 };
    await ask(g, 'anthropic', true);
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    u.fallback = { kind: 'custom', handle: (_req, body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      res.write(ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } } })
        + ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
        + ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'hi' } }));
      void gate.then(() => res.end(ev('content_block_stop', { index: 0 }) + ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 1 } }) + ev('message_stop', {})));
    } };
    const res = await fetch(`${g.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody('sonnet', { stream: true })) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    const m = await member(g, id);
    expect(m).toMatchObject({ state: 'ready', failures: 0 });
    release();
    let all = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      all += new TextDecoder().decode(value);
    }
    expect(all).toContain('message_stop');
  });

  it('a failed probe re-cools the member, escalated', async () => {
    const g = await gateway({ DEFAULT_COOLDOWN_SECONDS: '60', MAX_COOLDOWN_SECONDS: '900' });
    const u = await upstream('anthropic', 'solo');
    const { memberIds: [id] } = await addProvider(g, { name: 'solo', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
    u.fallback = { kind: 'reset' };
    expect((await ask(g, 'anthropic', false)).status).toBe(502);
    const { r, t0, t1 } = await timed(() => ask(g, 'anthropic', false));
    expect(r.status).toBe(502);
    expect(u.requests.length).toBe(2);
    const m = await member(g, id);
    expectCooldown(m, t0, t1, 120);
    expect(m.failures).toBe(2);
  });

  it('one probe at a time: a second request meanwhile gets 503 with Retry-After 1; the member shows "probing"', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', 'solo');
    const { memberIds: [id] } = await addProvider(g, { name: 'solo', baseUrl: u.url, format: 'anthropic', cooldownSeconds: 60 }, 'normal', ['m']);
    u.fallback = { kind: 'status', status: 500 };
    await ask(g, 'anthropic', false);
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    u.fallback = { kind: 'custom', handle: (_req, body, res) => {
      void gate.then(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(completion('anthropic', body.model, 'probe ok')));
      });
    } };
    const probe = ask(g, 'anthropic', false);
    await until(async () => u.requests.length === 2, 'the probe to reach the upstream');
    expect((await member(g, id)).probing).toBe(true);
    const meanwhile = await ask(g, 'openai', true);
    expect(meanwhile.status).toBe(503);
    expect(meanwhile.headers.get('retry-after')).toBe('1');
    expect(meanwhile.body.error.message).toContain('probed');
    expect(u.requests.length).toBe(2);
    release();
    expect((await probe).status).toBe(200);
    expect(await member(g, id)).toMatchObject({ state: 'ready', probing: false, failures: 0 });
  });

  it('a probe whose client goes away frees the slot: the next request probes again', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', 'solo');
    const { memberIds: [id] } = await addProvider(g, { name: 'solo', baseUrl: u.url, format: 'anthropic', cooldownSeconds: 60 }, 'normal', ['m']);
    u.fallback = { kind: 'status', status: 500 };
    await ask(g, 'anthropic', false);
    u.fallback = { kind: 'hang' };
    const ac = new AbortController();
    const gone = fetch(`${g.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody()), signal: ac.signal }).catch(() => null);
    await until(async () => u.requests.length === 2, 'the probe to reach the upstream');
    expect((await member(g, id)).probing).toBe(true);
    ac.abort();
    await gone;
    await until(async () => !(await member(g, id)).probing, 'the probe slot to be freed');
    const m = await member(g, id);
    expect(m.state).toBe('cooling'); // an abort is nobody's failure or success
    expect(m.failures).toBe(1);
    u.fallback = { kind: 'ok' };
    expect((await ask(g, 'anthropic', false)).status).toBe(200);
    expect(u.requests.length).toBe(3);
  });

  it('a 429-cooled member is not probed: 503 with Retry-After, nothing sent', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', 'limited');
    const { memberIds: [id] } = await addProvider(g, { name: 'limited', baseUrl: u.url, format: 'anthropic', cooldownSeconds: 60 }, 'normal', ['m']);
    u.fallback = { kind: 'status', status: 429, headers: { 'retry-after': '120' } };
    expect((await ask(g, 'anthropic', false)).status).toBe(429);
    u.fallback = { kind: 'ok' };
    for (const [entry, stream] of ENTRIES) {
      const r = await ask(g, entry, stream);
      expect(r.status).toBe(503);
      // the provider's own 60 s cooldown stands (above MAX_COOLDOWN_SECONDS, an explicit base is not cut)
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(50);
    }
    expect(u.requests.length).toBe(1);
    expect(await member(g, id)).toMatchObject({ state: 'cooling', cooldownKind: 'rate-limit', probing: false });
  });
});

describe('MAX_ATTEMPTS: one request tries at most that many members', () => {
  for (const [entry, stream] of ENTRIES) {
    it(`MAX_ATTEMPTS=2, 4 failing members → exactly 2 upstream calls, the last failure returned (${label(entry, stream)})`, async () => {
      const g = await gateway({ MAX_ATTEMPTS: '2', DEFAULT_COOLDOWN_SECONDS: '60', MAX_COOLDOWN_SECONDS: '900' });
      const ups4: Upstream[] = [];
      for (let i = 0; i < 4; i++) {
        const u = await upstream('anthropic', `p${i}`);
        u.fallback = { kind: 'status', status: [500, 501, 502, 504][i] };
        ups4.push(u);
        await addProvider(g, { name: `p${i}`, baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
      }
      const r = await ask(g, entry, stream);
      expect(ups4.reduce((n, u) => n + u.requests.length, 0)).toBe(2);
      expect(r.status).toBe(501); // p0 then p1: the last failure, as before
      expect(r.headers.get('x-gateway-provider')).toBe('p1');
      const rows = await logs(g);
      expect(rows[0].attempts.length).toBe(2);
      // the two left untried are still ready: the next request goes to them
      const r2 = await ask(g, entry, stream);
      expect(r2.status).toBe(504);
      expect(ups4.map((u) => u.requests.length)).toEqual([1, 1, 1, 1]);
    });
  }
});

describe('probes and failures that overlap (review findings)', () => {
  /** Opens a streamed request and resolves once its first body chunk has arrived; `rest` reads it to the end. */
  async function openStream(g: TestGateway): Promise<{ status: number; rest: Promise<string> }> {
    const res = await fetch(`${g.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody('sonnet', { stream: true })) });
    const reader = res.body!.getReader();
    const first = await reader.read();
    const rest = (async () => {
      let text = new TextDecoder().decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    })();
    return { status: res.status, rest };
  }

  async function setup() {
    const g = await gateway({ DEFAULT_COOLDOWN_SECONDS: '30', MAX_COOLDOWN_SECONDS: '900' });
    const u = await upstream('anthropic', 'only');
    const { memberIds } = await addProvider(g, { name: 'only', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
    // one failure: the only member cools (transient)
    u.queue.push({ kind: 'status', status: 500 });
    expect((await ask(g, 'anthropic', false)).status).toBe(500);
    expect((await member(g, memberIds[0]!)).state).toBe('cooling');
    // a streamed probe: its first content makes the member ready while the stream goes on
    u.queue.push({ kind: 'slow-stream', events: 8, intervalMs: 250 });
    const probe = await openStream(g);
    expect(probe.status).toBe(200);
    expect((await member(g, memberIds[0]!)).state).toBe('ready');
    // meanwhile another request fails: the member cools again
    u.queue.push({ kind: 'status', status: 500 });
    expect((await ask(g, 'anthropic', false)).status).toBe(500);
    expect((await member(g, memberIds[0]!)).state).toBe('cooling');
    return { g, u, id: memberIds[0]!, probe };
  }

  it('the end of a long probe stream does not cancel a cooldown set while it ran', async () => {
    const { g, id, probe } = await setup();
    expect(await probe.rest).toContain('message_stop');
    const m = await member(g, id);
    expect(m.state).toBe('cooling');
    expect(m.failures).toBe(1);
  });

  it('the probe slot is free once the probe streamed content: the member can be probed again during that stream', async () => {
    const { g, u, probe } = await setup();
    u.queue.push({ kind: 'ok' });
    const again = await ask(g, 'anthropic', false);
    expect(again.status).toBe(200); // a second probe, not "503: a cooling member is being probed"
    expect(await probe.rest).toContain('message_stop');
  });

  it('requests failing together count as one failure in a row, not one each', async () => {
    const g = await gateway({ DEFAULT_COOLDOWN_SECONDS: '60', MAX_COOLDOWN_SECONDS: '900' });
    const u = await upstream('anthropic', 'blip');
    const { memberIds } = await addProvider(g, { name: 'blip', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
    let arrived = 0;
    let release: () => void = () => {};
    const allIn = new Promise<void>((r) => (release = r));
    const blip: Behaviour = {
      kind: 'custom',
      handle: (_req, _body, res) => {
        if (++arrived === 5) release();
        void allIn.then(() => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'blip' } }));
        });
      },
    };
    for (let i = 0; i < 5; i++) u.queue.push(blip);
    const { r, t0, t1 } = await timed(() => Promise.all(Array.from({ length: 5 }, () => ask(g, 'anthropic', false))));
    expect(r.every((x) => x.status === 500)).toBe(true);
    const m = await member(g, memberIds[0]!);
    expect(m.failures).toBe(1);
    expectCooldown(m, t0, t1, 60);
  });
});

describe('a table reload racing a reset or a fresh cooldown (memory wins; a stale stored row never comes back)', () => {
  /**
   * A member escalated to 120 s (stored), then a probe that succeeds while another connection holds
   * the database's write lock: the reset is in memory, its write waits on the lock, and a reload
   * (an admin change here or on another replica, the PostgreSQL poll) reads the old row meanwhile.
   */
  async function resetWhileStoredRowIsOld() {
    const g = await gateway({ DEFAULT_COOLDOWN_SECONDS: '60', MAX_COOLDOWN_SECONDS: '900' });
    const u = await upstream('anthropic', 'solo');
    const { memberIds: [id] } = await addProvider(g, { name: 'solo', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
    u.fallback = { kind: 'status', status: 500 };
    expect((await ask(g, 'anthropic', false)).status).toBe(500);
    expect((await ask(g, 'anthropic', false)).status).toBe(500); // a probe, failed: 120 s
    const long = Date.parse((await member(g, id!)).cooldownUntil);
    const stored = async () => (await g.gateway.repo.listMembers()).find((m) => m.id === id)!.cooldownUntil;
    await until(async () => (await stored()) === long, 'the 120 s cooldown to be stored');
    const locker = new Database(path.join(g.dataDir, 'gateway.db'));
    locker.exec('BEGIN EXCLUSIVE');
    u.fallback = { kind: 'ok' };
    expect((await ask(g, 'anthropic', false)).status).toBe(200); // the probe succeeds: reset in memory
    expect(await member(g, id!)).toMatchObject({ state: 'ready', failures: 0 });
    expect(await stored()).toBe(long); // the reset's write has not landed
    return { g, u, id: id!, long, stored, unlock: () => { locker.exec('COMMIT'); locker.close(); } };
  }

  it('a reload that read the row before the reset was written leaves the member ready', async () => {
    const { g, id, long, stored, unlock } = await resetWhileStoredRowIsOld();
    try {
      await g.gateway.reload();
      expect(await stored()).toBe(long); // it did read the old cooldown…
      expect(await member(g, id)).toMatchObject({ state: 'ready', failures: 0, cooldownUntil: null }); // …and kept the reset
    } finally {
      unlock();
    }
    await until(async () => (await stored()) === null, 'the reset to be stored');
    await g.gateway.reload();
    expect((await member(g, id)).state).toBe('ready');
  });

  it('a fresh, shorter cooldown set after the reset stays, with its kind, not the stale longer row', async () => {
    const { g, u, id, long, stored, unlock } = await resetWhileStoredRowIsOld();
    try {
      u.fallback = { kind: 'status', status: 500 };
      const { r, t0, t1 } = await timed(() => ask(g, 'anthropic', false));
      expect(r.status).toBe(500);
      await g.gateway.reload();
      expect(await stored()).toBe(long); // the reload read the old 120 s row
      const m = await member(g, id);
      expectCooldown(m, t0, t1, 60); // the fresh cooldown counts from 0 again: 60 s, not the stale 120 s
      expect(m).toMatchObject({ cooldownKind: 'transient', failures: 1 });
    } finally {
      unlock();
    }
  });
});
