import type { Member, Pool, PoolName } from '../api/types';
import type { MessageKey } from '../i18n';

export const POOL_LABEL: Record<PoolName, MessageKey> = {
  tool: 'pool.tool',
  normal: 'pool.normal',
  advanced: 'pool.advanced',
};

export const POOL_DESC: Record<PoolName, MessageKey> = {
  tool: 'pool.toolDesc',
  normal: 'pool.normalDesc',
  advanced: 'pool.advancedDesc',
};

export const DEFAULT_VIRTUAL: Record<PoolName, string> = { tool: 'haiku', normal: 'sonnet', advanced: 'opus' };

export type Health = 'none' | 'ready' | 'partial' | 'cooling' | 'disabled';

export interface ProviderHealth {
  health: Health;
  total: number;
  ready: number;
  cooling: number;
  disabled: number;
  /** The last error of a cooling member (a provider-wide failure is the same on all of them), else null. */
  lastError: string | null;
}

/** A provider's health from its members' states: all ready / some cooling / all cooling / none. */
export function providerHealth(pools: Pool[] | undefined, providerId: number): ProviderHealth {
  let ready = 0;
  let cooling = 0;
  let disabled = 0;
  let lastError: string | null = null;
  for (const p of pools ?? []) {
    for (const m of p.members) {
      if (m.providerId !== providerId) continue;
      if (m.state === 'ready') ready++;
      else if (m.state === 'cooling') {
        cooling++;
        lastError ??= m.lastError;
      } else disabled++;
    }
  }
  const total = ready + cooling + disabled;
  let health: Health;
  if (total === 0) health = 'none';
  else if (ready + cooling === 0) health = 'disabled';
  else if (cooling === 0) health = 'ready';
  else if (ready === 0) health = 'cooling';
  else health = 'partial';
  return { health, total, ready, cooling, disabled, lastError };
}

/** Members grouped by provider, in order of first appearance. */
export function groupByProvider(members: Member[]): { providerId: number; providerName: string; providerFormat?: string; members: Member[] }[] {
  const groups = new Map<number, { providerId: number; providerName: string; providerFormat?: string; members: Member[] }>();
  for (const m of members) {
    let g = groups.get(m.providerId);
    if (!g) {
      g = { providerId: m.providerId, providerName: m.providerName, providerFormat: m.providerFormat, members: [] };
      groups.set(m.providerId, g);
    }
    g.members.push(m);
  }
  return [...groups.values()];
}

/** model → pools it is already in, for one provider. */
export function membershipOf(pools: Pool[] | undefined, providerId: number): Map<string, PoolName[]> {
  const out = new Map<string, PoolName[]>();
  for (const p of pools ?? []) {
    for (const m of p.members) {
      if (m.providerId !== providerId) continue;
      const list = out.get(m.model) ?? [];
      if (!list.includes(p.name)) list.push(p.name);
      out.set(m.model, list);
    }
  }
  return out;
}

/** Where a provider's requests go: the server's URL rule (src/upstream/url.ts) — a pasted endpoint is
 *  cut back (as the server stores it), then a version segment (`/v1`, `/v4`, `/v1beta`) ends the base
 *  URL, otherwise `/v1` comes first. */
export function upstreamPreview(baseUrl: string, format: 'openai' | 'anthropic'): string | null {
  if (!isHttpUrl(baseUrl)) return null;
  const u = new URL(baseUrl.trim());
  let p = u.pathname;
  for (let prev = ''; prev !== p; ) {
    prev = p;
    p = p.replace(/\/+$/, '').replace(/\/(chat\/completions|messages|models)$/, '');
  }
  if (!/\/v\d+[a-z0-9]*$/i.test(p)) p += '/v1';
  u.pathname = p + (format === 'anthropic' ? '/messages' : '/chat/completions');
  return u.toString();
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s.trim());
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname;
  } catch {
    return false;
  }
}
