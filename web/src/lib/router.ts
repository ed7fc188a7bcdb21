import { useSyncExternalStore } from 'react';

// A tiny hash router: `#/logs/42?pool=normal` → { path: ['logs', '42'], query: {pool: 'normal'} }.
// Hash routes work whatever the server does with unknown paths.

export interface Route {
  path: string[];
  query: URLSearchParams;
}

function read(): string {
  return window.location.hash.replace(/^#/, '') || '/';
}

function subscribe(fn: () => void): () => void {
  window.addEventListener('hashchange', fn);
  return () => window.removeEventListener('hashchange', fn);
}

export function parseRoute(raw: string): Route {
  const [p, q] = raw.split('?', 2);
  return { path: (p ?? '').split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q ?? '') };
}

export function useRoute(): Route {
  const raw = useSyncExternalStore(subscribe, read, () => '/');
  return parseRoute(raw);
}

export function href(path: string, query?: Record<string, string | undefined | null>): string {
  const u = new URLSearchParams();
  if (query) for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export function navigate(path: string, query?: Record<string, string | undefined | null>, replace = false): void {
  const h = href(path, query);
  if (replace) {
    history.replaceState(null, '', h);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = h.slice(1);
  }
}
