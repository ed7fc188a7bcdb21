import crypto from 'node:crypto';
import type { PoolName } from '../routing/pools.js';

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

// The admin body schema of access keys (parseAccessKeyInput) lives with the other admin schemas in admin/validate.ts.
