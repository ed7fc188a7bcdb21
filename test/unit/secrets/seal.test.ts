import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEY_FILE, SEALED_PREFIX, Sealer, UnsealError, isSealed, openSealer, readOrCreateKeyFile } from '../../../src/secrets/seal.js';

const SECRET = 'a-secret-key-of-at-least-32-characters!!';
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'apg-seal-'));

describe('Sealer: AES-256-GCM, self-describing', () => {
  const s = new Sealer(SECRET);

  it.each([
    ['a typical key', 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789'],
    ['a short key', 'abc12'],
    ['non-ASCII', 'ключ-🔑-鍵'],
    ['a long key', 'k'.repeat(8192)],
  ])('%s: sealed as enc:v1:<iv>:<tag+ct>, without the plain text, and opens again', (_name, plain) => {
    const sealed = s.seal(plain);
    expect(sealed).toMatch(/^enc:v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    expect(sealed.includes(plain)).toBe(false);
    expect(s.open(sealed)).toEqual({ value: plain, stale: false });
  });

  it('a fresh IV each time: the same key seals to different strings', () => {
    expect(s.seal('sk-same')).not.toBe(s.seal('sk-same'));
  });

  it('the empty key stays empty; plain (legacy) values open as they are', () => {
    expect(s.seal('')).toBe('');
    expect(s.open('')).toEqual({ value: '', stale: false });
    expect(s.open('sk-plain-old-row')).toEqual({ value: 'sk-plain-old-row', stale: false });
    expect(isSealed('sk-plain-old-row')).toBe(false);
    expect(isSealed(s.seal('x'))).toBe(true);
  });

  it.each([
    ['another secret', () => new Sealer('another-secret-key-of-32-characters-xx').seal('sk-x')],
    ['a changed ciphertext', () => { const v = s.seal('sk-x'); return v.slice(0, -2) + (v.endsWith('AA') ? 'BB' : 'AA'); }],
    ['a cut value', () => `${SEALED_PREFIX}abc`],
    ['garbage after the prefix', () => `${SEALED_PREFIX}!!!:???`],
  ])('%s: UnsealError, never garbage', (_name, make) => {
    expect(() => s.open(make())).toThrow(UnsealError);
  });

  it('an older secret still opens (stale), the current one seals', () => {
    const old = new Sealer('the-old-key-file-secret-0123456789abcdef');
    const both = new Sealer(SECRET, ['the-old-key-file-secret-0123456789abcdef']);
    expect(both.open(old.seal('sk-old'))).toEqual({ value: 'sk-old', stale: true });
    expect(s.open(both.seal('sk-new')).value).toBe('sk-new');
  });
});

describe('openSealer: where the secret comes from', () => {
  it('SQLite without SECRET_KEY: DATA_DIR/secret.key is made once, mode 0600, and reused', async () => {
    const dir = tmp();
    const a = await openSealer({ secretKey: null, databaseUrl: null, dataDir: dir });
    const file = path.join(dir, KEY_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8').trim();
    expect(Buffer.from(text, 'base64url')).toHaveLength(32);
    const b = await openSealer({ secretKey: null, databaseUrl: null, dataDir: dir });
    expect(b.open(a.seal('sk-reuse')).value).toBe('sk-reuse');
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(text);
  });

  it('two starts at once agree on one key file', async () => {
    const file = path.join(tmp(), KEY_FILE);
    const keys = await Promise.all(Array.from({ length: 8 }, () => readOrCreateKeyFile(file)));
    expect(new Set(keys).size).toBe(1);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(keys[0]);
  });

  it('SECRET_KEY wins and makes no key file; an existing key file still opens old values', async () => {
    const dir = tmp();
    expect(fs.existsSync(path.join(dir, KEY_FILE))).toBe(false);
    const withSecret = await openSealer({ secretKey: SECRET, databaseUrl: null, dataDir: dir });
    expect(fs.existsSync(path.join(dir, KEY_FILE))).toBe(false);
    expect(new Sealer(SECRET).open(withSecret.seal('sk-a')).value).toBe('sk-a');
    const fileSealer = await openSealer({ secretKey: null, databaseUrl: null, dataDir: dir });
    const old = fileSealer.seal('sk-from-file-days');
    const later = await openSealer({ secretKey: SECRET, databaseUrl: null, dataDir: dir });
    expect(later.open(old)).toEqual({ value: 'sk-from-file-days', stale: true });
  });

  it('DATABASE_URL without SECRET_KEY: refuses, saying SECRET_KEY is required and shared by every replica', async () => {
    const dir = tmp();
    await expect(openSealer({ secretKey: null, databaseUrl: 'postgres://x@127.0.0.1/db', dataDir: dir }))
      .rejects.toThrow(/SECRET_KEY is required with DATABASE_URL.*every replica must be given the same SECRET_KEY/);
    expect(fs.existsSync(path.join(dir, KEY_FILE))).toBe(false);
  });

  it('a damaged key file is reported, not silently replaced', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, KEY_FILE), 'short\n', { mode: 0o600 });
    await expect(openSealer({ secretKey: null, databaseUrl: null, dataDir: dir })).rejects.toThrow(/secret\.key is empty or damaged/);
  }, 10_000);
});
