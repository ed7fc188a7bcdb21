/**
 * CONTRACT "Bad input": JSON nested deeper than 128 levels is refused before it is parsed. Deep
 * nesting costs nothing to send but makes recursive code (JSON.stringify, converters, loggers)
 * throw RangeError or stall, so it is checked on the raw text. Pure.
 */

/** Deepest nesting of arrays and objects a request body may have. */
export const MAX_JSON_DEPTH = 128;

/**
 * True when `text`, read as JSON, opens more than `max` arrays/objects inside one another.
 * One pass without recursion or allocation: brackets inside strings do not count (strings are
 * skipped with indexOf, honouring backslash escapes). Invalid JSON is not judged here: the
 * answer is then only about the brackets, and JSON.parse reports the real error.
 */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) { // "
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j === -1) return false; // unterminated string: not ours to report
        let k = j - 1;
        while (text.charCodeAt(k) === 92) k--; // backslashes before the quote
        if (((j - 1 - k) & 1) === 0) break; // an even number: the quote is not escaped
      }
      i = j;
    } else if (c === 123 || c === 91) { // { [
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) { // } ]
      depth--;
    }
  }
  return false;
}
