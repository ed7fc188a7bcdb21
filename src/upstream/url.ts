/** A base URL's path without trailing slashes and without a pasted endpoint (`/chat/completions`,
 *  `/messages`, `/models`), repeated until nothing changes (so a normalised URL normalises to itself). */
function basePath(pathname: string): string {
  let p = pathname;
  for (let prev = ''; prev !== p; ) {
    prev = p;
    p = p.replace(/\/+$/, '').replace(/\/(chat\/completions|messages|models)$/, '');
  }
  return p;
}

/**
 * A provider's base URL as it is stored, shown and called: trimmed, scheme and host in lower case,
 * no default port, no fragment, no trailing slash, and a pasted full endpoint URL
 * (`…/v1/chat/completions`, `…/v1/messages`, `…/v1/models`) cut back to its base. Query strings
 * are kept. Throws on a string that is not a URL (check with `isHttpUrl` first). The admin API
 * stores this form, and `buildUpstreamUrl` applies the same rule, so what the UI shows is what is called.
 */
export function normalizeBaseUrl(baseUrl: string): string {
  const u = new URL(baseUrl.trim());
  return `${u.protocol}//${u.host}${basePath(u.pathname)}${u.search}`;
}

/**
 * Joins a provider's base URL and an API path (`/chat/completions`, `/messages`, `/models`).
 * The base is read as `normalizeBaseUrl` reads it; one that then ends in a version segment
 * (`/v1`, `/v4`, `/v1beta`…) gets the path straight after it; any other gets `/v1` first.
 * Query strings on the base are kept.
 */
export function buildUpstreamUrl(baseUrl: string, apiPath: string): URL {
  const u = new URL(baseUrl.trim());
  let p = basePath(u.pathname);
  if (!/\/v\d+[a-z0-9]*$/i.test(p)) p += '/v1';
  u.pathname = p + apiPath;
  u.hash = '';
  return u;
}

/** True when a string is an absolute http(s) URL. */
/** Where an upstream request goes, as undici's `request` takes it. */
export interface UpstreamTarget {
  origin: string;
  /** Path and query string. */
  path: string;
}

const TARGETS = new Map<string, UpstreamTarget>();
const TARGETS_MAX = 1000;

/** `buildUpstreamUrl` as origin + path, remembered per base URL and path (it runs on every attempt). */
export function upstreamTarget(baseUrl: string, apiPath: string): UpstreamTarget {
  const key = `${baseUrl}\u0000${apiPath}`;
  let t = TARGETS.get(key);
  if (!t) {
    const u = buildUpstreamUrl(baseUrl, apiPath);
    t = { origin: u.origin, path: u.pathname + u.search };
    if (TARGETS.size >= TARGETS_MAX) TARGETS.clear();
    TARGETS.set(key, t);
  }
  return t;
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
