import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { ADMIN, addProvider, anthropicBody, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** One HTTP request with full control of the headers (fetch cannot set Host). */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let body: any = text;
        try { body = JSON.parse(text); } catch { /* text */ }
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const REMOTE = { 'x-forwarded-for': '203.0.113.5' };
const json = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const started: TestGateway[] = [];
const ups: Upstream[] = [];
async function gateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const g = await startTestGateway(env);
  started.push(g);
  return g;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  await Promise.all(ups.map((u) => u.close()));
});

describe('the default password', () => {
  it('opens the admin fully from this machine, and only leads to a password change from elsewhere', async () => {
    const gw = await gateway({ ADMIN_PASSWORD: '' });
    // local (loopback, no proxy headers): a full session
    const local = await raw(`${gw.url}/admin/login`, json({ password: 'admin123' }));
    expect(local.status).toBe(200);
    expect(local.body.mustChangePassword).toBe(false);
    expect((await gw.admin('GET', '/admin/providers', undefined, local.body.token)).status).toBe(200);
    expect((await gw.admin('GET', '/admin/providers', undefined, 'admin123')).status).toBe(200);
    const status = await gw.admin('GET', '/admin/status', undefined, local.body.token);
    expect(status.body.security).toMatchObject({ defaultPassword: true, passwordFromEnv: false, openAccess: true });

    // from another machine (here: through a proxy header): only a password change
    const remote = await raw(`${gw.url}/admin/login`, json({ password: 'admin123' }, REMOTE));
    expect(remote.status).toBe(200);
    expect(remote.body.mustChangePassword).toBe(true);
    const token = remote.body.token;
    for (const p of ['/admin/providers', '/admin/status', '/admin/keys', '/metrics']) {
      const r = await raw(gw.url + p, { headers: { authorization: `Bearer ${token}`, ...REMOTE } });
      expect(r.status, p).toBe(403);
      expect(r.body.error.code).toBe('password_change_required');
    }
    // the password itself as a bearer token from elsewhere: the same
    const asBearer = await raw(`${gw.url}/admin/providers`, { headers: { authorization: 'Bearer admin123', ...REMOTE } });
    expect(asBearer.status).toBe(403);
    const withPost = await raw(`${gw.url}/admin/providers`, json({ name: 'x', baseUrl: 'http://127.0.0.1:1', format: 'openai' }, { authorization: `Bearer ${token}`, ...REMOTE }));
    expect(withPost.status).toBe(403);
    expect((await gw.admin('GET', '/admin/providers', undefined, local.body.token)).body.providers).toEqual([]);

    const short = await raw(`${gw.url}/admin/password`, json({ password: 'short' }, { authorization: `Bearer ${token}`, ...REMOTE }));
    expect(short.status).toBe(400);
    expect(short.body.error.field).toBe('password');
    expect((await raw(`${gw.url}/admin/password`, json({ password: 'admin123' }, { authorization: `Bearer ${token}`, ...REMOTE }))).status).toBe(400);
    const changed = await raw(`${gw.url}/admin/password`, json({ password: 'a much better password' }, { authorization: `Bearer ${token}`, ...REMOTE }));
    expect(changed.status).toBe(200);
    expect(typeof changed.body.token).toBe('string');
    // the new session works from anywhere; the old sessions and the default password are gone
    expect((await raw(`${gw.url}/admin/providers`, { headers: { authorization: `Bearer ${changed.body.token}`, ...REMOTE } })).status).toBe(200);
    expect((await gw.admin('GET', '/admin/providers', undefined, local.body.token)).status).toBe(401);
    expect((await raw(`${gw.url}/admin/login`, json({ password: 'admin123' }))).status).toBe(401);
    const again = await raw(`${gw.url}/admin/login`, json({ password: 'a much better password' }, REMOTE));
    expect(again.status).toBe(200);
    expect(again.body.mustChangePassword).toBe(false);
    // the stored password is a salted hash, and survives a restart
    const stored = await gw.gateway.repo.getSetting('adminPasswordHash');
    expect(stored).toMatch(/^scrypt\$/);
    expect(stored).not.toContain('better');
    const dir = gw.dataDir;
    await gw.close();
    started.splice(started.indexOf(gw), 1);
    const gw2 = await startTestGateway({ ADMIN_PASSWORD: '' }, dir);
    started.push(gw2);
    expect((await raw(`${gw2.url}/admin/login`, json({ password: 'a much better password' }))).status).toBe(200);
    expect((await raw(`${gw2.url}/admin/login`, json({ password: 'admin123' }))).status).toBe(401);
  });

  it('any proxy header makes a loopback client remote; a must-change session cannot overwrite a password set meanwhile', async () => {
    const gw = await gateway({ ADMIN_PASSWORD: '' });
    const proxied: Record<string, string>[] = [{ via: '1.1 nginx' }, { 'x-real-ip': '198.51.100.7' }, { forwarded: 'for=198.51.100.7' }, { 'cf-connecting-ip': '198.51.100.7' }];
    for (const h of proxied) {
      const r = await raw(`${gw.url}/admin/login`, json({ password: 'admin123' }, h));
      expect(r.body.mustChangePassword, JSON.stringify(h)).toBe(true);
    }
    const first = (await raw(`${gw.url}/admin/login`, json({ password: 'admin123' }, REMOTE))).body.token;
    const second = (await raw(`${gw.url}/admin/login`, json({ password: 'admin123' }, REMOTE))).body.token;
    const set = await raw(`${gw.url}/admin/password`, json({ password: 'the owner chose this one' }, { authorization: `Bearer ${first}`, ...REMOTE }));
    expect(set.status).toBe(200);
    // the second must-change session ended with the change; even a replica that still knew it could not overwrite
    const again = await raw(`${gw.url}/admin/password`, json({ password: 'an intruder wants this' }, { authorization: `Bearer ${second}`, ...REMOTE }));
    expect(again.status).toBe(401);
    expect((await raw(`${gw.url}/admin/login`, json({ password: 'the owner chose this one' }))).status).toBe(200);
  });

  it('ADMIN_PASSWORD in the environment wins: the API cannot change it', async () => {
    const gw = await gateway();
    const r = await gw.admin('POST', '/admin/password', { password: 'another long password' });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain('ADMIN_PASSWORD');
    expect((await gw.admin('GET', '/admin/providers')).status).toBe(200);
  });
});

describe('throttling', () => {
  it('requests without credentials are not guesses, and a valid session is never refused', async () => {
    const gw = await gateway();
    const login = await gw.admin('POST', '/admin/login', { password: ADMIN }, null);
    const session = login.body.token;
    for (let i = 0; i < 30; i++) expect((await gw.admin('GET', '/admin/providers', undefined, null)).status).toBe(401);
    expect((await gw.admin('GET', '/admin/providers')).status).toBe(200);
    // a UI still polling with a session that ended is not guessing either
    const ended = (await gw.admin('POST', '/admin/login', { password: ADMIN }, null)).body.token;
    expect((await gw.admin('POST', '/admin/logout', undefined, ended)).status).toBe(204);
    for (let i = 0; i < 15; i++) {
      const r = await gw.admin('GET', '/admin/status', undefined, ended);
      expect(r.status).toBe(401);
      expect(r.body.error.message).toContain('expired');
    }
    expect((await gw.admin('POST', '/admin/login', { password: ADMIN }, null)).status).toBe(200);
    // now real guesses: the guesser is throttled, the session is not
    const codes: number[] = [];
    for (let i = 0; i < 15; i++) codes.push((await gw.admin('GET', '/admin/providers', undefined, `guess-${i}`)).status);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes.at(-1)).toBe(429);
    expect((await gw.admin('GET', '/admin/providers', undefined, session)).status).toBe(200);
    expect((await gw.admin('POST', '/admin/login', { password: ADMIN }, null)).status).toBe(429);
    // an empty login body is not a guess either
    expect((await gw.admin('POST', '/admin/login', {}, null)).status).toBe(429);
  });

  it('TRUST_PROXY: the forwarded client address is what counts behind a proxy; without it the header is ignored', async () => {
    const trusted = await gateway({ TRUST_PROXY: '127.0.0.1,::1' });
    for (let i = 0; i < 11; i++) await raw(`${trusted.url}/admin/login`, json({ password: 'wrong' }, { 'x-forwarded-for': '198.51.100.1' }));
    expect((await raw(`${trusted.url}/admin/login`, json({ password: ADMIN }, { 'x-forwarded-for': '198.51.100.1' }))).status).toBe(429);
    expect((await raw(`${trusted.url}/admin/login`, json({ password: ADMIN }, { 'x-forwarded-for': '198.51.100.2' }))).status).toBe(200);

    // one IPv6 host has a whole /64: its addresses count together
    for (let i = 1; i <= 11; i++) await raw(`${trusted.url}/admin/login`, json({ password: 'wrong' }, { 'x-forwarded-for': `2001:db8:1:2::${i.toString(16)}` }));
    expect((await raw(`${trusted.url}/admin/login`, json({ password: ADMIN }, { 'x-forwarded-for': '2001:db8:1:2:ffff::1' }))).status).toBe(429);
    expect((await raw(`${trusted.url}/admin/login`, json({ password: ADMIN }, { 'x-forwarded-for': '2001:db8:1:3::1' }))).status).toBe(200);

    const untrusted = await gateway();
    for (let i = 0; i < 11; i++) await raw(`${untrusted.url}/admin/login`, json({ password: 'wrong' }, { 'x-forwarded-for': '198.51.100.1' }));
    // a client cannot dodge the throttle by inventing a forwarded address
    expect((await raw(`${untrusted.url}/admin/login`, json({ password: ADMIN }, { 'x-forwarded-for': '198.51.100.9' }))).status).toBe(429);
  });
});

describe('a web page cannot drive the gateway', () => {
  it('a foreign Host gets 403 naming ALLOWED_HOSTS on every route; IPs and localhost pass', async () => {
    const gw = await gateway();
    const port = gw.port;
    for (const p of ['/admin/providers', '/', '/v1/models']) {
      const r = await raw(`${gw.url}${p}`, { headers: { host: `evil.example:${port}`, authorization: `Bearer ${ADMIN}` } });
      expect(r.status, p).toBe(403);
      expect(JSON.stringify(r.body)).toContain('ALLOWED_HOSTS');
    }
    const m = await raw(`${gw.url}/v1/messages`, json(anthropicBody(), { host: 'evil.example' }));
    expect(m.status).toBe(403);
    expect(m.body).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    const o = await raw(`${gw.url}/v1/chat/completions`, json(openaiBody(), { host: 'evil.example' }));
    expect(o.status).toBe(403);
    expect(o.body.error.message).toContain('ALLOWED_HOSTS');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'app.localhost', '192.168.1.20:8899']) {
      expect((await raw(`${gw.url}/admin/providers`, { headers: { host, authorization: `Bearer ${ADMIN}` } })).status, host).toBe(200);
    }
  });

  it('ALLOWED_HOSTS lets named hosts and wildcard domains in', async () => {
    const gw = await gateway({ ALLOWED_HOSTS: 'gw.example.com, *.corp.test' });
    const get = (host: string) => raw(`${gw.url}/admin/providers`, { headers: { host, authorization: `Bearer ${ADMIN}` } });
    expect((await get('gw.example.com')).status).toBe(200);
    expect((await get('GW.EXAMPLE.COM:443')).status).toBe(200);
    expect((await get('api.corp.test')).status).toBe(200);
    expect((await get('example.com')).status).toBe(403);
    expect((await get('corp.test.evil.example')).status).toBe(403);
    const any = await gateway({ ALLOWED_HOSTS: '*' });
    expect((await raw(`${any.url}/admin/providers`, { headers: { host: 'anything.example', authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
  });

  it('non-JSON posts get 415 in the client format and reach no provider; no preflight is granted', async () => {
    const gw = await gateway();
    const up = await startUpstream({ format: 'anthropic' });
    ups.push(up);
    await addProvider(gw, { name: 'A', baseUrl: up.url, format: 'anthropic' }, 'normal', ['m']);
    const body = JSON.stringify(anthropicBody());
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await raw(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': type }, body });
      expect(r.status, type).toBe(415);
      expect(r.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      const o = await raw(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(openaiBody()) });
      expect(o.status).toBe(415);
      expect(o.body.error.message).toContain('application/json');
    }
    expect((await raw(`${gw.url}/v1/messages`, { method: 'POST', body })).status).toBe(415); // no type at all
    expect(up.requests.length).toBe(0);
    expect((await raw(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body })).status).toBe(200);
    expect((await raw(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/vnd.api+json' }, body })).status).toBe(200);
    for (const p of ['/v1/messages', '/v1/chat/completions', '/admin/providers', '/admin/login']) {
      const pre = await raw(gw.url + p, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
      expect(pre.headers['access-control-allow-origin'], p).toBeUndefined();
      expect(pre.headers['access-control-allow-headers'], p).toBeUndefined();
    }
    const viaPost = await post(`${gw.url}/v1/messages`, anthropicBody(), { origin: 'https://evil.example' });
    expect(viaPost.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('the UI and admin answers carry CSP, frame and nosniff headers; the built page has no inline script', async () => {
    const gw = await gateway();
    for (const p of ['/', '/providers', '/admin/status']) {
      const r = await raw(gw.url + p, { headers: { accept: 'text/html', authorization: `Bearer ${ADMIN}` } });
      expect(r.headers['content-security-policy'], p).toContain("script-src 'self'");
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    // (npm install builds web/dist through the prepare script)
    const html = fs.readFileSync(path.resolve('web/dist/index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const m of scripts) {
      expect(m[1]).toContain('src=');
      expect(m[2].trim()).toBe('');
    }
  });
});
