import { afterEach, describe, expect, it } from 'vitest';
import { startCachingUpstream, type CachingUpstream } from '../helpers/caching-upstream.js';
import { addProvider, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * CONTRACT "Conversations and member capabilities", end to end with stand-in providers that cache
 * prompt prefixes and sign thinking blocks as real backends do: a conversation keeps its member
 * (and its cache), moves when that member fails and stays where it moved; thinking another
 * provider signed never reaches a provider; images and sizes route to members that can hold them.
 */

let gw: TestGateway | null = null;
let ups: CachingUpstream[] = [];
afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(ups.map((u) => u.up.close()));
  ups = [];
});

type Fmt = 'anthropic' | 'openai';

async function pool(format: Fmt, specs: { name: string; thinking?: boolean; contextWindow?: number; vision?: boolean }[], env: Record<string, string> = {}) {
  gw = await startTestGateway(env);
  const members: number[] = [];
  for (const spec of specs) {
    const u = await startCachingUpstream({ format, ...spec });
    ups.push(u);
    const { memberIds } = await addProvider(gw, { name: spec.name, baseUrl: u.up.url, format }, 'normal', [`m-${spec.name}`]);
    members.push(memberIds[0]!);
  }
  return { g: gw, ups: [...ups], members };
}

/** A system prompt the size of a small agent's (the part of every turn a provider's cache holds). */
const SYSTEM = 'You are a coding agent. Follow the rules. '.repeat(200);

/** A client conversation: keeps its history, sends each turn with its session id (Claude Code's header). */
class Conversation {
  readonly messages: Record<string, unknown>[] = [];
  constructor(readonly g: TestGateway, readonly id: string, readonly client: Fmt, readonly extra: Record<string, unknown> = {}) {
    this.messages.push({ role: 'user', content: id }); // the stand-ins name the conversation by its first message
  }

  async turn(text: string, opts: { header?: boolean; thinking?: boolean } = {}): Promise<{ status: number; provider: string | null; affinity: string | null; body: any }> {
    if (this.messages.length > 1) this.messages.push({ role: 'user', content: text });
    const headers: Record<string, string> = opts.header === false ? {} : { 'x-claude-code-session-id': this.id };
    const r = this.client === 'anthropic'
      ? await post(`${this.g.url}/v1/messages`, { model: 'sonnet', max_tokens: 64, system: SYSTEM, messages: this.messages, ...(opts.thinking ? { thinking: { type: 'enabled', budget_tokens: 1024 } } : {}), ...this.extra }, headers)
      : await post(`${this.g.url}/v1/chat/completions`, { model: 'sonnet', messages: [{ role: 'system', content: SYSTEM }, ...this.messages], ...this.extra }, headers);
    if (r.status === 200) {
      this.messages.push(this.client === 'anthropic' ? { role: 'assistant', content: r.body.content } : { role: 'assistant', content: r.body.choices[0].message.content });
    }
    return { status: r.status, provider: r.headers.get('x-gateway-provider'), affinity: r.headers.get('x-gateway-affinity'), body: r.body };
  }
}

describe('a conversation keeps its member', () => {
  for (const client of ['anthropic', 'openai'] as const) {
    it(`${client}: three interleaved conversations over three providers: every turn of one on one provider, the prefix read from cache`, async () => {
      const { g, ups: us } = await pool(client, [{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
      const convs = ['conv-a', 'conv-b', 'conv-c'].map((id) => new Conversation(g, id, client));
      const where = new Map<string, Set<string>>();
      const affinities: string[] = [];
      for (let turn = 1; turn <= 4; turn++) {
        for (const c of convs) {
          const r = await c.turn(`turn ${turn}`);
          expect(r.status).toBe(200);
          affinities.push(r.affinity!);
          (where.get(c.id) ?? where.set(c.id, new Set()).get(c.id)!).add(r.provider!);
        }
      }
      for (const c of convs) expect(where.get(c.id)!.size).toBe(1);
      // new conversations still spread over the providers (the seed's rotation)
      expect(new Set([...where.values()].map((s) => [...s][0])).size).toBe(3);
      expect(affinities.slice(0, 3)).toEqual(['new', 'new', 'new']);
      expect(affinities.slice(3).every((a) => a === 'kept')).toBe(true);
      // from the second turn on, at least 80 % of the cacheable prefix (the history before the new
      // user message) is read from cache
      let cacheable = 0;
      let cached = 0;
      const firstTurns = new Set<string>();
      for (const u of us) {
        for (const row of u.seen) {
          if (!firstTurns.has(row.conv)) {
            firstTurns.add(row.conv); // a conversation's first turn: nothing to read yet
            continue;
          }
          cached += row.cached;
          cacheable += row.cacheable;
        }
      }
      expect(firstTurns.size).toBe(3);
      expect(cached / cacheable).toBeGreaterThanOrEqual(0.8);
      // the dashboard's cache column: the log rows carry the cache reads
      await g.gateway.telemetry.flush();
      const logs = (await g.admin('GET', '/admin/logs?limit=50')).body.logs;
      expect(logs.filter((l: any) => l.cacheReadTokens > 0).length).toBe(9);
      expect(logs.every((l: any) => ['conv-a', 'conv-b', 'conv-c'].includes(l.conversation))).toBe(true);
    });
  }

  it('the conversation is named by metadata.user_id, or by OpenAI user, without the header', async () => {
    const { g } = await pool('anthropic', [{ name: 'p1' }, { name: 'p2' }]);
    const a = new Conversation(g, 'conv-meta', 'anthropic', { metadata: { user_id: 'user-42_session-9' } });
    const first = await a.turn('1', { header: false });
    const second = await a.turn('2', { header: false });
    expect(second.provider).toBe(first.provider);
    expect(second.affinity).toBe('kept');
    const o = new Conversation(g, 'conv-user', 'openai', { user: 'someone' });
    const o1 = await o.turn('1', { header: false });
    const o2 = await o.turn('2', { header: false });
    expect(o2.provider).toBe(o1.provider);
    expect(o2.affinity).toBe('kept');
    // without any conversation name: none, and requests take turns
    const r1 = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
    const r2 = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
    expect(r1.headers.get('x-gateway-affinity')).toBe('none');
    expect(r1.headers.get('x-gateway-provider')).not.toBe(r2.headers.get('x-gateway-provider'));
  });

  it('one Claude Code session sends haiku and sonnet requests: each pool keeps its own member for it', async () => {
    gw = await startTestGateway();
    const names: string[] = [];
    for (const [name, pool] of [['n1', 'normal'], ['n2', 'normal'], ['t1', 'tool'], ['t2', 'tool']] as const) {
      const u = await startCachingUpstream({ format: 'anthropic', name });
      ups.push(u);
      await addProvider(gw, { name, baseUrl: u.up.url, format: 'anthropic' }, pool, [`m-${name}`]);
      names.push(name);
    }
    const seen: Record<string, string[]> = { sonnet: [], haiku: [] };
    const affinity: Record<string, string[]> = { sonnet: [], haiku: [] };
    for (let i = 0; i < 6; i++) {
      for (const model of ['sonnet', 'claude-3-5-haiku-20241022'] as const) {
        const r = await post(`${gw.url}/v1/messages`, { model, max_tokens: 8, system: SYSTEM, messages: [{ role: 'user', content: 'the session' }] }, { 'x-claude-code-session-id': 'one-session' });
        expect(r.status).toBe(200);
        const k = model === 'sonnet' ? 'sonnet' : 'haiku';
        seen[k]!.push(r.headers.get('x-gateway-provider')!);
        affinity[k]!.push(r.headers.get('x-gateway-affinity')!);
      }
    }
    expect(new Set(seen.sonnet).size).toBe(1);
    expect(new Set(seen.haiku).size).toBe(1);
    expect(affinity.sonnet).toEqual(['new', 'kept', 'kept', 'kept', 'kept', 'kept']);
    expect(affinity.haiku).toEqual(['new', 'kept', 'kept', 'kept', 'kept', 'kept']);
  });

  it('with affinity "none" the turns of one conversation spread, and the header says none', async () => {
    const { g } = await pool('anthropic', [{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
    const set = await g.admin('PATCH', '/admin/pools/normal', { affinity: 'none' });
    expect(set.status).toBe(200);
    expect(set.body.affinity).toBe('none');
    const c = new Conversation(g, 'conv-spread', 'anthropic');
    const providers = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await c.turn(`t${i}`);
      expect(r.affinity).toBe('none');
      providers.add(r.provider!);
    }
    expect(providers.size).toBeGreaterThan(1);
  });

  it('when its member fails, the turn moves without an error and the conversation stays where it moved', async () => {
    const { g, ups: us } = await pool('anthropic', [{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
    const c = new Conversation(g, 'conv-move', 'anthropic');
    const first = await c.turn('1');
    const home = us.find((u) => u.name === first.provider)!;
    home.failWith = 503;
    const moved = await c.turn('2');
    expect(moved.status).toBe(200);
    expect(moved.provider).not.toBe(home.name);
    expect(moved.affinity).toBe('moved');
    home.failWith = null; // back, but cooling: the conversation stays on its new member anyway
    for (let i = 3; i <= 5; i++) {
      const r = await c.turn(String(i));
      expect(r.provider).toBe(moved.provider);
      expect(r.affinity).toBe('kept');
    }
  });
});

describe('thinking history stays valid across providers', () => {
  it('thinking another provider signed is removed before sending; its own is kept', async () => {
    const { g, ups: us } = await pool('anthropic', [{ name: 'p1', thinking: true }, { name: 'p2', thinking: true }]);
    const c = new Conversation(g, 'conv-think', 'anthropic');
    const t1 = await c.turn('1', { thinking: true });
    expect(t1.body.content[0].type).toBe('thinking');
    const home = us.find((u) => u.name === t1.provider)!;
    const other = us.find((u) => u !== home)!;
    home.failWith = 503;
    const t2 = await c.turn('2', { thinking: true });
    expect(t2.status).toBe(200);
    expect(t2.provider).toBe(other.name);
    const t3 = await c.turn('3', { thinking: true });
    expect(t3.provider).toBe(other.name);
    // never a signature of another provider at either of them; and no retry was needed
    for (const u of us) {
      for (const row of u.seen) expect(row.signatures.every((s) => s.startsWith(`sig-${u.name}-`))).toBe(true);
      expect(u.seen.every((row) => row.status !== 400)).toBe(true);
    }
    // the moved-to provider got its own earlier thinking back on turn 3
    expect(other.seen[other.seen.length - 1]!.signatures).toEqual([`sig-${other.name}-1`]);
  });

  it('streamed answers teach the gateway their signatures too', async () => {
    const { g, ups: us } = await pool('anthropic', [{ name: 'p1', thinking: true }, { name: 'p2', thinking: true }]);
    const r = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 64, stream: true, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'conv-s' }] }, { 'x-claude-code-session-id': 'conv-s' });
    const home = r.headers.get('x-gateway-provider')!;
    const sig = /"signature":"(sig-[^"]+)"/.exec(r.text)![1]!;
    us.find((u) => u.name === home)!.failWith = 503;
    const next = await post(`${g.url}/v1/messages`, {
      model: 'sonnet', max_tokens: 64, thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'conv-s' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: sig }, { type: 'text', text: 'a' }] }, { role: 'user', content: 'again' }],
    }, { 'x-claude-code-session-id': 'conv-s' });
    expect(next.status).toBe(200);
    const other = us.find((u) => u.name !== home)!;
    expect(other.seen[0]!.signatures).toEqual([]);
    expect(other.seen).toHaveLength(1); // removed before sending: no refusal, no retry
  });

  it('a signature the gateway never saw and the member refuses: retried once on the same member without thinking, nothing cooled', async () => {
    const { g, ups: us, members } = await pool('anthropic', [{ name: 'p1', thinking: true }]);
    const r = await post(`${g.url}/v1/messages`, {
      model: 'sonnet', max_tokens: 64, thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'conv-x' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 'sig-elsewhere-1' }, { type: 'text', text: 'a' }] }, { role: 'user', content: 'again' }],
    });
    expect(r.status).toBe(200);
    expect(us[0]!.seen.map((s) => s.status)).toEqual([400, 200]);
    expect(us[0]!.seen[1]!.signatures).toEqual([]);
    const pools = (await g.admin('GET', '/admin/pools')).body.pools;
    const m = pools.flatMap((p: any) => p.members).find((x: any) => x.id === members[0]);
    expect(m.state).toBe('ready');
    await g.gateway.telemetry.flush();
    const row = (await g.admin('GET', '/admin/logs')).body.logs[0];
    expect(row.attempts).toHaveLength(1);
    expect(row.attempts[0].reason).toContain('signature');
  });
});

describe('a refused signature costs one retry, once', () => {
  it('the retry keeps the member\'s own thinking (and thinking on); the next turn drops the refused block up front', async () => {
    const { g, ups: us } = await pool('anthropic', [{ name: 'p1', thinking: true }]);
    const c = new Conversation(g, 'conv-once', 'anthropic');
    const t1 = await c.turn('1', { thinking: true }); // p1's own signed thinking is now in the history
    expect(t1.status).toBe(200);
    // a block signed elsewhere (before a restart, say) slips into the history
    c.messages.splice(1, 0, { role: 'assistant', content: [{ type: 'thinking', thinking: 'old', signature: 'sig-elsewhere-7' }, { type: 'text', text: 'old' }] }, { role: 'user', content: 'and then' });
    const t2 = await c.turn('2', { thinking: true });
    expect(t2.status).toBe(200);
    const t3 = await c.turn('3', { thinking: true });
    expect(t3.status).toBe(200);
    const rows = us[0]!.seen;
    expect(rows.map((r) => r.status)).toEqual([200, 400, 200, 200]); // one refusal, one retry, then none
    expect(rows[2]!.signatures).toEqual(['sig-p1-1']); // the retry kept p1's own block
    expect(rows[3]!.signatures).toEqual(['sig-p1-1', 'sig-p1-2']); // turn 3: the foreign block dropped up front
  });
});

describe('members say what they can hold', () => {
  const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo'.repeat(10) } };

  it('a request with an image goes only to a vision member', async () => {
    const { g, ups: us, members } = await pool('anthropic', [{ name: 'text-only', vision: false }, { name: 'seeing' }]);
    expect((await g.admin('PATCH', `/admin/pools/normal/members/${members[0]}`, { vision: false })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const r = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, messages: [{ role: 'user', content: [image, { type: 'text', text: 'what is it?' }] }] });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-gateway-provider')).toBe('seeing');
    }
    expect(us[0]!.seen).toHaveLength(0);
  });

  it('a request larger than a member\'s window skips it; an upstream overflow moves to a larger member, cooling nothing', async () => {
    const { g, ups: us, members } = await pool('anthropic', [{ name: 'small', contextWindow: 300 }, { name: 'mid', contextWindow: 3000 }, { name: 'big' }]);
    // small's window is known; mid's is not (it overflows upstream); big holds anything
    expect((await g.admin('PATCH', `/admin/pools/normal/members/${members[0]}`, { contextWindow: 300 })).status).toBe(200);
    const big = 'x'.repeat(20_000); // ~5k tokens
    const r = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, messages: [{ role: 'user', content: big }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-gateway-provider')).toBe('big');
    expect(us[0]!.seen).toHaveLength(0); // skipped by its window
    const pools = (await g.admin('GET', '/admin/pools')).body.pools;
    for (const m of pools.flatMap((p: any) => p.members)) expect(m.state).toBe('ready');
  });

  it('an overflow reported as an error event inside a 200 stream moves on too, cooling nothing', async () => {
    const { g, ups: us } = await pool('openai', [{ name: 'ev' }, { name: 'big' }]);
    us[0]!.up.fallback = {
      kind: 'custom',
      handle: (_q, _b, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${JSON.stringify({ error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } })}\n\n`);
      },
    };
    for (let i = 0; i < 2; i++) {
      const r = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'x'.repeat(1000) }] });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-gateway-provider')).toBe('big');
    }
    const pools = (await g.admin('GET', '/admin/pools')).body.pools;
    for (const m of pools.flatMap((p: any) => p.members)) expect(m.state).toBe('ready');
  });

  it('an overflow is not the answer while a larger member exists: its 529 is (a retry may fit; compacting would lose context)', async () => {
    const { g, ups: us } = await pool('anthropic', [{ name: 'small', contextWindow: 100 }, { name: 'large' }]);
    us[1]!.failWith = 529;
    const r = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, messages: [{ role: 'user', content: 'x'.repeat(2000) }] });
    expect(r.status).toBe(529);
    expect(r.body.error.message).not.toMatch(/prompt is too long/);
  });

  it('an overflow in other words becomes Anthropic\'s "prompt is too long" (Claude Code compacts only on that)', async () => {
    const { g, ups: us } = await pool('anthropic', [{ name: 'bedrockish' }]);
    us[0]!.up.fallback = { kind: 'status', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'Input is too long for requested model.' } } };
    const r = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.type).toBe('invalid_request_error');
    expect(r.body.error.message).toMatch(/^prompt is too long/);
  });

  it('an overflow after a long hold opened the stream: the error frame still says "prompt is too long", the log says 400', async () => {
    const { g, ups: us } = await pool('anthropic', [{ name: 'slow' }], { KEEPALIVE_SECONDS: '0.1' });
    us[0]!.up.fallback = {
      kind: 'custom',
      handle: (_q, _b, res) => {
        setTimeout(() => {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 300000 tokens > 200000 maximum' } }));
        }, 400);
      },
    };
    const r = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(200);
    expect(r.text).toContain('event: ping');
    const frame = /event: error\ndata: (.*)\n/.exec(r.text)!;
    const body = JSON.parse(frame[1]!);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/^prompt is too long: 300000 tokens > 200000 maximum/);
    await g.gateway.telemetry.flush();
    expect((await g.admin('GET', '/admin/logs')).body.logs[0].status).toBe(400);
  });

  for (const client of ['anthropic', 'openai'] as const) {
    it(`${client}: nothing can hold it: 400 prompt is too long (Claude Code compacts on it)`, async () => {
      const { g, members } = await pool('openai', [{ name: 'a', contextWindow: 500 }, { name: 'b', contextWindow: 1000 }]);
      expect((await g.admin('PATCH', `/admin/pools/normal/members/${members[0]}`, { contextWindow: 500 })).status).toBe(200);
      const content = 'y'.repeat(12_000); // ~3k tokens: b's window is unknown to the gateway, b overflows upstream
      const r = client === 'anthropic'
        ? await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, messages: [{ role: 'user', content }] })
        : await post(`${g.url}/v1/chat/completions`, { model: 'sonnet', messages: [{ role: 'user', content }] });
      expect(r.status).toBe(400);
      if (client === 'anthropic') {
        expect(r.body.error.type).toBe('invalid_request_error');
        expect(r.body.error.message).toMatch(/^prompt is too long: /);
      } else {
        expect(r.body.error.code).toBe('context_length_exceeded');
      }
      // and with every window known and too small, the gateway says so without asking anyone
      expect((await g.admin('PATCH', `/admin/pools/normal/members/${members[1]}`, { contextWindow: 1000 })).status).toBe(200);
      const before = ups.reduce((n, u) => n + u.seen.length, 0);
      const r2 = await post(`${g.url}/v1/messages`, { model: 'sonnet', max_tokens: 8, messages: [{ role: 'user', content }] });
      expect(r2.status).toBe(400);
      expect(r2.body.error.message).toMatch(/^prompt is too long: \d+ tokens > 1000 maximum/);
      expect(ups.reduce((n, u) => n + u.seen.length, 0)).toBe(before);
    });
  }
});
