import crypto from 'node:crypto';
import type { Repo } from '../store/repo.js';

const SESSION_MS = 7 * 24 * 3600 * 1000;

function sha256(s: string): Buffer {
  return crypto.createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Admin authentication: the password itself, or a session token from login. Comparisons take
 * the same time whatever the guess (both sides hashed to 32 bytes, then timingSafeEqual).
 */
export class AdminAuth {
  private readonly passwordHash: Buffer;
  private readonly sessions = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(password: string, private readonly repo: Repo) {
    this.passwordHash = sha256(password);
  }

  checkPassword(candidate: string): boolean {
    return crypto.timingSafeEqual(sha256(candidate), this.passwordHash);
  }

  /** Too many wrong passwords from one address in a minute: refuse for the rest of that minute. */
  throttled(ip: string, now = Date.now()): boolean {
    const f = this.failures.get(ip);
    if (!f || now - f.since > 60_000) return false;
    return f.count >= 10;
  }

  noteFailure(ip: string, now = Date.now()): void {
    const f = this.failures.get(ip);
    if (!f || now - f.since > 60_000) this.failures.set(ip, { count: 1, since: now });
    else f.count++;
    if (this.failures.size > 10_000) this.failures.clear();
  }

  /**
   * Sessions belong to the password they were opened with: a changed ADMIN_PASSWORD ends them all.
   * (The fingerprint is a salted hash kept in the settings table.)
   */
  async bindToPassword(password: string): Promise<void> {
    const fingerprint = crypto.createHash('sha256').update(`apg-admin-sessions:${password}`).digest('hex');
    if ((await this.repo.getSetting('adminSessionsFingerprint')) !== fingerprint) {
      await this.repo.deleteAllSessions();
      await this.repo.putSetting('adminSessionsFingerprint', fingerprint);
    }
  }

  async logout(token: string): Promise<void> {
    const hash = sha256(token).toString('hex');
    this.sessions.delete(hash);
    await this.repo.deleteSession(hash);
  }

  async login(): Promise<{ token: string; expiresAt: number }> {
    const token = crypto.randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + SESSION_MS;
    const hash = sha256(token).toString('hex');
    await this.repo.createSession(hash, expiresAt);
    this.sessions.set(hash, expiresAt);
    return { token, expiresAt };
  }

  /** Is this bearer token the password or a live session? */
  async verify(token: string): Promise<boolean> {
    if (token === '') return false;
    if (this.checkPassword(token)) return true;
    const hash = sha256(token).toString('hex');
    const now = Date.now();
    let expiresAt = this.sessions.get(hash);
    if (expiresAt === undefined) {
      // A token minted by another replica, or before a restart.
      const stored = await this.repo.findSession(hash);
      if (stored === null) return false;
      expiresAt = stored;
      this.sessions.set(hash, stored);
    }
    if (expiresAt <= now) {
      this.sessions.delete(hash);
      return false;
    }
    return true;
  }
}

/** Masks an API key: never more than its last four characters, and none of a short key. */
export function maskKey(key: string): string {
  if (!key) return '';
  if (key.length < 12) return '****';
  return `****${key.slice(-4)}`;
}
