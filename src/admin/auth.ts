import crypto from 'node:crypto';
import { promisify } from 'node:util';
import type { Repo } from '../store/repo.js';

const SESSION_MS = 7 * 24 * 3600 * 1000;
/** How long a session or the stored password is trusted from memory before the database is asked again
 *  (so a logout or a password change on another replica takes effect here within this time). */
const RECHECK_MS = 2_000;
const FAILURE_WINDOW_MS = 60_000;
const MAX_FAILURES = 10;
const MAX_TRACKED = 10_000;
export const MIN_PASSWORD_LENGTH = 12;

const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1 };

function sha256(s: string): Buffer {
  return crypto.createHash('sha256').update(s, 'utf8').digest();
}

async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** At most two scrypt runs at once: they take libuv's thread pool, which DNS and files share. */
let scryptRunning = 0;
const scryptQueue: (() => void)[] = [];

async function verifyHash(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  if (scryptRunning >= 2) await new Promise<void>((resolve) => scryptQueue.push(resolve));
  scryptRunning++;
  try {
    const got = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  } finally {
    scryptRunning--;
    scryptQueue.shift()?.();
  }
}

/**
 * Whose failures count together: an IPv4 address, or an IPv6 /64 (one host can use a whole /64,
 * so counting single IPv6 addresses would limit nothing).
 */
export function throttleKey(ip: string): string {
  if (!ip.includes(':') || ip.startsWith('::ffff:')) return ip.replace(/^::ffff:/, '');
  const [head, tail] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

/** Where the admin password comes from: ADMIN_PASSWORD, one set through the admin API, or the default. */
export type PasswordMode = 'env' | 'stored' | 'default';

/** The outcome of presenting a bearer token to an admin route. */
export type Check =
  | { ok: true; mustChange: boolean }
  | { ok: false; status: 401 | 429; message: string; retryAfter?: number };

/**
 * Admin authentication (CONTRACT "Admin safety"): the password itself, or a session token from
 * login. Comparisons take the same time whatever the guess. Only wrong credentials that were
 * presented count toward the per-address throttle, and a live session is never refused. The
 * default password only opens a full session to the gateway's own machine; anyone else gets a
 * session that may do nothing but set a new password.
 */
export class AdminAuth {
  private readonly envHash: Buffer;
  private stored: { hash: string | null; at: number } | null = null;
  private readonly sessions = new Map<string, { expiresAt: number; mustChange: boolean; at: number }>();
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly env: { password: string; fromEnv: boolean },
    private readonly repo: Repo,
  ) {
    this.envHash = sha256(env.password);
  }

  private async storedHash(fresh = false, now = Date.now()): Promise<string | null> {
    if (this.env.fromEnv) return null;
    if (fresh || !this.stored || now - this.stored.at > RECHECK_MS) {
      this.stored = { hash: await this.repo.getSetting('adminPasswordHash'), at: now };
    }
    return this.stored.hash;
  }

  /** `fresh`: ask the database, not the copy of the last 2 s (before acting on it). */
  async mode(fresh = false): Promise<PasswordMode> {
    if (this.env.fromEnv) return 'env';
    return (await this.storedHash(fresh)) ? 'stored' : 'default';
  }

  async checkPassword(candidate: string): Promise<boolean> {
    const stored = await this.storedHash();
    if (stored) return verifyHash(candidate, stored);
    return crypto.timingSafeEqual(sha256(candidate), this.envHash);
  }

  /** Too many wrong credentials from one address in a minute: refuse password checks for the rest of it. */
  throttled(ip: string, now = Date.now()): boolean {
    const f = this.failures.get(throttleKey(ip));
    if (!f || now - f.since > FAILURE_WINDOW_MS) return false;
    return f.count >= MAX_FAILURES;
  }

  /** Whole seconds until a throttled address may try again (for `Retry-After`; at least 1). */
  retryAfterSeconds(ip: string, now = Date.now()): number {
    const f = this.failures.get(throttleKey(ip));
    if (!f) return 1;
    return Math.max(1, Math.ceil((f.since + FAILURE_WINDOW_MS - now) / 1000));
  }

  noteFailure(ip: string, now = Date.now()): void {
    const key = throttleKey(ip);
    const f = this.failures.get(key);
    if (!f || now - f.since > FAILURE_WINDOW_MS) {
      this.failures.delete(key);
      this.failures.set(key, { count: 1, since: now }); // re-inserted: the map stays in order of `since`
    } else f.count++;
    // Bounded: drop windows that are over (the oldest come first), then, if still too many, the oldest.
    if (this.failures.size > MAX_TRACKED) {
      for (const [k, v] of this.failures) {
        if (this.failures.size <= MAX_TRACKED && now - v.since <= FAILURE_WINDOW_MS) break;
        this.failures.delete(k);
      }
    }
  }

  private fingerprint(storedHash: string | null): string {
    const identity = this.env.fromEnv ? `env:${this.env.password}` : storedHash ?? 'default';
    return crypto.createHash('sha256').update(`apg-admin-sessions:${identity}`).digest('hex');
  }

  /** Sessions belong to the password they were opened with: a changed password ends them all. */
  async bindToPassword(): Promise<void> {
    const fingerprint = this.fingerprint(await this.storedHash());
    if ((await this.repo.getSetting('adminSessionsFingerprint')) !== fingerprint) {
      await this.repo.endAllSessions();
      await this.repo.putSetting('adminSessionsFingerprint', fingerprint);
    }
  }

  async login(mustChange: boolean): Promise<{ token: string; expiresAt: number }> {
    const token = crypto.randomBytes(32).toString('base64url');
    const now = Date.now();
    const expiresAt = now + SESSION_MS;
    const hash = sha256(token).toString('hex');
    await this.repo.createSession(hash, expiresAt, mustChange);
    this.sessions.set(hash, { expiresAt, mustChange, at: now });
    return { token, expiresAt };
  }

  async logout(token: string): Promise<void> {
    const hash = sha256(token).toString('hex');
    this.sessions.delete(hash);
    await this.repo.endSession(hash);
  }

  /** Sets a new admin password (kept hashed); every session ends, and a fresh full one is returned. */
  async setPassword(password: string): Promise<{ token: string; expiresAt: number }> {
    const hash = await hashPassword(password);
    await this.repo.putSetting('adminPasswordHash', hash);
    this.stored = { hash, at: Date.now() };
    await this.repo.endAllSessions();
    this.sessions.clear();
    await this.repo.putSetting('adminSessionsFingerprint', this.fingerprint(hash));
    return this.login(false);
  }

  /**
   * A bearer token presented to an admin route by `ip` (`local`: from this machine, no proxy).
   * Order matters: a live session passes even while the address is throttled; an expired one is
   * not a guess; only then is the throttle consulted and the password compared.
   */
  async check(token: string, ip: string, local: boolean, now = Date.now()): Promise<Check> {
    if (token === '') return { ok: false, status: 401, message: 'admin token required: Authorization: Bearer <token>' };
    const hash = sha256(token).toString('hex');
    let s = this.sessions.get(hash);
    if (!s || now - s.at > RECHECK_MS) {
      const stored = await this.repo.findSession(hash);
      if (stored) this.sessions.set(hash, (s = { ...stored, at: now }));
      else {
        this.sessions.delete(hash);
        s = undefined;
      }
    }
    if (s) {
      if (s.expiresAt > now) return { ok: true, mustChange: s.mustChange };
      return { ok: false, status: 401, message: 'the admin session expired: log in again' };
    }
    if (this.throttled(ip, now)) return { ok: false, status: 429, message: 'too many wrong passwords or tokens from this address; wait a minute', retryAfter: this.retryAfterSeconds(ip, now) };
    if (await this.checkPassword(token)) {
      return { ok: true, mustChange: !local && (await this.mode()) === 'default' };
    }
    this.noteFailure(ip, now);
    return { ok: false, status: 401, message: 'invalid or expired admin token' };
  }
}

/** Masks an API key: never more than its last four characters, and none of a short key. */
export function maskKey(key: string): string {
  if (!key) return '';
  if (key.length < 12) return '****';
  return `****${key.slice(-4)}`;
}
