import { afterEach, describe, expect, it } from 'vitest';
import { anthropicFrame, startUpstream, type Behaviour, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { parseSseText } from '../helpers/scripted-upstream.js';

/**
 * The relay's stream path end to end: same-format streams reach the client byte for byte however
 * the upstream cut them into chunks (and with the provider's key masked even when it is cut in
 * two); a hold longer than KEEPALIVE_SECONDS opens the stream and sends keep-alives while it goes
 * on — failing over inside the opened stream, and ending it with an error frame when nothing could
 * answer; a pool with no member says so, in a way clients do not retry.
 */

let gw: TestGateway | null = null;
let ups: Upstream[] = [];
afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(ups.map((u) => u.close()));
  ups = [];
});

type Fmt = 'anthropic' | 'openai';
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An upstream answer written in the given pieces, with a pause between them so that they travel as separate chunks. */
const pieces = (parts: (string | Buffer)[], pauseMs = 25, then: 'end' | 'hang' = 'end'): Behaviour => ({
  kind: 'custom',
  handle: async (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const p of parts) {
      if (p === '') {
        await tick(pauseMs * 20); // a long pause
        continue;
      }
      res.write(p);
      await tick(pauseMs);
    }
    if (then === 'end') res.end();
  },
});

const A = anthropicFrame;
const O = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const messageStart = A('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } });
const anthropicAnswer = (text: string) => [
  messageStart,
  A('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  A('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
  A('ping', {}), // (kept after the first content; before it, keep-alives are not held back but dropped)
  A('content_block_stop', { index: 0 }),
  A('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } }),
  A('message_stop', {}),
];
const openaiAnswer = (text: string) => [
  O({ role: 'assistant', content: '' }),
  O({ content: text }),
  ': an upstream comment\n\n',
  O({}, 'stop'),
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } })}\n\n`,
  'data: [DONE]\n\n',
];
const ANSWER: Record<Fmt, (text: string) => string[]> = { anthropic: anthropicAnswer, openai: openaiAnswer };

/** Cuts a text's bytes at the given byte offsets (inside events, lines and multi-byte characters alike). */
function cutBytes(text: string, at: number[]): Buffer[] {
  const b = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  let from = 0;
  for (const i of at) {
    out.push(b.subarray(from, i));
    from = i;
  }
  out.push(b.subarray(from));
  return out;
}

const ask = (g: TestGateway, client: Fmt, stream = true) => client === 'anthropic'
  ? post(`${g.url}/v1/messages`, anthropicBody('sonnet', { stream }))
  : post(`${g.url}/v1/chat/completions`, openaiBody('sonnet', { stream }));

async function onePool(format: Fmt, names: string[], env: Record<string, string> = {}, apiKey?: string) {
  gw = await startTestGateway(env);
  const out: Upstream[] = [];
  for (const name of names) {
    const u = await startUpstream({ format, name });
    ups.push(u);
    out.push(u);
    await addProvider(gw, { name, baseUrl: u.url, format, ...(apiKey ? { apiKey } : {}) }, 'normal', [`m-${name}`]);
  }
  return { g: gw, ups: out };
}

async function lastLog(g: TestGateway): Promise<any> {
  await g.gateway.telemetry.flush();
  const logs = await g.admin('GET', '/admin/logs');
  return logs.body.logs[0];
}

describe('same-format streams are forwarded byte for byte', () => {
  for (const format of ['anthropic', 'openai'] as const) {
    it(`${format}: cut anywhere (mid-line, mid-event, mid-character), the client gets exactly the upstream's bytes`, async () => {
      const whole = ANSWER[format]('héllo wörld — 你好，世界 🌍').join('');
      const bytes = Buffer.from(whole, 'utf8');
      // every cut point kind: right after the first event, inside the content event, inside a CJK
      // character and inside the emoji, and the rest event by event
      const cjk = bytes.indexOf(Buffer.from('你', 'utf8'));
      const emoji = bytes.indexOf(Buffer.from('🌍', 'utf8'));
      const firstEnd = whole.indexOf('\n\n') + 2;
      const cuts = [firstEnd, firstEnd + 7, cjk + 1, cjk + 2, emoji + 3, emoji + 20].filter((v, i, a) => v > 0 && v < bytes.length && (i === 0 || v > a[i - 1]!));
      const { g, ups: [u] } = await onePool(format, ['p']);
      u!.fallback = pieces(cutBytes(whole, cuts));
      const r = await ask(g, format);
      expect(r.status).toBe(200);
      expect(r.text).toBe(whole);
      // then the same answer as whole events, one chunk each (the path that forwards the received Buffers)
      u!.fallback = pieces(ANSWER[format]('plain'));
      const r2 = await ask(g, format);
      expect(r2.text).toBe(ANSWER[format]('plain').join(''));
      const row = await lastLog(g);
      expect(row.status).toBe(200);
      expect(row.outputTokens).toBe(7); // usage watched on the way
    });

    it(`${format}: the provider's key echoed mid-stream is masked, also when cut across chunks`, async () => {
      const KEY = 'sk-live-0123456789abcdefXYZ';
      const text = `the key is ${KEY} ok`;
      const whole = ANSWER[format](text).join('');
      const at = whole.indexOf(KEY) + 5; // inside the key
      const { g, ups: [u] } = await onePool(format, ['p'], {}, KEY);
      u!.fallback = pieces(cutBytes(whole, [at]));
      const r = await ask(g, format);
      expect(r.status).toBe(200);
      expect(r.text).not.toContain(KEY);
      expect(r.text).not.toContain(KEY.slice(0, 12));
      expect(r.text).toContain('****');
      // a whole event holding the key, in its own chunk
      u!.fallback = pieces(ANSWER[format](text));
      const r2 = await ask(g, format);
      expect(r2.text).not.toContain(KEY.slice(0, 12));
      expect(r2.text).toContain('the key is ****');
    });
  }
});

describe('a long hold opens the stream and keeps it alive (KEEPALIVE_SECONDS)', () => {
  const env = { KEEPALIVE_SECONDS: '0.1', UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS: '10' };
  const KEEP_ALIVE: Record<Fmt, string> = { anthropic: 'event: ping\ndata: {"type": "ping"}\n\n', openai: ': keep-alive\n\n' };

  for (const format of ['anthropic', 'openai'] as const) {
    it(`${format}: keep-alives flow before the first content, then one clean stream`, async () => {
      const { g, ups: [u] } = await onePool(format, ['p'], env);
      const answer = ANSWER[format]('late');
      // the opening, then a long silence (well past KEEPALIVE_SECONDS), then the content
      u!.fallback = pieces([answer[0]!, '', ...answer.slice(1)], 30);
      const r = await ask(g, format);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-gateway-provider')).toBe('p');
      // keep-alives came first (at least one), then the answer as the upstream sent it (its opening held until the content)
      const rest = answer.join('');
      expect(r.text.endsWith(rest)).toBe(true);
      const before = r.text.slice(0, r.text.length - rest.length);
      expect(before.length).toBeGreaterThan(0);
      expect(before.split(KEEP_ALIVE[format]).every((p) => p === '')).toBe(true);
    });
  }

  it('a member that fails after the stream was opened is replaced inside it: the client sees one answer', async () => {
    const { g, ups: [bad, good] } = await onePool('anthropic', ['bad', 'good'], { ...env, UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS: '0.6' });
    bad!.fallback = pieces([messageStart], 10, 'hang'); // an opening, then silence past the first-byte timeout
    good!.fallback = pieces(anthropicAnswer('from good'));
    const r = await ask(g, 'anthropic');
    expect(r.status).toBe(200);
    const events = parseSseText(r.text);
    expect(events.filter((e) => e.event === 'ping').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.event === 'message_start')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'error')).toHaveLength(0);
    expect(r.text).toContain('from good');
    expect(r.text.endsWith(A('message_stop', {}))).toBe(true);
    const row = await lastLog(g);
    expect(row.provider).toBe('good'); // the log names the member that answered
    expect(row.attempts).toHaveLength(1);
  });

  for (const format of ['anthropic', 'openai'] as const) {
    it(`${format}: nothing could answer after the stream was opened: it ends with the error frame of the last failure`, async () => {
      const { g, ups: [u] } = await onePool('anthropic', ['only'], { ...env, UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS: '0.6' });
      u!.fallback = pieces([messageStart], 10, 'hang');
      const r = await ask(g, format);
      expect(r.status).toBe(200); // the head went out with the first keep-alive
      const events = parseSseText(r.text);
      const last = events[events.length - 1]!;
      const body = JSON.parse(last.data);
      if (format === 'anthropic') {
        expect(last.event).toBe('error');
        expect(body.error.type).toBe('timeout_error');
        expect(events.some((e) => e.event === 'message_start')).toBe(false); // the failed member's opening never reached the client
      } else {
        expect(body.error.type).toBe('timeout');
        expect(events.some((e) => e.data.includes('chat.completion.chunk'))).toBe(false);
      }
      expect(body.error.message).toContain('only');
      const row = await lastLog(g);
      expect(row.status).toBe(504); // the log says what happened, not the 200 of the head
      expect(row.error).toContain('first content');
    });
  }
});

describe('a pool with no member', () => {
  for (const format of ['anthropic', 'openai'] as const) {
    it(`${format}: 503 that says to add a member, not typed as an overload, with x-should-retry: false`, async () => {
      gw = await startTestGateway();
      const r = await ask(gw, format, false);
      expect(r.status).toBe(503);
      expect(r.headers.get('x-should-retry')).toBe('false');
      expect(r.headers.get('retry-after')).not.toBeNull();
      expect(r.headers.get('x-gateway-provider')).toBe('none');
      if (format === 'anthropic') {
        expect(r.body.type).toBe('error');
        expect(r.body.error.type).toBe('api_error');
      } else {
        expect(r.body.error.type).toBe('server_error');
        expect(r.body.error.code).toBe('pool_empty');
      }
      expect(r.body.error.message).toContain('add a provider');
      expect(r.body.error.message).toContain('normal');
    });
  }

  it('a pool whose only member is disabled says the same', async () => {
    gw = await startTestGateway();
    const u = await startUpstream({ format: 'openai', name: 'p' });
    ups.push(u);
    const { providerId } = await addProvider(gw, { name: 'p', baseUrl: u.url, format: 'openai' }, 'normal', ['m']);
    expect((await gw.admin('PATCH', `/admin/providers/${providerId}`, { enabled: false })).status).toBe(200);
    const r = await ask(gw, 'anthropic', false);
    expect(r.status).toBe(503);
    expect(r.body.error.type).toBe('api_error');
    expect(u.requests).toHaveLength(0);
  });
});
