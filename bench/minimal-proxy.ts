/**
 * The floor for a Node relay: read the body, JSON.parse it, set the model, undici.request() to the
 * stand-in over a keep-alive Agent, pipe the answer back. No routing, no checks, no SSE parsing,
 * no timeouts, no logging.
 * Run in its own process by bench/run.ts (UPSTREAM_URL, PROXY_MODEL in env; reports its URL over IPC;
 * answers the measurement probes of relay-probes.ts: cpu, mem, eld-start / eld-stop).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { answerProbe } from './relay-probes.js';

const upstream = process.env.UPSTREAM_URL!;
const model = process.env.PROXY_MODEL ?? 'bench-model';
const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: 0, bodyTimeout: 0, pipelining: 1 });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => void relay(Buffer.concat(chunks), req.url!, res));
});

async function relay(raw: Buffer, path: string, res: http.ServerResponse): Promise<void> {
  try {
    const body = JSON.parse(raw.toString('utf8'));
    body.model = model;
    const up = await request(upstream + path, {
      dispatcher: agent, method: 'POST', body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-standin', 'anthropic-version': '2023-06-01' },
    });
    res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
    // .pipe(), not stream.pipeline(): pipeline costs ~100 µs more per request (an AbortController and
    // a DOMException per call in Node 20) — the floor should be the cheap idiom.
    res.on('close', () => up.body.destroy());
    up.body.on('error', (e) => res.destroy(e)).pipe(res);
  } catch (err) {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: String(err) } }));
  }
}
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));

// bench plumbing: CPU / memory / event-loop probes over IPC, exit with the parent
process.on('message', (m: { cmd?: string; id?: number }) => void answerProbe(m));
for (const ev of ['disconnect', 'SIGTERM', 'SIGINT'] as const) process.on(ev, () => process.exit(0));
