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

/**
 * Why a member is cooling, which decides whether it may be probed:
 * - `transient`: 5xx (529 included), a timeout, a connection broken before or during the answer,
 *   a 408 — likely to pass; probed when nothing in the pool is ready;
 * - `unreachable`: the provider's host refused the connection, cannot be resolved or reached
 *   (ECONNREFUSED, ENOTFOUND, EAI_AGAIN, …): cools the whole provider; probed, one probe at a time
 *   per provider, since a restarted host should come back without waiting out the cooldown;
 * - `rate-limit`: 429 — the provider asked us to wait: never probed;
 * - `auth`: 401 / 403 — the gateway's key for the provider is refused: cools the whole provider;
 *   never probed (only an admin can fix it);
 * - `other`: any other member failure (404 wrong model, 402, …): not probed.
 */
export type CooldownKind = 'transient' | 'unreachable' | 'rate-limit' | 'auth' | 'other';

/** What a failure means for cooling: its kind, and whether it cools every member of the provider. */
export function failureKind(status: number, unreachable = false): { kind: CooldownKind; providerWide: boolean } {
  if (unreachable) return { kind: 'unreachable', providerWide: true };
  if (status === 401 || status === 403) return { kind: 'auth', providerWide: true };
  if (status === 429) return { kind: 'rate-limit', providerWide: false };
  if (status >= 500 || status === 408) return { kind: 'transient', providerWide: false };
  return { kind: 'other', providerWide: false };
}

/** May a member cooling for this reason take a probe request when nothing in its pool is ready? */
export function isProbeable(kind: CooldownKind | null): boolean {
  return kind === 'transient' || kind === 'unreachable';
}

/**
 * Seconds of cooldown for the `failures`-th failure in a row: the base for the first, doubled for
 * each further one, never above `maxSeconds` — unless the base itself is longer (an admin's
 * explicit provider cooldown stands; only the doubling is capped).
 */
export function escalatedSeconds(baseSeconds: number, failures: number, maxSeconds: number): number {
  if (failures <= 1 || baseSeconds >= maxSeconds) return baseSeconds;
  return Math.min(baseSeconds * 2 ** (failures - 1), maxSeconds);
}

/** A member's cooldown state: when it ends (ms, or null), why, and its failures in a row. */
export interface CoolState {
  until: number | null;
  kind: CooldownKind | null;
  failures: number;
}

/**
 * The state after one more failure: the count goes up by one, the cooldown is the escalated one,
 * or the upstream's Retry-After when longer (capped at `maxSeconds`), and a cooldown already
 * running that ends later is kept, with its kind.
 */
export function applyFailure(
  state: CoolState,
  f: { now: number; baseSeconds: number; maxSeconds: number; retryAfterSeconds: number | null; kind: CooldownKind },
): CoolState & { until: number } {
  const failures = state.failures + 1;
  const seconds = escalatedSeconds(f.baseSeconds, failures, f.maxSeconds);
  const retryAfter = f.retryAfterSeconds === null ? null : Math.min(f.retryAfterSeconds, f.maxSeconds);
  const until = cooldownUntil(f.now, seconds, retryAfter);
  if (state.until !== null && state.until >= until) return { until: state.until, kind: state.kind, failures };
  return { until, kind: f.kind, failures };
}
