import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A stand-in provider for tests and the benchmark: speaks one format, answers by script. */
export type Behaviour =
  | { kind: 'ok'; text?: string }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'error-first-event'; errorType?: string }
  | { kind: 'silent-stream' }
  | { kind: 'break-after'; events: number }
  | { kind: 'slow-stream'; events: number; intervalMs: number }
  | { kind: 'custom'; handle: (req: http.IncomingMessage, body: any, res: http.ServerResponse) => void };

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** The request body's bytes as they arrived. */
  raw: Buffer;
}

export interface Upstream {
  url: string;
  format: 'openai' | 'anthropic';
  requests: Recorded[];
  /** Behaviours used by the next requests, in order; when empty, `fallback` answers. */
  queue: Behaviour[];
  /** By the key a request carries (x-api-key or Bearer): this behaviour answers it, before `queue` (a rate-limited or revoked key). */
  byKey: Record<string, Behaviour>;
  fallback: Behaviour;
  models: string[];
  /** Sockets currently open to this upstream. */
  openSockets(): number;
  /** Resolves when a socket closes. */
  nextSocketClose(): Promise<void>;
  close(): Promise<void>;
}

/** The key a request to a stand-in carries: Anthropic `x-api-key`, OpenAI `Authorization: Bearer`. */
export function requestKey(format: 'openai' | 'anthropic', headers: http.IncomingHttpHeaders): string | undefined {
  if (format === 'anthropic') return headers['x-api-key'] as string | undefined;
  const auth = headers.authorization;
  return auth === undefined ? undefined : String(auth).replace(/^Bearer /, '');
}

/** `key`: the key (or any of the keys) the stand-in accepts; any other gets 401. */
export async function startUpstream(opts: { format: 'openai' | 'anthropic'; models?: string[]; name?: string; events?: number; key?: string | string[]; port?: number }): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const closeWaiters: (() => void)[] = [];
  const up: Upstream = {
    url: '',
    format: opts.format,
    requests: [],
    queue: [],
    byKey: {},
    fallback: { kind: 'ok' },
    models: opts.models ?? ['model-a', 'model-b'],
    openSockets: () => sockets.size,
    nextSocketClose: () => new Promise((r) => closeWaiters.push(r)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const name = opts.name ?? 'stand-in';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const raw = bytes.toString('utf8');
      let body: any = undefined;
      try { body = raw ? JSON.parse(raw) : undefined; } catch { body = raw; }
      const path = (req.url ?? '').split('?')[0];
      up.requests.push({ method: req.method ?? '', path, headers: req.headers, body, raw: bytes });
      const got = requestKey(opts.format, req.headers);
      if (opts.key !== undefined) {
        const accepted = Array.isArray(opts.key) ? opts.key : [opts.key];
        if (got === undefined || !accepted.includes(got)) return json(res, 401, errorJson(opts.format, 'authentication_error', 'invalid api key'));
      }
      if (req.method === 'GET' && path.endsWith('/models')) {
        return json(res, 200, opts.format === 'anthropic'
          ? { data: up.models.map((id) => ({ type: 'model', id, display_name: id })), has_more: false }
          : { object: 'list', data: up.models.map((id) => ({ id, object: 'model', owned_by: name })) });
      }
      const b = (got !== undefined ? up.byKey[got] : undefined) ?? up.queue.shift() ?? up.fallback;
      handle(up, name, b, req, body, res, opts.events ?? 3);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      closeWaiters.splice(0).forEach((r) => r());
    });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return up;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function errorJson(format: 'openai' | 'anthropic', type: string, message: string) {
  return format === 'anthropic' ? { type: 'error', error: { type, message } } : { error: { message, type, code: null } };
}

/** One Anthropic SSE frame: `event: <type>` and its data, `type` included. */
export const anthropicFrame = (type: string, data: object = {}): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** The upstream's SSE events for a text answer made of `n` pieces. */
export function streamEvents(format: 'openai' | 'anthropic', model: string, n: number, text = 'piece'): string[] {
  if (format === 'anthropic') {
    const ev = anthropicFrame;
    const out = [
      ev('message_start', { message: { id: 'msg_standin', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ];
    for (let i = 0; i < n; i++) out.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `${text}${i} ` } }));
    out.push(ev('content_block_stop', { index: 0 }));
    out.push(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: n } }));
    out.push(ev('message_stop', {}));
    return out;
  }
  const base = { id: 'chatcmpl-standin', object: 'chat.completion.chunk', created: 1730000000, model };
  const out = [`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`];
  for (let i = 0; i < n; i++) out.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: `${text}${i} ` }, finish_reason: null }] })}\n\n`);
  out.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
  out.push(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: n, total_tokens: 10 + n } })}\n\n`);
  out.push('data: [DONE]\n\n');
  return out;
}

export function completion(format: 'openai' | 'anthropic', model: string, text: string) {
  if (format === 'anthropic') {
    return { id: 'msg_standin', type: 'message', role: 'assistant', model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 2 } };
  }
  return { id: 'chatcmpl-standin', object: 'chat.completion', created: 1730000000, model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } };
}

function handle(up: Upstream, name: string, b: Behaviour, req: http.IncomingMessage, body: any, res: http.ServerResponse, events: number) {
  const model = body?.model ?? 'unknown';
  const stream = body?.stream === true;
  const sse = () => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  switch (b.kind) {
    case 'ok': {
      const text = b.text ?? `hello from ${name} ${model}`;
      if (!stream) return json(res, 200, completion(up.format, model, text));
      sse();
      res.end(streamEvents(up.format, model, events, text).join(''));
      return;
    }
    case 'status':
      return json(res, b.status, b.body ?? errorJson(up.format, 'api_error', `status ${b.status} from ${name}`), b.headers);
    case 'reset':
      req.socket.destroy();
      return;
    case 'hang':
      return; // never answers
    case 'error-first-event': {
      sse();
      const type = b.errorType ?? 'overloaded_error';
      res.end(up.format === 'anthropic'
        ? `event: error\ndata: ${JSON.stringify(errorJson('anthropic', type, 'Overloaded'))}\n\n`
        : `data: ${JSON.stringify(errorJson('openai', type, 'Overloaded'))}\n\n`);
      return;
    }
    case 'silent-stream':
      sse();
      res.flushHeaders();
      return; // headers, then nothing
    case 'break-after': {
      sse();
      const evs = streamEvents(up.format, model, 10);
      res.write(evs.slice(0, b.events).join(''));
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    case 'slow-stream': {
      sse();
      const evs = streamEvents(up.format, model, b.events);
      let i = 0;
      const tick = () => {
        if (res.destroyed) return;
        if (i >= evs.length) return void res.end();
        res.write(evs[i++]);
        setTimeout(tick, b.intervalMs);
      };
      tick();
      return;
    }
    case 'custom':
      return b.handle(req, body, res);
  }
}
