import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { Gateway } from './gateway.js';
import type { Format } from './protocol/formats.js';
import { errorBody } from './protocol/errors.js';
import { relay, routeHeaders, sendRefusal } from './relay/relay.js';
import { countTokens } from './relay/count-tokens.js';
import { listModels } from './relay/models.js';
import { registerAdmin } from './admin/routes.js';
import { FieldError } from './admin/validate.js';
import { jsonTooDeep } from './protocol/json-depth.js';
import { ClientBody, TOO_DEEP } from './protocol/client-body.js';
import { hostAllowed } from './access/host.js';
import { isRefusal } from './access/guard.js';
import type { AccessKey } from './access/keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The access key that authenticated this /v1/* request (null while access is open). */
    accessKey: AccessKey | null;
  }
}

/** Headers of every answer that is not a client endpoint's (the UI and the admin API). */
const UI_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** `application/json` or any `…+json` type, with or without parameters. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const semi = value.indexOf(';');
  const t = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  return t === 'application/json' || (t.startsWith('application/') && t.endsWith('+json'));
}

/** A body that has not arrived in full after REQUEST_TIMEOUT_SECONDS: 408, through the error handler. */
function requestTimedOut(req: FastifyRequest, reply: FastifyReply, ms: number): void {
  if (req.raw.complete || reply.sent || reply.raw.headersSent || reply.raw.destroyed) return;
  const err = new Error(`the request was not received in full within REQUEST_TIMEOUT_SECONDS (${ms / 1000} s)`) as FastifyError;
  err.statusCode = 408;
  (err as { code: string }).code = 'GW_REQUEST_TIMEOUT';
  if (req.raw.listenerCount('error') > 0) {
    // Fastify is reading the body: its reader takes the error, closes the connection and calls the error handler.
    req.raw.emit('error', err);
  } else {
    reply.header('connection', 'close');
    reply.send(err);
  }
}

/**
 * Lets the rest of a request body arrive and be dropped (Node reads it for a kept-alive
 * connection), but closes the connection once `maxBytes` more have come or `maxMs` has passed,
 * and once it has all come when the client had asked to close.
 */
function discardRest(raw: FastifyRequest['raw'], maxBytes: number, maxMs: number, close = false): void {
  const socket = raw.socket;
  if (!socket || socket.destroyed) return;
  const start = socket.bytesRead;
  const deadline = Date.now() + maxMs;
  const wantsClose = close || /\bclose\b/i.test(String(raw.headers.connection ?? ''));
  const ended = () => {
    stop();
    if (wantsClose) socket.end();
  };
  const stop = () => {
    clearInterval(watch);
    raw.off('end', ended);
    socket.off('close', stop);
  };
  const watch = setInterval(() => {
    if (raw.complete || socket.destroyed) return stop();
    if (socket.bytesRead - start > maxBytes || Date.now() > deadline) {
      stop();
      socket.destroy();
    }
  }, 250);
  watch.unref();
  raw.once('end', ended);
  socket.once('close', stop);
  raw.resume();
}

/** A request that arrived during a shutdown drain: 503 in the client's format (CONTRACT "Health and shutdown"). */
function refuseDraining(req: FastifyRequest, reply: FastifyReply): void {
  if (reply.sent || reply.raw.destroyed) return;
  const message = 'the gateway is restarting (shutting down): this request was not taken; retry it';
  const format = clientFormatFor(req);
  reply.code(503).header('connection', 'close').header('retry-after', '1');
  if (format) {
    routeHeaders(reply, null);
    reply.send(errorBody(format, 503, message, format === 'anthropic' ? 'overloaded_error' : undefined));
  } else {
    reply.headers(UI_HEADERS).send({ error: { message } });
  }
}

/**
 * The client format an answer on this path must use (null: not a client endpoint). Decided on the
 * route the router matched (it decodes the path: `/%761/messages` is `/v1/messages`), and on the
 * raw URL only when no route matched.
 */
export function clientFormatFor(req: FastifyRequest): Format | null {
  const url = req.routeOptions?.url ?? req.url;
  if (!url.startsWith('/v1/')) return null;
  if (url.startsWith('/v1/messages')) return 'anthropic';
  if (url.startsWith('/v1/chat/completions')) return 'openai';
  return req.headers['anthropic-version'] !== undefined || req.headers['x-api-key'] !== undefined ? 'anthropic' : 'openai';
}

/** Builds the HTTP app: client endpoints, admin API, error handling. Does not listen. */
export async function buildServer(gw: Gateway, logger: FastifyInstance['log']): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: gw.config.maxBodyBytes,
    // TRUST_PROXY: only these proxies' X-Forwarded-For names the client (req.ip), for throttling.
    trustProxy: gw.config.trustProxy.length > 0 ? gw.config.trustProxy : false,
    // Shutdown (start.ts `shutdown`): the drain answers new requests itself, in the client's format
    // (the onRequest hook below); by the time the app closes, only idle keep-alive sockets are left,
    // and those are closed at once. Open streams are never reset by the close.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 65_000,
    requestTimeout: 0,
  });

  // Bodies are parsed here with plain JSON.parse (one pass, no prototype-key scan: we never merge
  // client objects into ours); a bad body becomes a 400 in the caller's own format. A client
  // endpoint's body is kept as its bytes too (protocol/client-body.ts: read once for routing,
  // forwarded as it came when the formats match); the admin API's is a plain object.
  const badBody = (message: string, code: string): FastifyError => {
    const err = new Error(message) as FastifyError;
    err.statusCode = 400;
    (err as { code: string }).code = code;
    return err;
  };
  const parseJson = (req: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
    const raw = body as Buffer;
    if (raw.length === 0) return done(null, undefined);
    if (req.routeOptions.url?.startsWith('/v1/')) {
      const read = ClientBody.read(raw);
      // (CONTRACT "Bad input": the depth is checked on the text, before anything recursive sees it)
      if (typeof read === 'string') return done(badBody(read, read === TOO_DEEP ? 'GW_JSON_TOO_DEEP' : 'GW_BAD_JSON'), undefined);
      return done(null, read);
    }
    const text = raw.toString('utf8');
    if (jsonTooDeep(text)) return done(badBody(TOO_DEEP, 'GW_JSON_TOO_DEEP'), undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(badBody(`request body is not valid JSON: ${(e as Error).message}`, 'GW_BAD_JSON'), undefined);
    }
  };
  // application/json and every …+json type: one parser, one depth check.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJson);
  app.addContentTypeParser(/^application\/[\w.+-]+\+json\s*(;|$)/i, { parseAs: 'buffer' }, parseJson);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // REQUEST_TIMEOUT_SECONDS: a client that has not sent its whole request by then gets 408 (in its
  // format; the connection is then closed). Only the upload is timed: the timer stops when the
  // body has been read, so long answers (streams) are never cut by it.
  const requestTimeoutMs = gw.config.requestTimeoutMs;
  const lifecycle = gw.lifecycle;
  /** Arms the 408 for a request whose body is still arriving (run first by the onRequest hook below). */
  const timeUpload = (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.raw;
    if (raw.complete) return;
    const timer = setTimeout(() => requestTimedOut(req, reply, requestTimeoutMs), requestTimeoutMs);
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    reply.raw.once('close', clear);
  };
  // An answer sent before the body was read in full (413, or a refusal in a hook): closing the
  // connection now would reset it under a client still sending, which then never reads the answer
  // (EPIPE / ECONNRESET). So the connection stays open (even when Fastify or the client asked to
  // close it), and the rest of the body is read and dropped, up to a bound. Not for a 408.
  const discardBytes = Math.max(2 * gw.config.maxBodyBytes, 256 * 1024 * 1024);
  app.addHook('onSend', (req, reply, payload, done) => {
    if (!req.raw.complete && reply.statusCode !== 408) {
      reply.removeHeader('connection');
      reply.raw.shouldKeepAlive = true;
    } else if (lifecycle.draining) {
      // Shutting down: this connection takes no further request.
      reply.header('connection', 'close');
    }
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    // (while draining, the connection is closed once the rest of the body has been dropped)
    if (!req.raw.complete && reply.statusCode !== 408) discardRest(req.raw, discardBytes, requestTimeoutMs, lifecycle.draining);
    done();
  });

  app.decorateRequest('accessKey', null);
  const { allowedHosts, allowAnyHost } = gw.config;
  // One hook before anything is read: the upload's timer; the Host check (DNS rebinding) on every route; on /v1/* the
  // body type (a web page cannot post JSON without a CORS preflight, which nothing here grants)
  // and the access key; elsewhere the UI's protective headers.
  app.addHook('onRequest', (req, reply, done) => {
    timeUpload(req, reply);
    const host = req.headers.host;
    if (!hostAllowed(host, allowedHosts, allowAnyHost)) {
      const message = `Host "${String(host).slice(0, 100)}" is not allowed (a protection against DNS rebinding): the gateway answers to IP addresses, localhost${allowedHosts.length ? ` and ${allowedHosts.join(', ')}` : ''}; to use this name, add it to the ALLOWED_HOSTS setting (comma list, * for any) and restart`;
      const format = clientFormatFor(req);
      reply.code(403).header('x-should-retry', 'false');
      if (format) reply.send(errorBody(format, 403, message, format === 'anthropic' ? 'permission_error' : undefined));
      else reply.send({ error: { message } });
      return;
    }
    // Health probes (CONTRACT "Health and shutdown"): open to all once the Host passed, never
    // counted as requests in flight, answered while draining.
    const route = req.routeOptions.url;
    if (route === '/healthz' || route === '/readyz' || route === '/health') {
      reply.headers(UI_HEADERS);
      return done();
    }
    if (lifecycle.draining) {
      // Shutting down: no new request is taken, on a new connection or a kept-alive one. Answered
      // on the next turn, once the parser has read what already arrived: a request now complete
      // (no body, or a small one) gets `connection: close` and the socket is closed cleanly; one
      // still uploading has the rest of its body dropped first (onSend / onResponse above).
      setImmediate(refuseDraining, req, reply);
      return;
    }
    // A request taken in: a drain waits for it (until the grace is over).
    reply.raw.once('close', lifecycle.enter());
    // The matched route, never the raw URL: a percent-encoded or absolute-form target reaches the
    // same handler, so it must meet the same checks.
    if (route?.startsWith('/v1/')) {
      if (req.method === 'POST' && !isJsonContentType(req.headers['content-type'])) {
        const got = req.headers['content-type'] ? `"${String(req.headers['content-type']).slice(0, 100)}"` : 'none';
        sendRefusal(reply, clientFormatFor(req)!, { status: 415, message: `request body must be JSON: send Content-Type: application/json (got ${got})` }, 'invalid_request_error');
        return;
      }
      const who = gw.access.authenticate(req.headers, Date.now());
      if (isRefusal(who)) {
        sendRefusal(reply, clientFormatFor(req)!, who);
        return;
      }
      req.accessKey = who;
    } else {
      reply.headers(UI_HEADERS);
    }
    done();
  });

  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const status = err instanceof FieldError ? 400 : err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    let message = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body is larger than MAX_BODY_MB (${gw.config.maxBodyBytes / 1024 / 1024} MB)`;
    if (status >= 500) req.log.error({ err }, 'request failed');
    if (reply.sent || reply.raw.headersSent) return;
    const format = clientFormatFor(req);
    if (format) {
      if (!reply.hasHeader('x-gateway-provider')) routeHeaders(reply, null);
      return reply.code(status).send(errorBody(format, status, status >= 500 ? `internal error: ${message}` : message));
    }
    return reply.code(status).send({ error: err instanceof FieldError ? { message, field: err.field } : { message } });
  });

  // The admin UI (web/dist, built by `npm run build`): static files, and index.html for any other
  // page path so that deep links survive a reload.
  const uiRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'web', 'dist');
  const uiIndex = path.join(uiRoot, 'index.html');
  const hasUi = fs.existsSync(uiIndex);
  if (hasUi) {
    app.register(fastifyStatic, { root: uiRoot, prefix: '/', index: ['index.html'], wildcard: true, cacheControl: false, setHeaders: (res, file) => {
      res.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    } });
  }

  app.setNotFoundHandler((req, reply) => {
    if (hasUi && req.method === 'GET' && !req.url.startsWith('/v1/') && !req.url.startsWith('/admin/') && String(req.headers.accept ?? '').includes('text/html')) {
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(fs.createReadStream(uiIndex));
    }
    // An unknown route says so (never "model not found": the path is wrong, not the model), names
    // the method that the path does take when there is one, and what this part of the gateway serves.
    const path = req.url.split('?')[0]!;
    const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
    const others = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => m !== req.method && app.hasRoute({ url: path, method: m as 'GET' }));
    const hint = others.length > 0
      ? `: ${shown} takes ${others.join(' or ')}`
      : path.startsWith('/v1/')
        ? ': this gateway serves POST /v1/messages, POST /v1/messages/count_tokens, POST /v1/chat/completions and GET /v1/models'
        : path.startsWith('/admin/')
          ? ': see the admin API in the README'
          : '';
    const message = `unknown route ${req.method} ${shown}${hint}`;
    const format = clientFormatFor(req);
    if (format) {
      routeHeaders(reply, null);
      return reply.code(404).send(
        format === 'anthropic'
          ? { type: 'error', error: { type: 'not_found_error', message } }
          : { error: { message, type: 'invalid_request_error', param: null, code: 'unknown_route' } },
      );
    }
    return reply.code(404).send({ error: { message, code: 'unknown_route' } });
  });

  app.post('/v1/messages', (req, reply) => relay(gw, req, reply, 'anthropic'));
  app.post('/v1/chat/completions', (req, reply) => relay(gw, req, reply, 'openai'));
  app.post('/v1/messages/count_tokens', (req, reply) => countTokens(gw, req, reply));
  app.get('/v1/models', (req, reply) => {
    routeHeaders(reply, null);
    return reply.send(listModels(gw.config, req));
  });

  if (!hasUi) app.head('/', (_req, reply) => reply.code(200).send());
  app.get('/health', () => ({ status: 'ok' }));
  // Liveness: 200 while the process runs. Readiness: 200 only while serving.
  app.get('/healthz', (_req, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/readyz', (_req, reply) => {
    const phase = lifecycle.phase;
    return reply.code(phase === 'serving' ? 200 : 503).header('cache-control', 'no-store').send({ status: phase === 'serving' ? 'ready' : phase });
  });
  if (!hasUi) {
    app.get('/', (_req, reply) =>
      reply.type('text/html; charset=utf-8').send(
        '<!doctype html><meta charset="utf-8"><title>API Pool Gateway</title>' +
          '<h1>API Pool Gateway</h1><p>The gateway is running, but the admin UI is not built: run <code>npm run build</code>. ' +
          'Client endpoints: <code>/v1/messages</code>, <code>/v1/chat/completions</code>, <code>/v1/models</code>. Admin API: <code>/admin/*</code>.</p>',
      ),
    );
  }

  await registerAdmin(app, gw);
  return app;
}
