/**
 * Masks a provider key in text that came from upstream (error bodies echoing it, stream error
 * events) before that text reaches a client, the request log, a member's lastError or the process
 * log (CONTRACT "Provider keys"). Pure.
 */

/** Characters that continue a key-like token (base64/base64url, `.`-joined ids, `*` of a partial mask). */
function isKeyChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    || c === 45 || c === 95 || c === 46 || c === 42 || c === 43 || c === 47 || c === 61 || c === 126;
}

/** Keys shorter than this are masked only where they appear whole (a short prefix says nothing). */
const FRAGMENT_MIN_KEY = 12;
/** How many leading characters of a key make a token that starts with them count as a fragment of it. */
const HEAD = 8;
/** Keys shorter than this are not masked at all (masking 1–3 characters everywhere would garble text). */
const MIN_KEY = 4;

/** What a masked key looks like: its last four characters at most, as the admin API shows it. */
export function maskedForm(key: string): string {
  return key.length < 12 ? '****' : `****${key.slice(-4)}`;
}

/**
 * A function that masks `key` in a text: every whole occurrence, and (for keys of 12+ characters)
 * every token that starts with the key's first 8 characters followed by key-like characters, as
 * an upstream's "Incorrect API key provided: sk-abcd…wxyz" would show it. The text is returned
 * untouched (the same string) unless it contains the key's head: one `includes` on the hot path.
 */
export function keyMasker(key: string | null | undefined): (text: string) => string {
  if (!key || key.length < MIN_KEY) return identity;
  const mask = maskedForm(key);
  if (key.length < FRAGMENT_MIN_KEY) {
    return (text) => (text.includes(key) ? text.split(key).join(mask) : text);
  }
  const head = key.slice(0, HEAD);
  return (text) => {
    let at = text.indexOf(head);
    if (at === -1) return text;
    let out = '';
    let from = 0;
    while (at !== -1) {
      let end = at + HEAD;
      while (end < text.length && isKeyChar(text.charCodeAt(end))) end++;
      while (end > at + HEAD && text.charCodeAt(end - 1) === 46) end--; // a full stop ends a sentence, not the key
      // the whole key, even when it holds characters a token would stop at
      if (at + key.length > end && text.startsWith(key, at)) end = at + key.length;
      out += text.slice(from, at) + mask;
      from = end;
      at = text.indexOf(head, end);
    }
    return out + text.slice(from);
  };
}

/**
 * The bytes whose presence in upstream bytes means `keyMasker(key)` could change them (the key's
 * head, or the whole of a short key); null when it never masks. Lets bytes that cannot hold the key
 * be forwarded as they came, checked with one native `indexOf`.
 */
export function keyNeedle(key: string | null | undefined): Buffer | null {
  if (!key || key.length < MIN_KEY) return null;
  return Buffer.from(key.length < FRAGMENT_MIN_KEY ? key : key.slice(0, HEAD), 'utf8');
}

/**
 * A masker for several keys (a provider's key pool): each masked as `keyMasker` does. Keys often
 * share their head (`sk-proj-…`), so every whole key is first replaced by its own masked form;
 * fragments are then masked as one of the keys sharing their head. The text is returned untouched
 * (the same string) when it holds none of them.
 */
export function keysMasker(keys: readonly (string | null | undefined)[]): (text: string) => string {
  const usable = [...new Set(keys.filter((k): k is string => !!k && k.length >= MIN_KEY))].sort((a, b) => b.length - a.length);
  if (usable.length === 0) return identity;
  if (usable.length === 1) return keyMasker(usable[0]);
  const maskers = usable.map(keyMasker);
  return (text) => {
    let out = text;
    for (const k of usable) if (out.includes(k)) out = out.split(k).join(maskedForm(k));
    for (const m of maskers) out = m(out);
    return out;
  };
}

/** Masks `key` in `text` (see keyMasker; build the masker once where it is used repeatedly). */
export function maskKeyIn(text: string, key: string | null | undefined): string {
  return keyMasker(key)(text);
}

const identity = (text: string): string => text;
