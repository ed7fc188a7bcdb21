// Number, duration and time formatting. `null`/`undefined` always render as an en dash.

export const DASH = '–';

export function fmtInt(n: number | null | undefined, locale: string): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(n);
}

/** 1234 → 1.2K (locale-aware compact notation; Chinese uses 万). */
export function fmtCompact(n: number | null | undefined, locale: string): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  if (Math.abs(n) < 10_000) return fmtInt(n, locale);
  return new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

export function fmtPct(r: number | null | undefined, locale: string): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return DASH;
  const digits = r > 0.999 || r === 0 ? 0 : 1;
  return new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(r);
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m ${s}s`;
}

/** Seconds left until `iso`, as "42s" or "3:05"; "0s" once past. */
export function fmtCountdown(iso: string | null, now: number): string {
  if (!iso) return '';
  const left = Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000));
  if (left < 60) return `${left}s`;
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

export function fmtDuration(seconds: number | null | undefined, locale: string): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  const zh = locale.startsWith('zh');
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return zh ? `${d} 天 ${h} 小时` : `${d}d ${h}h`;
  if (h > 0) return zh ? `${h} 小时 ${m} 分钟` : `${h}h ${m}m`;
  if (m > 0) return zh ? `${m} 分钟` : `${m}m`;
  return zh ? `${Math.floor(seconds)} 秒` : `${Math.floor(seconds)}s`;
}

export function fmtTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return new Intl.DateTimeFormat(locale, {
    ...(sameDay ? {} : { month: '2-digit', day: '2-digit' }),
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(d);
}

export function fmtDateTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(d);
}

/** A body as stored: pretty-printed when it is JSON. */
export function prettyBody(s: string): string {
  const t = s.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return s;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return s;
  }
}

export function statusClass(status: number | null | undefined): 'ok' | 'warn' | 'err' | 'none' {
  if (!status) return 'none';
  if (status < 300) return 'ok';
  if (status < 500 && status !== 429 && status !== 408) return 'warn';
  return 'err';
}

/** A date without the time (e.g. an expiry day). */
export function fmtDate(iso: string | null | undefined, locale: string): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** An access key's mask (e.g. "****Z1nT") as a recognisable hint: "sk-apg-…Z1nT". */
export function keyHint(masked: string): string {
  const tail = masked.replace(/^sk-apg-/, '').replace(/^[*…•.]+/, '');
  return tail ? `sk-apg-…${tail}` : masked;
}

/**
 * US dollars: cents from $1 up, four decimals below that, six below one cent (a single request
 * often costs a fraction of a cent); null (no price) is a dash.
 */
export function fmtUsd(n: number | null | undefined, locale: string): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const a = Math.abs(n);
  const digits = a === 0 || a >= 1 ? 2 : a >= 0.01 ? 4 : 6;
  return new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD', minimumFractionDigits: a === 0 ? 0 : 2, maximumFractionDigits: digits }).format(n);
}
