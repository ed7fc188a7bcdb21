/**
 * Stand-in provider for the benchmark, run in its own process (forked by bench/run.ts).
 *
 * Speaks both wire formats on one port:
 *   POST …/chat/completions  → OpenAI format
 *   POST …/messages          → Anthropic format
 * Every answer is a precomputed Buffer, so the stand-in does no JSON work per request: it only
 * reads the request body (to find `"stream":true`) and writes bytes back. Streams are
 * STREAM_EVENTS SSE events in total (start/stop frames included), one res.write() per event,
 * back to back, ending with `data: [DONE]` / `message_stop`.
 *
 * Env: STREAM_EVENTS (default 50), STREAM_SPACING=burst|tick (default burst: all writes in one
 * tick; `tick` yields to the event loop between events so each event tends to leave in its own
 * TCP segment), UPSTREAM_MODEL (model name echoed in answers).
 *
 * Slow streams (the open-streams lane): a streamed request whose body holds the text
 * `bench-slow-stream:<N>` (anywhere, e.g. in the user message, which every relay passes on) gets
 * its start frames and a first text delta at once (a relay may hold the answer back until the first
 * content), then one more delta a second for N seconds, then the closing frames (`message_stop` /
 * `[DONE]`): a well-formed stream that stays open N seconds.
 *
 * Reports {type:'ready', url} over IPC; answers {cmd:'cpu'} with process.cpuUsage().
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const EVENTS = Math.max(6, Number(process.env.STREAM_EVENTS ?? 50));
const SPACING = process.env.STREAM_SPACING === 'tick' ? 'tick' : 'burst';
const MODEL = process.env.UPSTREAM_MODEL ?? 'bench-model';

const b = (s: string) => Buffer.from(s, 'utf8');

// ---- precomputed answers -------------------------------------------------------------------

const ANTHROPIC_JSON = b(JSON.stringify({
  id: 'msg_bench01', type: 'message', role: 'assistant', model: MODEL,
  content: [{ type: 'text', text: 'Hello! How can I help you today?' }],
  stop_reason: 'end_turn', stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
}));

const OPENAI_JSON = b(JSON.stringify({
  id: 'chatcmpl-bench01', object: 'chat.completion', created: 1730000000, model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
}));

/** EVENTS Anthropic SSE frames: message_start, content_block_start, deltas, content_block_stop, message_delta, message_stop. */
function anthropicStream(): Buffer[] {
  const ev = (type: string, data: object) => b(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const deltas = EVENTS - 5;
  const out = [
    ev('message_start', { message: { id: 'msg_bench01', type: 'message', role: 'assistant', model: MODEL, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  ];
  for (let i = 0; i < deltas; i++) out.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `word${i} ` } }));
  out.push(ev('content_block_stop', { index: 0 }));
  out.push(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: deltas } }));
  out.push(ev('message_stop', {}));
  return out;
}

/** EVENTS OpenAI SSE frames: role chunk, content chunks, finish chunk, usage chunk, [DONE]. */
function openaiStream(): Buffer[] {
  const base = { id: 'chatcmpl-bench01', object: 'chat.completion.chunk', created: 1730000000, model: MODEL, system_fingerprint: null };
  const chunk = (choices: object[], extra: object = {}) => b(`data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`);
  const deltas = EVENTS - 4;
  const out = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])];
  for (let i = 0; i < deltas; i++) out.push(chunk([{ index: 0, delta: { content: `word${i} ` }, logprobs: null, finish_reason: null }]));
  out.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
  out.push(chunk([], { usage: { prompt_tokens: 12, completion_tokens: deltas, total_tokens: 12 + deltas } }));
  out.push(b('data: [DONE]\n\n'));
  return out;
}

const ANTHROPIC_SSE = anthropicStream();
const OPENAI_SSE = openaiStream();
const JSON_HEADERS = (len: number) => ({ 'content-type': 'application/json', 'content-length': String(len), 'request-id': 'req_bench' });
const ANTHROPIC_JSON_HEADERS = JSON_HEADERS(ANTHROPIC_JSON.length);
const OPENAI_JSON_HEADERS = JSON_HEADERS(OPENAI_JSON.length);
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': 'req_bench' };
const STREAM_MARK = b('"stream":true');
const SLOW_MARK = b('bench-slow-stream:');
const NOT_FOUND = b('{"error":{"message":"not found"}}');

// ---- server --------------------------------------------------------------------------------

function writeStream(res: http.ServerResponse, frames: Buffer[]): void {
  res.writeHead(200, SSE_HEADERS);
  if (SPACING === 'burst') {
    for (const f of frames) res.write(f);
    res.end();
    return;
  }
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    if (i === frames.length) return void res.end();
    res.write(frames[i++]);
    setImmediate(next);
  };
  next();
}

/** The N of a `bench-slow-stream:<N>` marker in the body, or 0. */
function slowSeconds(body: Buffer): number {
  const i = body.indexOf(SLOW_MARK);
  if (i === -1) return 0;
  let n = 0;
  for (let j = i + SLOW_MARK.length; j < body.length && body[j] >= 48 && body[j] <= 57; j++) n = n * 10 + (body[j] - 48);
  return Math.min(n, 3600);
}

/** A stream that stays open: start frames and a delta now, one delta a second for `seconds`, then the end frames. */
function writeSlowStream(res: http.ServerResponse, openai: boolean, seconds: number): void {
  const frames = openai ? OPENAI_SSE : ANTHROPIC_SSE;
  // the precomputed stream's head (before the first delta), one delta, and its tail (after the last)
  const head = openai ? frames.slice(0, 1) : frames.slice(0, 2);
  const delta = frames[head.length];
  const tail = frames.slice(-3); // block stop, message_delta, message_stop | finish, usage, [DONE]
  res.writeHead(200, SSE_HEADERS);
  for (const f of head) res.write(f);
  res.write(delta);
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return void clearInterval(timer);
    res.write(delta);
    if (++sent < seconds) return;
    clearInterval(timer);
    for (const f of tail) res.write(f);
    res.end();
  }, 1000);
  res.on('close', () => clearInterval(timer));
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '';
    const openai = url.includes('/chat/completions');
    if (req.method !== 'POST' || (!openai && !url.includes('/messages'))) {
      res.writeHead(404, JSON_HEADERS(NOT_FOUND.length));
      res.end(NOT_FOUND);
      return;
    }
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    // JSON.stringify writes `"stream":true` without spaces; the bench bodies do too.
    const stream = body.lastIndexOf(STREAM_MARK) !== -1;
    if (stream) {
      const slow = slowSeconds(body);
      if (slow > 0) return writeSlowStream(res, openai, slow);
      return writeStream(res, openai ? OPENAI_SSE : ANTHROPIC_SSE);
    }
    res.writeHead(200, openai ? OPENAI_JSON_HEADERS : ANTHROPIC_JSON_HEADERS);
    res.end(openai ? OPENAI_JSON : ANTHROPIC_JSON);
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

server.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.send?.({ type: 'ready', url, events: EVENTS, spacing: SPACING });
});

process.on('message', (m: { cmd?: string; id?: number }) => {
  if (m?.cmd === 'cpu') process.send?.({ type: 'cpu', id: m.id, usage: process.cpuUsage() });
});
const quit = () => process.exit(0);
process.on('disconnect', quit); // parent gone (even if it was SIGKILLed)
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
