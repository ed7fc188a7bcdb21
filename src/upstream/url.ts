/**
 * Joins a provider's base URL and an API path (`/chat/completions`, `/messages`, `/models`).
 * A base URL that already ends in a version segment (`/v1`, `/v4`, `/v1beta`…) gets the path
 * straight after it; any other gets `/v1` first. A pasted full endpoint URL
 * (`…/v1/chat/completions`) is cut back to its base. Query strings on the base are kept.
 */
export function buildUpstreamUrl(baseUrl: string, apiPath: string): URL {
  const u = new URL(baseUrl);
  let p = u.pathname.replace(/\/+$/, '');
  p = p.replace(/\/(chat\/completions|messages|models)$/, '');
  if (!/\/v\d+[a-z0-9]*$/i.test(p)) p += '/v1';
  u.pathname = p + apiPath;
  return u;
}

/** True when a string is an absolute http(s) URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
