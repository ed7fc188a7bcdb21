import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, getPools, memberOf, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let ups: Upstream[] = [];

beforeEach(async () => {
  gw = await startTestGateway({ UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS: '0.5', UPSTREAM_TIMEOUT_SECONDS: '1', UPSTREAM_IDLE_TIMEOUT_SECONDS: '0.5' });
  ups = [];
});
afterEach(async () => {
  await gw.close();
  await Promise.all(ups.map((u) => u.close()));
});

async function upstream(format: 'openai' | 'anthropic', name = 'up', key?: string) {
  const u = await startUpstream({ format, name, key });
  ups.push(u);
  return u;
}

describe('same-format relay', () => {
  it('Anthropic client → Anthropic provider: real model, provider key, headers forwarded, route named', async () => {
    const u = await upstream('anthropic', 'A', 'sk-provider-A-0001');
    await addProvider(gw, { name: 'A', baseUrl: u.url, format: 'anthropic', apiKey: 'sk-provider-A-0001' }, 'normal', ['claude-real-1']);
    const r = await post(`${gw.url}/v1/messages?beta=true`, anthropicBody('claude-sonnet-4-5-20250929'), {
      'x-api-key': 'client-key-never-forwarded',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
    });
    expect(r.status).toBe(200);
    expect(r.body.content[0].text).toContain('claude-real-1');
    expect(r.headers.get('x-gateway-provider')).toBe('A');
    expect(r.headers.get('x-gateway-model')).toBe('claude-real-1');
    const seen = u.requests.at(-1)!;
    expect(seen.path).toBe('/v1/messages');
    expect(seen.body.model).toBe('claude-real-1');
    expect(seen.headers['x-api-key']).toBe('sk-provider-A-0001');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen.headers['anthropic-beta']).toBe('claude-code-20250219,interleaved-thinking-2025-05-14');
    expect(JSON.stringify(seen.headers)).not.toContain('client-key-never-forwarded');
  });

  it('OpenAI client → OpenAI provider with a /v4 base URL', async () => {
    const u = await upstream('openai', 'O', 'sk-provider-O-0002');
    await addProvider(gw, { name: 'O', baseUrl: `${u.url}/api/paas/v4`, format: 'openai', apiKey: 'sk-provider-O-0002' }, 'tool', ['glm-real']);
    const r = await post(`${gw.url}/v1/chat/completions`, openaiBody('HAIKU'), { authorization: 'Bearer client-secret' });
    expect(r.status).toBe(200);
    expect(r.body.choices[0].message.content).toContain('glm-real');
    const seen = u.requests.at(-1)!;
    expect(seen.path).toBe('/api/paas/v4/chat/completions');
    expect(seen.headers.authorization).toBe('Bearer sk-provider-O-0002');
    expect(seen.headers['anthropic-version']).toBeUndefined();
  });

  it('streams event by event: the client holds the first event before the upstream sends the last', async () => {
    const u = await upstream('anthropic');
    await addProvider(gw, { name: 'A', baseUrl: u.url, format: 'anthropic' }, 'normal', ['m']);
    // The upstream sends the rest of its stream only after the client has read the first event: a
    // gateway that buffered the stream would never deliver it (and the test would time out).
    let clientGotFirst: () => void = () => {};
    const firstRead = new Promise<void>((r) => (clientGotFirst = r));
    const { streamEvents } = await import('../helpers/upstream.js');
    u.queue.push({ kind: 'custom', handle: (_req, body, res) => {
      const evs = streamEvents('anthropic', body.model, 4);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(evs.slice(0, 3).join(''));
      void firstRead.then(() => res.end(evs.slice(3).join('')));
    } });
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody('sonnet', { stream: true })) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-gateway-provider')).toBe('A');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('message_start');
    expect(new TextDecoder().decode(first.value)).not.toContain('message_stop');
    clientGotFirst();
    let all = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      all += new TextDecoder().decode(value);
    }
    expect(all).toContain('event: message_stop');
  });
});

describe('failover and cooldown', () => {
  // the last column: a transient failure (5xx, broken connection, timeout) leaves members that may be probed
  const faults: [string, any, number, boolean][] = [
    ['429 with Retry-After', { kind: 'status', status: 429, headers: { 'retry-after': '120' } }, 429, false],
    ['500', { kind: 'status', status: 500 }, 500, true],
    ['503', { kind: 'status', status: 503 }, 503, true],
    ['401', { kind: 'status', status: 401 }, 401, false],
    ['404', { kind: 'status', status: 404 }, 404, false],
    ['connection reset', { kind: 'reset' }, 502, true],
    ['hang past the timeout', { kind: 'hang' }, 504, true],
  ];
  for (const [name, fault, expectedStatus, probed] of faults) {
    for (const stream of [false, true]) {
      it(`${name}${stream ? ' (streamed)' : ''}: fails over to the next member and cools the failed one`, async () => {
        const bad = await upstream('anthropic', 'bad');
        const good = await upstream('anthropic', 'good');
        const a = await addProvider(gw, { name: 'bad', baseUrl: bad.url, format: 'anthropic' }, 'normal', ['m-bad']);
        await addProvider(gw, { name: 'good', baseUrl: good.url, format: 'anthropic' }, 'normal', ['m-good']);
        bad.fallback = fault;
        // first request goes to provider "bad" (lowest id) and must land on "good"
        const r = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream }));
        expect(r.status).toBe(200);
        expect(r.headers.get('x-gateway-provider')).toBe('good');
        if (stream) expect(r.text).toContain('event: message_stop');
        else expect(r.body.content[0].text).toContain('m-good');
        const m = memberOf(await getPools(gw), a.memberIds[0]);
        expect(m.state).toBe('cooling');
        expect(m.lastError).toBeTruthy();
        const until = Date.parse(m.cooldownUntil);
        expect(until).toBeGreaterThan(Date.now() + 50_000);
        if (fault.headers?.['retry-after']) expect(until).toBeGreaterThan(Date.now() + 110_000);
        // now only "good" is ready; with "good" failing too, the client sees the last failure
        good.fallback = fault;
        const r2 = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream }));
        expect(r2.status).toBe(expectedStatus);
        expect(r2.body.type).toBe('error');
        expect(r2.headers.get('retry-after')).toBeTruthy();
        // and once nothing is ready: 503 + Retry-After — unless the members may be probed (CONTRACT
        // "Cooldowns"): then the probes are tried, fail again, and the client gets the last failure
        const before = bad.requests.length + good.requests.length;
        const r3 = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream }));
        expect(r3.status).toBe(probed ? expectedStatus : 503);
        expect(r3.body.type).toBe('error');
        expect(Number(r3.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(bad.requests.length + good.requests.length - before).toBe(probed ? 2 : 0);
      });
    }
  }

  it('200 then an error as the first event: fails over, cools the member', async () => {
    const bad = await upstream('openai', 'bad');
    const good = await upstream('openai', 'good');
    const a = await addProvider(gw, { name: 'bad', baseUrl: bad.url, format: 'openai' }, 'normal', ['x']);
    await addProvider(gw, { name: 'good', baseUrl: good.url, format: 'openai' }, 'normal', ['y']);
    bad.fallback = { kind: 'error-first-event', errorType: 'rate_limit_exceeded' };
    const r = await post(`${gw.url}/v1/chat/completions`, openaiBody('sonnet', { stream: true }));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-gateway-provider')).toBe('good');
    expect(r.text).toContain('data: [DONE]');
    expect(r.text).not.toContain('Overloaded');
    expect(memberOf(await getPools(gw), a.memberIds[0]).state).toBe('cooling');
  });

  it('200 then silence past the first-byte timeout: fails over', async () => {
    const bad = await upstream('anthropic', 'bad');
    const good = await upstream('anthropic', 'good');
    const a = await addProvider(gw, { name: 'bad', baseUrl: bad.url, format: 'anthropic' }, 'normal', ['x']);
    await addProvider(gw, { name: 'good', baseUrl: good.url, format: 'anthropic' }, 'normal', ['y']);
    bad.fallback = { kind: 'silent-stream' };
    const r = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream: true }));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-gateway-provider')).toBe('good');
    const m = memberOf(await getPools(gw), a.memberIds[0]);
    expect(m.state).toBe('cooling');
    expect(m.lastError).toMatch(/first/i);
  });

  it('400 passes through once, untouched, and cools nothing', async () => {
    const u = await upstream('anthropic', 'A');
    const other = await upstream('anthropic', 'B');
    const a = await addProvider(gw, { name: 'A', baseUrl: u.url, format: 'anthropic' }, 'normal', ['x']);
    await addProvider(gw, { name: 'B', baseUrl: other.url, format: 'anthropic' }, 'normal', ['y']);
    // (a context overflow is not the request's own fault for every member: see conversations.test.ts)
    const errBody = { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: 100000 > 64000, which is the maximum allowed for this model' } };
    u.fallback = { kind: 'status', status: 400, body: errBody };
    const r = await post(`${gw.url}/v1/messages`, anthropicBody());
    expect(r.status).toBe(400);
    expect(r.body).toEqual(errBody);
    expect(u.requests.length).toBe(1);
    expect(other.requests.length).toBe(0);
    expect(memberOf(await getPools(gw), a.memberIds[0]).state).toBe('ready');
  });

  it('a stream that breaks mid-way ends with an Anthropic error event and no message_stop', async () => {
    const u = await upstream('anthropic');
    await addProvider(gw, { name: 'A', baseUrl: u.url, format: 'anthropic' }, 'normal', ['x']);
    u.fallback = { kind: 'break-after', events: 3 };
    const r = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream: true }));
    expect(r.status).toBe(200);
    expect(r.text).toContain('event: message_start');
    expect(r.text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
    expect(r.text).not.toContain('message_stop');
    expect(u.requests.length).toBe(1);
  });

  it('a stream that breaks mid-way ends with an OpenAI error line for OpenAI clients', async () => {
    const u = await upstream('openai');
    await addProvider(gw, { name: 'O', baseUrl: u.url, format: 'openai' }, 'normal', ['x']);
    u.fallback = { kind: 'break-after', events: 3 };
    const r = await post(`${gw.url}/v1/chat/completions`, openaiBody('sonnet', { stream: true }));
    expect(r.status).toBe(200);
    const lines = r.text.trim().split('\n\n');
    expect(JSON.parse(lines.at(-1)!.replace(/^data: /, '')).error.message).toBeTruthy();
    expect(r.text).not.toContain('[DONE]');
  });

  it('a stream silent past the idle timeout ends with an error event', async () => {
    const u = await upstream('anthropic');
    await addProvider(gw, { name: 'A', baseUrl: u.url, format: 'anthropic' }, 'normal', ['x']);
    u.fallback = { kind: 'custom', handle: (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // the stream has begun (its first content went out), then nothing
      res.write('event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"x","usage":{"input_tokens":1,"output_tokens":0}}}\n\n');
      res.write('event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n');
      res.write('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n');
    } };
    const r = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream: true }));
    expect(r.status).toBe(200);
    expect(r.text).toContain('Hel');
    expect(r.text).toContain('event: error');
    expect(r.text).toContain('timeout_error');
  });

  it('a client abort closes the upstream connection within a second', async () => {
    const u = await upstream('anthropic');
    await addProvider(gw, { name: 'A', baseUrl: u.url, format: 'anthropic' }, 'normal', ['x']);
    u.fallback = { kind: 'slow-stream', events: 100, intervalMs: 100 };
    const ac = new AbortController();
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody('sonnet', { stream: true })), signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(u.openSockets()).toBe(1);
    const closed = u.nextSocketClose();
    ac.abort();
    await closed; // the upstream socket closes (the stream had 10 s left to run; the test's time limit bounds the wait)
    expect(u.openSockets()).toBe(0);
  });
});

describe('rotation through the gateway', () => {
  it('2 providers × 2 models: providers alternate, models 2/2/2/2', async () => {
    const u1 = await upstream('openai', 'P1');
    const u2 = await upstream('openai', 'P2');
    await addProvider(gw, { name: 'P1', baseUrl: u1.url, format: 'openai' }, 'advanced', ['a1', 'a2']);
    await addProvider(gw, { name: 'P2', baseUrl: u2.url, format: 'openai' }, 'advanced', ['b1', 'b2']);
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await post(`${gw.url}/v1/chat/completions`, openaiBody('claude-opus-4-1'));
      expect(r.status).toBe(200);
      seen.push(`${r.headers.get('x-gateway-provider')}/${r.headers.get('x-gateway-model')}`);
    }
    expect(seen.map((s) => s.split('/')[0])).toEqual(['P1', 'P2', 'P1', 'P2', 'P1', 'P2', 'P1', 'P2']);
    const counts: Record<string, number> = {};
    for (const s of seen) counts[s] = (counts[s] ?? 0) + 1;
    expect(counts).toEqual({ 'P1/a1': 2, 'P1/a2': 2, 'P2/b1': 2, 'P2/b2': 2 });
  });
});

describe('keep-alive during upstream silence', () => {
  it('an Anthropic client gets event: ping while the upstream is silent mid-stream, and the stream completes', async () => {
    await gw.close();
    gw = await startTestGateway({ KEEPALIVE_SECONDS: '0.1', UPSTREAM_IDLE_TIMEOUT_SECONDS: '5' });
    const u = await upstream('anthropic');
    await addProvider(gw, { name: 'A', baseUrl: u.url, format: 'anthropic' }, 'normal', ['x']);
    const { streamEvents } = await import('../helpers/upstream.js');
    // the upstream stays silent until the client has read two pings (order, not a clock)
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    u.fallback = { kind: 'custom', handle: (_req, _body, res) => {
      const evs = streamEvents('anthropic', 'x', 2);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(evs.slice(0, 3).join('')); // message_start, the block, its first text
      void gate.then(() => res.end(evs.slice(3).join('')));
    } };
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody('sonnet', { stream: true })) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    const pings = () => text.split('\n\n').filter((f) => f.startsWith('event: ping')).length;
    for (;;) {
      if (pings() >= 2) release();
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    expect(pings()).toBeGreaterThanOrEqual(2);
    expect(text.indexOf('event: ping')).toBeGreaterThan(text.indexOf('message_start'));
    expect(text).toContain('event: message_stop');
  });
});

describe('a stream that breaks after it began', () => {
  it('cools the member, so the next request goes elsewhere', async () => {
    const flaky = await upstream('anthropic', 'flaky');
    const steady = await upstream('anthropic', 'steady');
    const f = await addProvider(gw, { name: 'flaky', baseUrl: flaky.url, format: 'anthropic' }, 'normal', ['x']);
    await addProvider(gw, { name: 'steady', baseUrl: steady.url, format: 'anthropic' }, 'normal', ['y']);
    flaky.fallback = { kind: 'break-after', events: 3 };
    const r = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream: true }));
    expect(r.headers.get('x-gateway-provider')).toBe('flaky');
    expect(r.text).toContain('event: error');
    const m = memberOf(await getPools(gw), f.memberIds[0]);
    expect(m.state).toBe('cooling');
    expect(m.lastError).toContain('mid-stream');
    for (let i = 0; i < 3; i++) {
      const next = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { stream: true }));
      expect(next.headers.get('x-gateway-provider')).toBe('steady');
    }
  });
});
