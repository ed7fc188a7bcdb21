// A small fetch wrapper for the admin API: bearer token from localStorage, JSON in and out,
// errors as ApiError (status, message, field, code), a global "signed out" signal on 401 and a
// "set a new password first" signal on 403 password_change_required.

const TOKEN_KEY = 'apg.token';
const EXPIRES_KEY = 'apg.tokenExpiresAt';
/** Set while the session may only change the password (first login with the default one). */
const MUST_CHANGE_KEY = 'apg.mustChangePassword';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
const mustChangeListeners = new Set<Listener>();

/** Called whenever the API answers 401 to a signed-in request (the token is dropped first). */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

/** Called whenever the API answers 403 password_change_required: this session must set a new password. */
export function onPasswordChangeRequired(fn: Listener): () => void {
  mustChangeListeners.add(fn);
  return () => mustChangeListeners.delete(fn);
}

export function mustChangePassword(): boolean {
  try {
    return localStorage.getItem(MUST_CHANGE_KEY) === '1';
  } catch {
    return false;
  }
}

export function setMustChangePassword(v: boolean): void {
  try {
    if (v) localStorage.setItem(MUST_CHANGE_KEY, '1');
    else localStorage.removeItem(MUST_CHANGE_KEY);
  } catch {
    /* storage unavailable */
  }
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

export function setToken(token: string, expiresAt: string, mustChange = false): void {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(EXPIRES_KEY, expiresAt);
  setMustChangePassword(mustChange);
}

export function clearToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(EXPIRES_KEY);
    localStorage.removeItem(MUST_CHANGE_KEY);
  } catch {
    /* storage unavailable */
  }
}

/** A request body sent as it is, with its own content type (a YAML document), instead of as JSON. */
export class RawBody {
  constructor(
    readonly text: string,
    readonly type: string,
  ) {}
}

export async function api<T>(method: string, path: string, body?: unknown, opts: { auth?: boolean; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const auth = opts.auth !== false;
  const token = auth ? getToken() : null;
  if (auth) {
    // Signed out (or the token ran out): do not ask the server at all, just send the UI to login.
    if (!token) {
      unauthorizedListeners.forEach((fn) => fn());
      throw new ApiError(401, 'signed out');
    }
    headers.authorization = `Bearer ${token}`;
  }
  if (body !== undefined) headers['content-type'] = body instanceof RawBody ? body.type : 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : body instanceof RawBody ? body.text : JSON.stringify(body), signal: opts.signal });
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
    const e = (data as { error?: { message?: unknown; field?: unknown; code?: unknown } } | undefined)?.error;
    const message = typeof e?.message === 'string' ? e.message : typeof data === 'string' && data.length < 300 ? data : `HTTP ${res.status}`;
    const field = typeof e?.field === 'string' ? e.field : undefined;
    const code = typeof e?.code === 'string' ? e.code : undefined;
    // Only react when the token that failed is still the current one: an answer to a request sent
    // with an older token (e.g. just before a password change replaced it) must not sign out the new one.
    const current = auth && token !== null && getToken() === token;
    if (res.status === 401 && current) {
      clearToken();
      unauthorizedListeners.forEach((fn) => fn());
    }
    if (res.status === 403 && code === 'password_change_required' && current) {
      setMustChangePassword(true);
      mustChangeListeners.forEach((fn) => fn());
    }
    throw new ApiError(res.status, message, field, code);
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
