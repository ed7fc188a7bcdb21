// A small fetch wrapper for the admin API: bearer token from localStorage, JSON in and out,
// errors as ApiError (status, message, field), and a global "signed out" signal on 401.

const TOKEN_KEY = 'apg.token';
const EXPIRES_KEY = 'apg.tokenExpiresAt';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the API answers 401 to a signed-in request. */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export function getToken(): string | null {
  try {
    const token = localStorage.getItem(TOKEN_KEY);
    if (!token) return null;
    const exp = localStorage.getItem(EXPIRES_KEY);
    if (exp && Date.parse(exp) <= Date.now()) {
      clearToken();
      return null;
    }
    return token;
  } catch {
    return null;
  }
}

export function setToken(token: string, expiresAt: string): void {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(EXPIRES_KEY, expiresAt);
}

export function clearToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(EXPIRES_KEY);
  } catch {
    /* storage unavailable */
  }
}

export async function api<T>(method: string, path: string, body?: unknown, opts: { auth?: boolean; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const auth = opts.auth !== false;
  if (auth) {
    const token = getToken();
    if (token) headers.authorization = `Bearer ${token}`;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network');
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const e = (data as { error?: { message?: unknown; field?: unknown } } | undefined)?.error;
    const message = typeof e?.message === 'string' ? e.message : typeof data === 'string' && data.length < 300 ? data : `HTTP ${res.status}`;
    const field = typeof e?.field === 'string' ? e.field : undefined;
    if (res.status === 401 && auth) {
      clearToken();
      unauthorizedListeners.forEach((fn) => fn());
    }
    throw new ApiError(res.status, message, field);
  }
  return data as T;
}

/** A field error's message without the "field: " the API puts in front (shown under the field already). */
export function fieldMessage(err: ApiError): string {
  if (!err.field) return err.message;
  const prefix = `${err.field}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}
