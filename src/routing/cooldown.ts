/**
 * Cooldown arithmetic. Pure: every function takes `now` (ms since epoch).
 */

/**
 * Reads `Retry-After` (delta-seconds or an HTTP date) and `retry-after-ms`, returning seconds
 * to wait, or null when neither says anything usable.
 */
export function parseRetryAfter(
  retryAfter: string | string[] | undefined | null,
  now: number,
  retryAfterMs?: string | string[] | undefined | null,
): number | null {
  const ms = first(retryAfterMs);
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Number(ms) / 1000;
  const v = first(retryAfter);
  if (v === undefined) return null;
  const s = v.trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const date = Date.parse(s);
  if (Number.isNaN(date)) return null;
  return Math.max(0, (date - now) / 1000);
}

function first(v: string | string[] | undefined | null): string | undefined {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v[0] : v;
}

/**
 * When a member that just failed becomes ready again: the configured cooldown, or longer when
 * the upstream's Retry-After says so, and never earlier than a cooldown it is already serving.
 */
export function cooldownUntil(
  now: number,
  cooldownSeconds: number,
  retryAfterSeconds: number | null,
  currentUntil: number | null = null,
): number {
  const seconds = Math.max(cooldownSeconds, retryAfterSeconds ?? 0);
  const until = now + Math.round(seconds * 1000);
  return currentUntil !== null && currentUntil > until ? currentUntil : until;
}

/** Whole seconds for a Retry-After header until `until` (at least 1). */
export function retryAfterSeconds(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}
