import crypto from 'node:crypto';
import { POOL_NAMES, isPoolName, type PoolName } from '../routing/pools.js';
import { FieldError } from '../admin/validate.js';

/** An access key as the gateway keeps it (the secret itself is never kept, only its hash). */
export interface AccessKey {
  id: number;
  name: string;
  /** SHA-256 (hex) of the secret. */
  hash: string;
  last4: string;
  pools: PoolName[];
  rpm: number | null;
  maxConcurrent: number | null;
  expiresAt: number | null;
  enabled: boolean;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AccessKeyInput {
  name?: string;
  pools?: PoolName[];
  rpm?: number | null;
  maxConcurrent?: number | null;
  expiresAt?: number | null;
  enabled?: boolean;
}

export const KEY_PREFIX = 'sk-apg-';

/** A new secret: the prefix and 192 random bits (base64url). */
export function newSecret(): string {
  return KEY_PREFIX + crypto.randomBytes(24).toString('base64url');
}

export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The secret a client presented: `x-api-key`, else `Authorization: Bearer`. Both are returned when both are there. */
export function presentedSecrets(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x.trim() !== '') out.push(x.trim());
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^bearer\s+(.+)$/i.exec(auth.trim());
    if (m && m[1].trim() !== '' && m[1].trim() !== out[0]) out.push(m[1].trim());
  }
  return out;
}

/** The answer's shape (CONTRACT AccessKey): never the secret, never its hash. */
export function accessKeyJson(k: AccessKey) {
  return {
    id: k.id,
    name: k.name,
    keyMasked: `****${k.last4}`,
    pools: k.pools,
    rpm: k.rpm,
    maxConcurrent: k.maxConcurrent,
    expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
    enabled: k.enabled,
    createdAt: new Date(k.createdAt).toISOString(),
    lastUsedAt: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString(),
  };
}

const FIELDS = new Set(['name', 'pools', 'rpm', 'maxConcurrent', 'expiresAt', 'enabled']);
/** Fields of the answer that a client may send back unchanged; they are ignored. */
const READ_ONLY = new Set(['id', 'keyMasked', 'createdAt', 'lastUsedAt', 'usage']);

/** Validates a POST (partial = false) or PATCH (partial = true) body of /admin/keys. */
export function parseAccessKeyInput(body: unknown, partial: boolean, now = Date.now()): AccessKeyInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new FieldError('body', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (k === 'key') throw new FieldError(k, 'the secret cannot be set or changed: create a new key');
    if (!FIELDS.has(k) && !READ_ONLY.has(k)) throw new FieldError(k, `unknown field; known: ${[...FIELDS].join(', ')}`);
  }
  const out: AccessKeyInput = {};
  if (b.name !== undefined || !partial) {
    if (typeof b.name !== 'string' || b.name.trim() === '') throw new FieldError('name', 'must be a non-empty string');
    if (b.name.trim().length > 100) throw new FieldError('name', 'must be at most 100 characters');
    out.name = b.name.trim();
  }
  if (b.pools !== undefined) {
    if (!Array.isArray(b.pools) || b.pools.length === 0 || !b.pools.every((p) => typeof p === 'string' && isPoolName(p))) {
      throw new FieldError('pools', `must be a non-empty list of ${POOL_NAMES.join(', ')}`);
    }
    out.pools = POOL_NAMES.filter((p) => (b.pools as string[]).includes(p));
  } else if (!partial) {
    out.pools = [...POOL_NAMES];
  }
  for (const field of ['rpm', 'maxConcurrent'] as const) {
    const v = b[field];
    if (v === undefined) continue;
    if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000)) {
      throw new FieldError(field, 'must be an integer from 1 to 1000000, or null for no limit');
    }
    out[field] = v as number | null;
  }
  if (b.expiresAt !== undefined) {
    if (b.expiresAt === null) out.expiresAt = null;
    else {
      const t = typeof b.expiresAt === 'string' ? Date.parse(b.expiresAt) : NaN;
      if (Number.isNaN(t)) throw new FieldError('expiresAt', 'must be an ISO 8601 date-time, or null for never');
      if (!partial && t <= now) throw new FieldError('expiresAt', 'is in the past');
      out.expiresAt = t;
    }
  }
  if (b.enabled !== undefined) {
    if (typeof b.enabled !== 'boolean') throw new FieldError('enabled', 'must be true or false');
    out.enabled = b.enabled;
  }
  return out;
}
