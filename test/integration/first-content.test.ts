import { afterEach, describe, expect, it } from 'vitest';
import { anthropicFrame, startUpstream, streamEvents, type Behaviour, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, getPools, memberOf, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * CONTRACT "When the client sees the first byte": a stream is sent on only from its first content;
 * what comes before (message_start, pings, empty blocks, role-only chunks) is held back, so that an
 * error, silence or the end of the stream before any content fails over to the next member. A 200
 * answer with no content at all is the member's failure, streamed or not.
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

/** A gateway whose normal pool has "bad" (tried first: lowest id) and "good", both of `provider` format. */
async function pool(provider: Fmt, env: Record<string, string> = {}) {
  gw = await startTestGateway(env);
  const bad = await startUpstream({ format: provider, name: 'bad' });
  const good = await startUpstream({ format: provider, name: 'good' });
  ups.push(bad, good);
  const b = await addProvider(gw, { name: 'bad', baseUrl: bad.url, format: provider }, 'normal', ['m-bad']);
  await addProvider(gw, { name: 'good', baseUrl: good.url, format: provider }, 'normal', ['m-good']);
  return { g: gw, bad, good, badMember: b.memberIds[0]! };
}

const sse = (frames: string[], then: 'end' | 'hang' = 'end'): Behaviour => ({
  kind: 'custom',
  handle: (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(frames.join(''));
    if (then === 'end') res.end();
  },
});
const json = (body: object): Behaviour => ({
  kind: 'custom',
  handle: (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  },
});

const A = anthropicFrame;
const O = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const messageStart = A('message_start', { message: { id: 'msg_x', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } });

/** Stream openings that carry no content, then a way of failing, per provider format. */
const FAILING_STREAMS: Record<Fmt, [string, Behaviour][]> = {
  anthropic: [
    ['message_start and a ping, then overloaded_error', sse([messageStart, A('ping', {}), A('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })])],
    ['an empty text block, then the end (no content at all)', sse([messageStart, A('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), A('content_block_stop', { index: 0 }), A('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 0 } }), A('message_stop', {})])],
    ['message_start, then silence past the first-byte timeout', sse([messageStart], 'hang')],
  ],
  openai: [
    ['a role-only chunk, then an error', sse([O({ role: 'assistant', content: '' }), `data: ${JSON.stringify({ error: { message: 'upstream overloaded', type: 'server_error', code: null } })}\n\n`])],
    ['a role-only chunk, a finish, [DONE] (no content at all)', sse([O({ role: 'assistant', content: '' }), O({}, 'stop'), 'data: [DONE]\n\n'])],
    ['a role-only chunk, then silence past the first-byte timeout', sse([O({ role: 'assistant', content: '' })], 'hang')],
  ],
};

const ask = (g: TestGateway, client: Fmt, stream: boolean) => client === 'anthropic'
  ? post(`${g.url}/v1/messages`, anthropicBody('sonnet', { stream }))
  : post(`${g.url}/v1/chat/completions`, openaiBody('sonnet', { stream }));

describe('a stream is held back until its first content', () => {
  for (const provider of ['anthropic', 'openai'] as const) {
    for (const client of ['anthropic', 'openai'] as const) {
      for (const [name, behaviour] of FAILING_STREAMS[provider]) {
        it(`${provider} provider, ${client} client: ${name} → the next member answers, the client sees one clean stream`, async () => {
          const { g, bad, badMember } = await pool(provider, { UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS: '0.5' });
          bad.fallback = behaviour;
          const r = await ask(g, client, true);
          expect(r.status).toBe(200);
          expect(r.headers.get('x-gateway-provider')).toBe('good');
          expect(bad.requests).toHaveLength(1);
          if (client === 'anthropic') {
            expect(r.text.match(/event: message_start/g)).toHaveLength(1);
            expect(r.text).not.toContain('event: error');
            expect(r.text).toContain('event: message_stop');
            expect(r.text).toContain('m-good');
          } else {
            expect(r.text).not.toContain('"error"');
            expect(r.text).toContain('m-good');
            expect(r.text.trim().endsWith('data: [DONE]')).toBe(true);
          }
          expect(memberOf(await getPools(g), badMember).state).toBe('cooling');
        });
      }
    }
  }

  it('a tool call starting is content: the stream is committed at its start', async () => {
    const { g, bad } = await pool('anthropic');
    const frames = [messageStart, A('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'Read', input: {} } })];
    bad.fallback = sse(frames, 'hang');
    const res = await fetch(`${g.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody('sonnet', { stream: true })) });
    expect(res.headers.get('x-gateway-provider')).toBe('bad');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('tool_use')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text.indexOf('message_start')).toBeLessThan(text.indexOf('content_block_start'));
    await reader.cancel();
  });

  it('the held events reach the client once content comes, in order, with nothing lost', async () => {
    const { g, bad } = await pool('anthropic');
    bad.fallback = sse([A('ping', {}), ...streamEvents('anthropic', 'm-bad', 3)]);
    const r = await ask(g, 'anthropic', true);
    expect(r.headers.get('x-gateway-provider')).toBe('bad');
    const types = [...r.text.matchAll(/^event: (\w+)/gm)].map((m) => m[1]).filter((t) => t !== 'ping');
    expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  });
});

describe('a 200 answer without content is the member\'s failure', () => {
  const EMPTY: Record<Fmt, object> = {
    anthropic: { id: 'msg_e', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 0 } },
    openai: { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 0, total_tokens: 5 } },
  };
  for (const provider of ['anthropic', 'openai'] as const) {
    for (const client of ['anthropic', 'openai'] as const) {
      for (const stream of [false, true]) {
        it(`${provider} provider, ${client} client${stream ? ', streamed (answered in one piece)' : ''}: an empty answer fails over`, async () => {
          const { g, bad, badMember } = await pool(provider);
          bad.fallback = json(EMPTY[provider]);
          const r = await ask(g, client, stream);
          expect(r.status).toBe(200);
          expect(r.headers.get('x-gateway-provider')).toBe('good');
          expect(r.text).toContain('m-good');
          const m = memberOf(await getPools(g), badMember);
          expect(m.state).toBe('cooling');
          expect(m.lastError).toMatch(/without any content/);
        });
      }
    }
  }

  it('an answer that is only a tool call, or only thinking, has content', async () => {
    const { g, bad } = await pool('anthropic');
    bad.fallback = json({ ...EMPTY.anthropic, content: [{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: '/a' } }], stop_reason: 'tool_use' });
    const r = await ask(g, 'anthropic', false);
    expect(r.headers.get('x-gateway-provider')).toBe('bad');
    expect(r.body.content[0].type).toBe('tool_use');
  });
});
