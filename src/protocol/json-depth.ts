/**
 * CONTRACT "Bad input": JSON nested deeper than 128 levels is refused before it is parsed. Deep
 * nesting costs nothing to send but makes recursive code (JSON.stringify, converters, loggers)
 * throw RangeError or stall, so it is checked on the raw text. Pure.
 */

/** Deepest nesting of arrays and objects a request body may have. */
export const MAX_JSON_DEPTH = 128;

/** What one pass over a JSON text found (see `scanJson`). */
export interface JsonScan {
  /** More than `max` arrays/objects open inside one another. */
  tooDeep: boolean;
  /**
   * Where the top-level object's `"model"` value sits, when it is a string written once:
   * [start of its opening quote, just past its closing quote]. Null otherwise (absent, not a
   * string, written twice, or the key spelled with escapes).
   */
  model: [number, number] | null;
}

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * One pass without recursion or allocation (but for the result): brackets inside strings do not
 * count (strings are skipped with indexOf, honouring backslash escapes). Invalid JSON is not
 * judged here: the answer is then only about the brackets, and JSON.parse reports the real error.
 * Offsets are character offsets of `text` (byte offsets when `text` is a buffer read as latin1).
 */
export function scanJson(text: string, max = MAX_JSON_DEPTH): JsonScan {
  let depth = 0;
  let model: [number, number] | null = null;
  let models = 0;
  // at depth 1 (the top-level object's members): the next string is a key
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const j = stringEnd(text, i);
      if (j === -1) return { tooDeep: false, model: null }; // unterminated string: not ours to report
      if (depth === 1 && expectKey) {
        expectKey = false;
        if (j - i === 6 && text.startsWith('model', i + 1)) {
          models++;
          model = models === 1 ? modelValue(text, j + 1) : null;
        }
      }
      i = j;
    } else if (c === 123 || c === 91) { // { [
      if (++depth > max) return { tooDeep: true, model: null };
      if (depth === 1) expectKey = c === 123;
    } else if (c === 125 || c === 93) { // } ]
      depth--;
    } else if (c === 44 && depth === 1) { // ,
      expectKey = true;
    }
  }
  return { tooDeep: false, model: models === 1 ? model : null };
}

/** True when `text`, read as JSON, opens more than `max` arrays/objects inside one another. */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  return scanJson(text, max).tooDeep;
}

/** The index of the quote that closes the string opened at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  let j = open;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j === -1) return -1;
    let k = j - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--; // backslashes before the quote
    if (((j - 1 - k) & 1) === 0) return j; // an even number: the quote is not escaped
  }
}

/** After a key (at `from`): `: "…"` → the string value's span; anything else → null. */
function modelValue(text: string, from: number): [number, number] | null {
  let i = skipSpace(text, from);
  if (text.charCodeAt(i) !== 58) return null; // :
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) !== QUOTE) return null;
  const end = stringEnd(text, i);
  return end === -1 ? null : [i, end + 1];
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
}
