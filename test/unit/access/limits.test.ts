import { describe, expect, it } from 'vitest';
import { LocalLimits } from '../../../src/access/limits.js';
import { throttleKey } from '../../../src/admin/auth.js';
import { hostAllowed, hostName, isLoopbackAddress, isLoopbackHost } from '../../../src/access/host.js';
import { presentedSecrets } from '../../../src/access/keys.js';
import { parseAccessKeyInput } from '../../../src/admin/validate.js';

describe('LocalLimits: requests per rolling minute', () => {
  it('allows rpm requests in any 60 s, then tells how long until the oldest leaves', () => {
    const l = new LocalLimits();
    const t0 = 1_000_000_000;
    expect(l.takeRpm(1, 3, t0)).toEqual({ ok: true });
    expect(l.takeRpm(1, 3, t0 + 10_000)).toEqual({ ok: true });
    expect(l.takeRpm(1, 3, t0 + 20_000)).toEqual({ ok: true });
    expect(l.takeRpm(1, 3, t0 + 30_000)).toEqual({ ok: false, retryAfter: 30 });
    expect(l.takeRpm(1, 3, t0 + 59_000)).toEqual({ ok: false, retryAfter: 1 });
    // the first request's second has left the minute
    expect(l.takeRpm(1, 3, t0 + 60_000)).toEqual({ ok: true });
    expect(l.takeRpm(1, 3, t0 + 60_500)).toEqual({ ok: false, retryAfter: 10 });
  });

  it('keys count apart; a refused request is not counted; a changed rpm keeps the count', () => {
    const l = new LocalLimits();
    const t = 5_000_000;
    for (let i = 0; i < 5; i++) expect(l.takeRpm(1, 5, t + i).ok).toBe(true);
    expect(l.takeRpm(1, 5, t + 10).ok).toBe(false);
    expect(l.takeRpm(1, 5, t + 20).ok).toBe(false);
    expect(l.takeRpm(2, 5, t + 30).ok).toBe(true);
    expect(l.takeRpm(1, 6, t + 40).ok).toBe(true); // raised: one more fits
    expect(l.takeRpm(1, 6, t + 50).ok).toBe(false);
    expect(l.takeRpm(1, 2, t + 60).ok).toBe(false); // lowered: still counted
  });

  it('wraps around the 60 buckets over a long time', () => {
    const l = new LocalLimits();
    let refused = 0;
    for (let s = 0; s < 600; s++) if (!l.takeRpm(1, 30, 7_000_000 + s * 1000).ok) refused++;
    // one request a second against 30 a minute: 30 of every 60 are refused
    expect(refused).toBe(300);
  });

  it('concurrency slots are taken and given back', () => {
    const l = new LocalLimits();
    expect(l.acquire(1, 2)).toBe(true);
    expect(l.acquire(1, 2)).toBe(true);
    expect(l.acquire(1, 2)).toBe(false);
    l.release(1);
    expect(l.inFlight(1)).toBe(1);
    expect(l.acquire(1, 2)).toBe(true);
    l.release(1);
    l.release(1);
    l.release(1);
    expect(l.inFlight(1)).toBe(0);
  });
});

describe('throttleKey', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::2', '2001:db8:0:0::/64'],
    ['2001:0DB8:0000:0000:ffff::', '2001:db8:0:0::/64'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
  ])('%s → %s', (ip, key) => expect(throttleKey(ip)).toBe(key));
});

describe('Host check', () => {
  it.each([
    ['localhost:8899', [], true],
    ['LOCALHOST', [], true],
    ['app.localhost', [], true],
    ['127.0.0.1:8899', [], true],
    ['10.1.2.3', [], true],
    ['[::1]:8899', [], true],
    [undefined, [], true],
    ['evil.example', [], false],
    ['evil.example.', [], false],
    ['localhost.evil.example', [], false],
    ['gw.example.com:443', ['gw.example.com'], true],
    ['gw.example.com.', ['gw.example.com'], true],
    ['api.corp.test', ['*.corp.test'], true],
    ['corp.test', ['*.corp.test'], false],
    ['xcorp.test', ['*.corp.test'], false],
  ] as const)('%s with %j → %s', (host, allowed, ok) => {
    expect(hostAllowed(host, allowed, false)).toBe(ok);
  });
  it('* lets everything in; names are read without port and brackets', () => {
    expect(hostAllowed('anything', [], true)).toBe(true);
    expect(hostName('[::1]:80')).toBe('::1');
    expect(hostName('Example.COM:80')).toBe('example.com');
  });
  it('loopback addresses and listen hosts', () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('127.9.9.9')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
    expect(isLoopbackAddress('::ffff:10.0.0.1')).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('::')).toBe(false);
    expect(isLoopbackHost('localhost')).toBe(true);
  });
});

describe('access keys: presented secrets and the admin schema', () => {
  it('reads x-api-key first, then a bearer token, once each', () => {
    expect(presentedSecrets({ 'x-api-key': ' a ', authorization: 'Bearer b' })).toEqual(['a', 'b']);
    expect(presentedSecrets({ authorization: 'bearer   c' })).toEqual(['c']);
    expect(presentedSecrets({ 'x-api-key': 'a', authorization: 'Bearer a' })).toEqual(['a']);
    expect(presentedSecrets({ authorization: 'Basic xyz' })).toEqual([]);
    expect(presentedSecrets({})).toEqual([]);
  });
  it('defaults and read-only fields', () => {
    expect(parseAccessKeyInput({ name: ' ci ' }, false)).toEqual({ name: 'ci', pools: ['tool', 'normal', 'advanced'] });
    expect(parseAccessKeyInput({ pools: ['advanced', 'tool'] }, true)).toEqual({ pools: ['tool', 'advanced'] });
    expect(parseAccessKeyInput({ id: 3, keyMasked: '****abcd', enabled: false }, true)).toEqual({ enabled: false });
    expect(() => parseAccessKeyInput({ name: 'x', expiresAt: new Date(Date.now() - 1000).toISOString() }, false)).toThrow(/past/);
  });
});

describe('AccessGuard reloads', () => {
  it('a read that started before a later one never overwrites it (a deleted key stays deleted)', async () => {
    const { AccessGuard } = await import('../../../src/access/guard.js');
    const pino = (await import('pino')).default;
    const g = new AccessGuard({} as never, () => null, pino({ level: 'silent' }));
    const key = { id: 1, name: 'k', hash: 'h', last4: 'abcd', pools: ['normal' as const], rpm: null, maxConcurrent: null, expiresAt: null, enabled: true, createdAt: 0, lastUsedAt: null };
    const early = g.beginRead(); // e.g. the poll, started before the delete
    const late = g.beginRead(); // the reload after the delete
    g.load([], late);
    g.load([key], early); // the poll's older answer arrives last
    expect(g.list()).toEqual([]);
    expect(g.open).toBe(true);
    await g.close();
  });
});
