/**
 * Provider key pools (CONTRACT "Provider keys"): which key an attempt takes, which failures cool
 * only the key, and when a provider's keys hold its members back. Pure: every function takes `now`.
 */
import type { CooldownKind } from './cooldown.js';

/** What the choice needs to know of a key: when its cooldown ends (ms; null: not cooling). */
export interface KeyCooling {
  cooldownUntil: number | null;
}

export function keyCooling(k: KeyCooling, now: number): boolean {
  return k.cooldownUntil !== null && k.cooldownUntil > now;
}

/**
 * Round-robin over the keys that are not cooling, starting at `cursor` (the place after the key
 * taken last). Returns the key's index and the cursor for the next choice, or null when there is
 * no key or every key is cooling.
 */
export function pickKey(keys: readonly KeyCooling[], cursor: number, now: number): { index: number; cursor: number } | null {
  const n = keys.length;
  if (n === 0) return null;
  const start = ((cursor % n) + n) % n;
  for (let i = 0; i < n; i++) {
    const at = (start + i) % n;
    if (!keyCooling(keys[at]!, now)) return { index: at, cursor: (at + 1) % n };
  }
  return null;
}

/** The cooling key that comes back first (the one to use when every key is cooling); -1 when there is none. */
export function soonestKey(keys: readonly KeyCooling[]): number {
  let best = -1;
  for (let i = 0; i < keys.length; i++) {
    const u = keys[i]!.cooldownUntil ?? 0;
    if (best === -1 || u < (keys[best]!.cooldownUntil ?? 0)) best = i;
  }
  return best;
}

/**
 * While every key of a provider is cooling, its members are cooling too: until the first key comes
 * back (the end returned). Null when some key is ready, or the provider has no key.
 */
export function keysCoolingUntil(keys: readonly KeyCooling[], now: number): number | null {
  if (keys.length === 0) return null;
  let soonest = Infinity;
  for (const k of keys) {
    if (!keyCooling(k, now)) return null;
    if (k.cooldownUntil! < soonest) soonest = k.cooldownUntil!;
  }
  return soonest;
}

/**
 * Does this failure cool only the key that got it? With several keys a refused key (401 / 403) or
 * a rate limit (429) is that key's; with one key it is the member's (429) or the provider's
 * (401 / 403), as always.
 */
export function coolsKeyAlone(kind: CooldownKind, keyCount: number): boolean {
  return keyCount > 1 && (kind === 'auth' || kind === 'rate-limit');
}

/** An admin's key list as stored: each trimmed, empty lines and repeated keys left out (the first kept). */
export function normalizeKeyList(keys: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of keys) {
    const k = raw.trim();
    if (k !== '' && !out.includes(k)) out.push(k);
  }
  return out;
}

/** Why a key list cannot be stored, or null (checked after `normalizeKeyList`). */
export function keyListProblem(keys: readonly string[]): string | null {
  if (keys.length > MAX_KEYS) return `at most ${MAX_KEYS} keys per provider`;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k.length > 8192) return `key ${i + 1} is too long`;
    if (/[\r\n]/.test(k)) return `key ${i + 1} must not contain line breaks (one key per entry)`;
  }
  return null;
}

/** Keys one provider may hold. */
export const MAX_KEYS = 100;
