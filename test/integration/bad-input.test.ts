import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { completion, startUpstream, streamEvents, type Behaviour, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, getPools, memberOf, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { anthropicToOpenAI, openaiToAnthropic } from '../../src/protocol/convert/index.js';
import type { StreamTranslator } from '../../src/protocol/convert/types.js';

/**
 * CONTRACT "Bad input": too-deep JSON and untranslatable requests are 400s that reach no upstream
 * and cool nothing; a converter bug is a 500 that cools nothing; an oversized body gets a 413 the
 * client can read; a slow upload gets 408; an oversized upstream answer is that member's failure.
 */

const gateways: TestGateway[] = [];
const ups: Upstream[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

async function gateway(env: Record<string, string> = {}) {
  const g = await startTestGateway(env);
  gateways.push(g);
  return g;
}
async function upstream(format: 'openai' | 'anthropic', name?: string) {
  const u = await startUpstream({ format, name });
  ups.push(u);
  return u;
}

/** A gateway with one `provider`-format member in the normal pool. */
async function oneMember(provider: 'openai' | 'anthropic', env: Record<string, string> = {}) {
  const g = await gateway(env);
  const u = await upstream(provider, 'P');
  const { memberIds } = await addProvider(g, { name: 'P', baseUrl: u.url, format: provider }, 'normal', ['m']);
  return { g, u, memberId: memberIds[0]! };
}

const entryPath = (entry: 'anthropic' | 'openai') => (entry === 'anthropic' ? '/v1/messages' : '/v1/chat/completions');
const body = (entry: 'anthropic' | 'openai', extra: object = {}) => (entry === 'anthropic' ? anthropicBody('sonnet', extra) : openaiBody('sonnet', extra));

/** Checks that `b` is an error body in the `entry` client's format. */
function expectErrorIn(entry: 'anthropic' | 'openai', b: any, type?: string) {
  if (entry === 'anthropic') {
    expect(b.type).toBe('error');
    expect(typeof b.error.message).toBe('string');
    if (type) expect(b.error.type).toBe(type);
  } else {
    expect(typeof b.error.message).toBe('string');
    expect(b.error).toHaveProperty('code');
    if (type) expect(b.error.type).toBe(type);
  }
}

async function memberState(g: TestGateway, id: number) {
  return memberOf(await getPools(g), id).state as string;
}

/** `{"model":…,"messages":…,"metadata":{"x":[[…]]}}` with arrays/objects nested `depth` deep in all. */
function deepBody(entry: 'anthropic' | 'openai', depth: number): string {
  const inner = '['.repeat(depth - 2) + ']'.repeat(depth - 2);
  const b = JSON.stringify(body(entry, { metadata: { x: 0 } }));
  return b.replace('{"x":0}', `{"x":${inner}}`);
}

describe('JSON nested deeper than 128 levels', () => {
  it.each(['anthropic', 'openai'] as const)('%s client: 129 levels → 400 in its format, nothing upstream, nothing cooled; 128 levels pass', async (entry) => {
    const { g, u, memberId } = await oneMember(entry);
    const r = await post(g.url + entryPath(entry), deepBody(entry, 129));
    expect(r.status).toBe(400);
    expectErrorIn(entry, r.body, 'invalid_request_error');
    expect(r.body.error.message).toMatch(/deeper than 128 levels/);
    expect(u.requests).toHaveLength(0);
    expect(await memberState(g, memberId)).toBe('ready');
    const ok = await post(g.url + entryPath(entry), deepBody(entry, 128));
    expect(ok.status).toBe(200);
    expect(u.requests).toHaveLength(1);
  });

  it('a million levels: 400 at once, and the gateway keeps serving', async () => {
    const { g, u } = await oneMember('anthropic');
    const r = await post(`${g.url}/v1/messages`, `{"model":"sonnet","messages":${'['.repeat(1_000_000)}`);
    expect(r.status).toBe(400);
    expect(u.requests).toHaveLength(0);
    expect((await post(`${g.url}/v1/messages`, anthropicBody())).status).toBe(200);
  });

  it('the admin API has the same cap', async () => {
    const g = await gateway();
    const r = await g.admin('POST', '/admin/providers', JSON.parse('{"name":"x","baseUrl":"http://h","format":"openai","options":{"a":' + '['.repeat(127) + ']'.repeat(127) + '}}'));
    expect(r.status).toBe(400); // 129 levels in all
    expect(r.body.error.message).toMatch(/deeper than 128 levels/);
  });
});

describe('count_tokens and …+json bodies', () => {
  it('a …+json content type gets the same depth cap, on chat and on count_tokens', async () => {
    const { g, u } = await oneMember('anthropic');
    for (const p of ['/v1/messages', '/v1/messages/count_tokens']) {
      const r = await post(g.url + p, deepBody('anthropic', 129), { 'content-type': 'application/vnd.api+json' });
      expect(r.status, p).toBe(400);
      expect(r.body.error.message).toMatch(/deeper than 128 levels/);
    }
    expect(u.requests).toHaveLength(0);
  });

  it('counting a huge body locally does not stall the process', async () => {
    const g = await gateway(); // no member: counted locally
    const noise = Array.from({ length: 8 * 1024 * 1024 / 32 }, () => Math.random().toString(36).slice(2).padEnd(32, 'x')).join('');
    // (before, an 8 MB unbroken string went through BPE on the main thread: a minute of CPU, past the test's time limit)
    const pending = post(`${g.url}/v1/messages/count_tokens`, { model: 'sonnet', messages: [{ role: 'user', content: noise }] });
    // the process answers other requests meanwhile
    const health = await fetch(`${g.url}/health`);
    expect(health.status).toBe(200);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.input_tokens).toBeGreaterThan(1_000_000);
  });
});

describe('a request the converter cannot translate', () => {
  it.each([
    ['anthropic', 'openai', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    ['anthropic', 'openai', { messages: [{ role: 'user', content: 'hi' }, 'oops'] }, 'messages[1]'],
    ['anthropic', 'openai', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: { weird: true } }] }] }, 'messages[0].content[0].content'],
    ['anthropic', 'openai', { messages: [{ role: 'robot', content: 'hi' }] }, 'messages[0].role'],
    ['openai', 'anthropic', { messages: [{ role: 'user', content: { text: 'hi' } }] }, 'messages[0].content'],
    ['openai', 'anthropic', { messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
    ['openai', 'anthropic', { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] }] }, 'messages[1].tool_calls[0]'],
  ] as const)('%s client → %s provider: 400 naming %s, nothing upstream, nothing cooled', async (entry, provider, extra, field) => {
    const { g, u, memberId } = await oneMember(provider);
    const r = await post(g.url + entryPath(entry), body(entry, extra));
    expect(r.status).toBe(400);
    expectErrorIn(entry, r.body, 'invalid_request_error');
    expect(r.body.error.message.startsWith(`${field}: `)).toBe(true);
    if (entry === 'openai') expect(r.body.error.param).toBe(field);
    expect(u.requests).toHaveLength(0);
    expect(await memberState(g, memberId)).toBe('ready');
    await g.gateway.telemetry.flush();
    const row = (await g.admin('GET', '/admin/logs')).body.logs[0];
    expect(row).toMatchObject({ status: 400, attempts: [] });
    expect(row.error).toContain(field);
  });
});

describe('an exception in our converter code: 500, nothing cooled', () => {
  it('while converting the request: 500 in the client format, nothing upstream, the member stays ready', async () => {
    vi.spyOn(anthropicToOpenAI, 'request').mockImplementation(() => { throw new TypeError('boom in request'); });
    const { g, u, memberId } = await oneMember('openai');
    const r = await post(`${g.url}/v1/messages`, anthropicBody());
    expect(r.status).toBe(500);
    expectErrorIn('anthropic', r.body, 'api_error');
    expect(r.body.error.message).toContain('boom in request');
    expect(u.requests).toHaveLength(0);
    expect(await memberState(g, memberId)).toBe('ready');
    await g.gateway.telemetry.flush();
    expect((await g.admin('GET', '/admin/logs')).body.logs[0]).toMatchObject({ status: 500, attempts: [] });
  });

  it('while converting the answer: 500, no failover to the next member, nothing cooled', async () => {
    vi.spyOn(openaiToAnthropic, 'response').mockImplementation(() => { throw new TypeError('boom in response'); });
    const g = await gateway();
    const a = await upstream('anthropic', 'A');
    const b = await upstream('anthropic', 'B');
    const ma = (await addProvider(g, { name: 'A', baseUrl: a.url, format: 'anthropic' }, 'normal', ['m'])).memberIds[0]!;
    const mb = (await addProvider(g, { name: 'B', baseUrl: b.url, format: 'anthropic' }, 'normal', ['m'])).memberIds[0]!;
    const r = await post(`${g.url}/v1/chat/completions`, openaiBody());
    expect(r.status).toBe(500);
    expectErrorIn('openai', r.body);
    expect(r.body.error.message).toContain('boom in response');
    expect(a.requests.length + b.requests.length).toBe(1);
    expect(await memberState(g, ma)).toBe('ready');
    expect(await memberState(g, mb)).toBe('ready');
  });

  it('while translating a stream that has begun: a well-formed error ends it, nothing cooled', async () => {
    const real = openaiToAnthropic.stream;
    vi.spyOn(openaiToAnthropic, 'stream').mockImplementation((ctx) => {
      const t = real(ctx);
      let n = 0;
      const wrapped: StreamTranslator = {
        push: (ev) => { if (++n === 4) throw new TypeError('boom in stream'); return t.push(ev); },
        end: () => t.end(),
        keepAlive: () => t.keepAlive(),
        usage: () => t.usage(),
        state: () => t.state!(),
      };
      return wrapped;
    });
    const { g, memberId } = await oneMember('anthropic');
    const r = await post(`${g.url}/v1/chat/completions`, openaiBody('sonnet', { stream: true }));
    expect(r.status).toBe(200);
    const lines = r.text.split('\n').filter((l) => l.startsWith('data: '));
    const last = JSON.parse(lines.at(-1)!.slice(6));
    expect(last.error.message).toContain('boom in stream');
    expect(await memberState(g, memberId)).toBe('ready');
  });
});

/** POSTs `data` with node:http and waits until the answer is read and the upload has ended (or failed). */
function httpPost(url: string, data: Buffer): Promise<{ status: number; text: string; uploadError: string | null }> {
  return new Promise((resolve, reject) => {
    let answer: { status: number; text: string } | null = null;
    let uploadError: string | null = null;
    let closed = false;
    const done = () => {
      if (answer && closed) resolve({ ...answer, uploadError });
    };
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': data.length } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => { answer = { status: res.statusCode!, text }; done(); });
    });
    req.on('error', (e) => { uploadError = (e as NodeJS.ErrnoException).code ?? e.message; if (!answer) reject(e); });
    req.on('close', () => { closed = true; done(); });
    req.end(data);
  });
}

describe('a body over MAX_BODY_MB', () => {
  const big = Buffer.alloc(40 * 1024 * 1024, 0x20); // 40 MB of spaces: valid JSON padding, if it were read

  it.each(['anthropic', 'openai'] as const)('%s client, 40 MB with Content-Length against MAX_BODY_MB=1: the client reads a 413 in its format', async (entry) => {
    const { g, u } = await oneMember(entry, { MAX_BODY_MB: '1' });
    const res = await fetch(g.url + entryPath(entry), { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    const b = await res.json();
    expectErrorIn(entry, b);
    expect(b.error.message).toMatch(/larger than MAX_BODY_MB \(1 MB\)/);
    expect(u.requests).toHaveLength(0);
    expect((await post(g.url + entryPath(entry), body(entry))).status).toBe(200);
  });

  it.each(['anthropic', 'openai'] as const)('%s client, 40 MB against the default 32 MB with node:http: the 413 is read and the upload ends cleanly (no EPIPE / reset)', async (entry) => {
    const { g } = await oneMember(entry);
    for (let i = 0; i < 3; i++) {
      const r = await httpPost(g.url + entryPath(entry), big);
      expect(r.status).toBe(413);
      expectErrorIn(entry, JSON.parse(r.text));
      expect(r.text).toContain('MAX_BODY_MB (32 MB)');
      expect(r.uploadError).toBeNull();
    }
  });

  it.each(['anthropic', 'openai'] as const)('%s client, a chunked body growing past the limit: the client reads a 413 in its format', async (entry) => {
    const { g } = await oneMember(entry, { MAX_BODY_MB: '1' });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === 40) return controller.close();
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(g.url + entryPath(entry), { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expectErrorIn(entry, await res.json());
  });
});

/**
 * Sends headers and part of a body on a raw socket, then waits; resolves with what came back once
 * the socket closed. `markMs`: a timer set just before sending (so, in this one process, before
 * the gateway's own upload timer starts); `atMark` is what had come back when it fired.
 */
function slowUpload(url: string, path: string, markMs?: number): Promise<{ text: string; atMark: { text: string; closed: boolean } | null }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let text = '';
    let closed = false;
    let atMark: { text: string; closed: boolean } | null = null;
    if (markMs !== undefined) setTimeout(() => { atMark = { text, closed }; }, markMs);
    const socket = net.connect(Number(port), hostname);
    socket.on('data', (d) => { text += d.toString('utf8'); });
    socket.on('error', reject);
    socket.on('close', () => {
      closed = true;
      resolve({ text, atMark });
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":"sonnet",`);
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

describe('REQUEST_TIMEOUT_SECONDS: a slow upload gets 408', () => {
  it.each(['anthropic', 'openai'] as const)('%s client: headers and part of the body, then nothing: 408 in its format and the connection closed; the gateway keeps serving', async (entry) => {
    const { g, u } = await oneMember(entry, { REQUEST_TIMEOUT_SECONDS: '1' });
    // It waited for REQUEST_TIMEOUT_SECONDS, proven by order: a 900 ms timer set before the request
    // was sent (so before the gateway's 1 s timer, in this same process) fired while nothing had come back.
    const { text, atMark } = await slowUpload(g.url, entryPath(entry), 900);
    expect(atMark).toEqual({ text: '', closed: false });
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expectErrorIn(entry, JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), entry === 'anthropic' ? 'timeout_error' : 'timeout');
    expect(text).toContain('REQUEST_TIMEOUT_SECONDS');
    expect(u.requests).toHaveLength(0);
    expect((await post(g.url + entryPath(entry), body(entry))).status).toBe(200);
  });

  it('a streamed answer longer than REQUEST_TIMEOUT_SECONDS is not cut', async () => {
    const { g, u } = await oneMember('anthropic', { REQUEST_TIMEOUT_SECONDS: '1' });
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    u.fallback = { kind: 'custom', handle: (_req, body, res) => {
      const evs = streamEvents('anthropic', body.model, 8);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(evs.slice(0, 3).join('')); // message_start, the block's start, its first text
      void gate.then(() => res.end(evs.slice(3).join('')));
    } };
    const res = await fetch(`${g.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody('sonnet', { stream: true })) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    while (!text.includes('piece0')) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    // Proven by order, not by a clock: a request sent after this one, that stops sending, gets its
    // 408; had this one's upload timer still run, it would have fired first and cut the stream.
    const later = await slowUpload(g.url, '/v1/messages');
    expect(later.text).toMatch(/^HTTP\/1\.1 408 /);
    release();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    expect(text).toContain('piece7');
    expect(text).toContain('event: message_stop');
    expect(text).not.toContain('event: error');
  });
});

describe('an upstream answer over the size limit', () => {
  const huge = (format: 'openai' | 'anthropic', chunked: boolean): Behaviour => ({
    kind: 'custom',
    handle: (_req, b, res) => {
      const text = JSON.stringify(completion(format, b.model, 'x'.repeat(50_000)));
      res.writeHead(200, chunked ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      if (chunked) for (let i = 0; i < text.length; i += 4096) res.write(text.slice(i, i + 4096));
      res.end(chunked ? undefined : text);
    },
  });

  it.each([false, true])('is that member\'s failure and the request fails over (chunked=%s)', async (chunked) => {
    const g = await gateway();
    g.gateway.config.maxUpstreamBodyBytes = 20_000; // 64 MB in production
    const big = await upstream('anthropic', 'Big');
    const small = await upstream('anthropic', 'Small');
    big.fallback = huge('anthropic', chunked);
    const mb = (await addProvider(g, { name: 'Big', baseUrl: big.url, format: 'anthropic' }, 'normal', ['m'])).memberIds[0]!;
    await addProvider(g, { name: 'Small', baseUrl: small.url, format: 'anthropic' }, 'normal', ['m']);
    for (let i = 0; i < 2; i++) {
      const r = await post(`${g.url}/v1/messages`, anthropicBody());
      expect(r.status).toBe(200);
      expect(r.headers.get('x-gateway-provider')).toBe('Small');
    }
    expect(big.requests).toHaveLength(1);
    const m = memberOf(await getPools(g), mb);
    expect(m.state).toBe('cooling');
    expect(m.lastError).toMatch(/larger than 20000 bytes/);
  });

  it('with no other member: 502 in the client format', async () => {
    const { g, u } = await oneMember('openai');
    g.gateway.config.maxUpstreamBodyBytes = 20_000;
    u.fallback = huge('openai', true);
    const r = await post(`${g.url}/v1/chat/completions`, openaiBody());
    expect(r.status).toBe(502);
    expectErrorIn('openai', r.body);
    expect(r.body.error.message).toMatch(/larger than 20000 bytes/);
  });
});
