/**
 * Provider keys sealed at rest (CONTRACT "Provider keys"): AES-256-GCM under a key derived from
 * SECRET_KEY (HKDF-SHA256), stored as the self-describing string
 * `enc:v1:<base64url iv>:<base64url tag+ciphertext>`. Without SECRET_KEY (SQLite only) the secret is
 * a random file, DATA_DIR/secret.key (mode 0600), made once and reused.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SEALED_PREFIX = 'enc:v1:';
/** The key file's name inside DATA_DIR. */
export const KEY_FILE = 'secret.key';
const SALT = 'api-pool-gateway';
const INFO = 'provider keys v1';
/** Binds a sealed value to its use: an API key sealed here opens nowhere else. */
const AAD = Buffer.from('providers.api_key');

/** A stored value that does not open with the current secret (SECRET_KEY changed, or damaged). */
export class UnsealError extends Error {}

/** 32 bytes for AES-256 from a secret string of any length. */
export function deriveKey(secret: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', Buffer.from(secret, 'utf8'), SALT, INFO, 32));
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(SEALED_PREFIX);
}

export class Sealer {
  private readonly keys: Buffer[];

  /**
   * `secret` seals and opens; each of `older` only opens (a value opened with one of them is
   * `stale` and should be sealed again, see Repo.sealStoredKeys).
   */
  constructor(secret: string, older: string[] = []) {
    this.keys = [secret, ...older].map(deriveKey);
  }

  /** The sealed form of `plain`; the empty string (no key) stays empty. */
  seal(plain: string): string {
    if (plain === '') return '';
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.keys[0]!, iv);
    c.setAAD(AAD);
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `${SEALED_PREFIX}${iv.toString('base64url')}:${Buffer.concat([c.getAuthTag(), ct]).toString('base64url')}`;
  }

  /**
   * The plain value of a stored one. Values written in plain text by older versions come back
   * as they are. Throws UnsealError when no known secret opens it.
   */
  open(stored: string): { value: string; stale: boolean } {
    if (!isSealed(stored)) return { value: stored, stale: false };
    const rest = stored.slice(SEALED_PREFIX.length);
    const colon = rest.indexOf(':');
    const iv = Buffer.from(colon === -1 ? '' : rest.slice(0, colon), 'base64url');
    const body = Buffer.from(colon === -1 ? '' : rest.slice(colon + 1), 'base64url');
    if (iv.length !== 12 || body.length < 16) throw new UnsealError('sealed value is damaged');
    const tag = body.subarray(0, 16);
    const ct = body.subarray(16);
    for (let i = 0; i < this.keys.length; i++) {
      try {
        const d = crypto.createDecipheriv('aes-256-gcm', this.keys[i]!, iv);
        d.setAAD(AAD);
        d.setAuthTag(tag);
        const value = Buffer.concat([d.update(ct), d.final()]).toString('utf8');
        return { value, stale: i > 0 };
      } catch {
        // wrong key: try the next one
      }
    }
    throw new UnsealError('sealed with another secret');
  }
}

/**
 * The sealer for this configuration. SECRET_KEY wins; without it, SQLite uses DATA_DIR/secret.key
 * (made here on first start) and PostgreSQL refuses to start. A key file left from before
 * SECRET_KEY was set still opens old values, so they can be sealed again under SECRET_KEY.
 */
export async function openSealer(opts: { secretKey: string | null; databaseUrl: string | null; dataDir: string }): Promise<Sealer> {
  const file = path.join(opts.dataDir, KEY_FILE);
  if (opts.secretKey) {
    const older = !opts.databaseUrl && fs.existsSync(file) ? [await readKeyFile(file)] : [];
    return new Sealer(opts.secretKey, older.filter((k) => k !== opts.secretKey));
  }
  if (opts.databaseUrl) {
    throw new Error(
      'SECRET_KEY is required with DATABASE_URL: it encrypts the provider keys stored in the shared database, '
      + 'and every replica must be given the same SECRET_KEY (any string of 32 or more characters, e.g. from `openssl rand -base64 33`)',
    );
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  return new Sealer(await readOrCreateKeyFile(file));
}

/**
 * DATA_DIR/secret.key: 32 random bytes as base64url text (usable as a SECRET_KEY too). Created
 * with O_EXCL ('wx') so that two processes starting together agree on one file.
 */
export async function readOrCreateKeyFile(file: string): Promise<string> {
  const secret = crypto.randomBytes(32).toString('base64url');
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (fd === null) return readKeyFile(file);
  try {
    fs.writeSync(fd, `${secret}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return secret;
}

/** Reads the key file; a file being written by a process starting at the same time is waited for (≤ 2 s). */
async function readKeyFile(file: string): Promise<string> {
  for (let i = 0; ; i++) {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (text.length >= 32) return text;
    if (i >= 40) throw new Error(`${file} is empty or damaged: restore it from a backup (provider keys were sealed with it), or delete it and enter the keys again`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
