import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { Gateway } from './gateway.js';
import type { Format } from './protocol/formats.js';
import { errorBody } from './protocol/errors.js';
import { relay, routeHeaders } from './relay/relay.js';
import { countTokens } from './relay/count-tokens.js';
import { listModels } from './relay/models.js';
import { registerAdmin } from './admin/routes.js';
import { FieldError } from './admin/validate.js';
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

/** The client format an answer on this path must use (null: not a client endpoint). */
export function clientFormatFor(req: FastifyRequest): Format | null {
  const url = req.url;
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
    return503OnClosing: true,
    forceCloseConnections: true,
    keepAliveTimeout: 65_000,
    requestTimeout: 0,
  });

  // Bodies are parsed here with plain JSON.parse (one pass, no prototype-key scan: we never merge
  // client objects into ours); a bad body becomes a 400 in the caller's own format.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const err = new Error(`request body is not valid JSON: ${(e as Error).message}`) as FastifyError;
      err.statusCode = 400;
      (err as { code: string }).code = 'GW_BAD_JSON';
      done(err, undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.decorateRequest('accessKey', null);
  const { allowedHosts, allowAnyHost } = gw.config;
  // One hook before anything is read: the Host check (DNS rebinding) on every route; on /v1/* the
  // body type (a web page cannot post JSON without a CORS preflight, which nothing here grants)
  // and the access key; elsewhere the UI's protective headers.
  app.addHook('onRequest', (req, reply, done) => {
    const host = req.headers.host;
    if (!hostAllowed(host, allowedHosts, allowAnyHost)) {
      const message = `Host "${String(host).slice(0, 100)}" is not allowed: the gateway answers to IP addresses and localhost; add this name to ALLOWED_HOSTS (comma list, * for any) to use it`;
      const format = clientFormatFor(req);
      reply.code(403);
      if (format) reply.send(errorBody(format, 403, message, format === 'anthropic' ? 'permission_error' : undefined));
      else reply.send({ error: { message } });
      return;
    }
    if (req.url.startsWith('/v1/')) {
      if (req.method === 'POST' && !isJsonContentType(req.headers['content-type'])) {
        const format = clientFormatFor(req)!;
        routeHeaders(reply, null);
        reply.code(415).send(errorBody(format, 415, `request body must be JSON: send Content-Type: application/json (got ${req.headers['content-type'] ? `"${String(req.headers['content-type']).slice(0, 100)}"` : 'none'})`, 'invalid_request_error'));
        return;
      }
      const who = gw.access.authenticate(req.headers, Date.now());
      if (isRefusal(who)) {
        const format = clientFormatFor(req)!;
        routeHeaders(reply, null);
        reply.code(who.status).send(errorBody(format, who.status, who.message));
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
    const message = `no route ${req.method} ${req.url.split('?')[0]}`;
    const format = clientFormatFor(req);
    if (format) {
      routeHeaders(reply, null);
      return reply.code(404).send(errorBody(format, 404, message, format === 'anthropic' ? 'not_found_error' : undefined));
    }
    return reply.code(404).send({ error: { message } });
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
