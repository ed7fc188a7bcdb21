// Pure helpers for what members can hold (context window, vision) and for conversations in the log.

/** Largest context window the admin API takes. */
export const MAX_CONTEXT_WINDOW = 100_000_000;

function trimmed(n: number, digits: number): string {
  return n.toFixed(digits).replace(/\.?0+$/, '');
}

/** A token count, short (the exact count belongs in a title): 128000 → "128k", 131072 → "131.1k", 1048576 → "1.05M", 900 → "900". */
export function fmtTokens(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '';
  if (n >= 1_000_000) return `${trimmed(n / 1_000_000, 2)}M`;
  if (n >= 1000) return `${trimmed(n / 1000, 1)}k`;
  return String(n);
}

/**
 * What a person typed as a context window: "128k" (×1000), "1M" / "1m" (×1 000 000), "131072",
 * "131,072"; "" is unknown (null). undefined when it is not a token count the API would take.
 */
export function parseTokens(text: string): number | null | undefined {
  const s = text.trim().replace(/[,_\s]/g, '');
  if (s === '') return null;
  const m = /^(\d+(?:\.\d+)?)([kKmM])?$/.exec(s);
  if (!m) return undefined;
  const unit = m[2]?.toLowerCase();
  const n = Math.round(Number(m[1]) * (unit === 'k' ? 1000 : unit === 'm' ? 1_000_000 : 1));
  if (!unit && m[1]!.includes('.')) return undefined;
  return Number.isInteger(n) && n >= 1 && n <= MAX_CONTEXT_WINDOW ? n : undefined;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * A conversation id short enough for a table cell. Claude Code names a session by a UUID, sometimes
 * inside a longer `metadata.user_id` whose start is the same for every session of a user: the
 * last UUID's first 8 characters tell sessions apart. A hashed long id shows its hash's start;
 * anything else its end.
 */
export function shortConversation(c: string): string {
  const uuids = c.match(UUID);
  if (uuids && uuids.length > 0) return uuids[uuids.length - 1]!.slice(0, 8);
  if (c.startsWith('sha256:')) return c.slice(7, 15);
  return c.length <= 12 ? c : `…${c.slice(-10)}`;
}
