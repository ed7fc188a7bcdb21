/**
 * A client's request body, read once for routing and kept as the bytes that came, so that a
 * same-format request can go upstream as those bytes with only the model changed. Pure.
 *
 * Cost is the point here (a Claude Code body is 75–80 KB with a few hundred non-ASCII
 * characters): decoding such a body as UTF-8 makes a two-byte string (~6× slower than reading
 * it as latin1), and re-serialising the parsed body and encoding it again costs as much once
 * more. So the body is parsed from its latin1 reading — one byte, one character: JSON's
 * structure, numbers, `true`/`false`/`null` and every ASCII string come out exactly, and JSON
 * accepts the same bytes either way (a byte ≥ 0x80 is only ever legal inside a string, in both
 * readings) — and that parse, the *view*, is what routing reads: model, stream, messages,
 * metadata, thinking signatures, image blocks. A string with non-ASCII text appears in the view
 * as its UTF-8 bytes, one character each; `text()` turns such a string back into what the client
 * wrote. An all-ASCII body's view is exact (`exact()` returns it). Anything that re-serialises
 * the body (a conversion, a prepared body) asks for `exact()`: the real UTF-8 parse, made once.
 */
import { isAscii } from 'node:buffer';
import { scanJson, MAX_JSON_DEPTH } from './json-depth.js';

/** The refusal of a body nested deeper than MAX_JSON_DEPTH (its own error code at the entry). */
export const TOO_DEEP = `request body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels`;

export class ClientBody {
  private exactBody: Record<string, unknown> | null;

  private constructor(
    /** The bytes as received (or as serialised, for a body that came parsed). */
    readonly raw: Buffer,
    /** The body parsed from its latin1 reading (see the module comment). */
    readonly view: Record<string, unknown>,
    /** Every byte is ASCII: the view is the exact body. */
    readonly ascii: boolean,
    /** The top-level model string's byte span in `raw` (see scanJson), or null. */
    private readonly modelSpan: [number, number] | null,
  ) {
    this.exactBody = ascii ? view : null;
  }

  /** Reads a request body: the ClientBody, or why it is not a usable JSON object (a 400's message). */
  static read(raw: Buffer): ClientBody | string {
    if (raw.length === 0) return 'request body is empty: expected a JSON object';
    const text = raw.toString('latin1');
    const scan = scanJson(text);
    if (scan.tooDeep) return TOO_DEEP;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return `request body is not valid JSON: ${(e as Error).message}`;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'request body must be a JSON object';
    return new ClientBody(raw, value as Record<string, unknown>, isAscii(raw), scan.model);
  }

  /** Whatever the entry's parsers left in `req.body` (a ClientBody, raw bytes, or an object another parser made). */
  static from(body: unknown): ClientBody | string {
    if (body instanceof ClientBody) return body;
    if (Buffer.isBuffer(body)) return ClientBody.read(body);
    return ClientBody.of(body);
  }

  /** A body that came already parsed (another parser's work): serialised once, then read as any other. */
  static of(value: unknown): ClientBody | string {
    if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) return 'request body must be a JSON object';
    return ClientBody.read(Buffer.from(JSON.stringify(value), 'utf8'));
  }

  private escape: boolean | null = null;
  /** The text holds a `\u00` escape somewhere. */
  private hasEscape(): boolean {
    return (this.escape ??= this.raw.includes(ESCAPE_00));
  }

  /**
   * The exact body (made once; the view itself when the body is ASCII). Built from the view when
   * the text holds no `\u00XX` escape: every string (and key) with a character ≥ 0x80 is re-read
   * as UTF-8, the rest of the tree shared with the view (nothing mutates either) — a few times
   * cheaper than decoding and parsing again. An escape like `\u00e9` parses to the same
   * character as a raw byte 0xE9 would, so with one anywhere the body is parsed again from UTF-8.
   */
  exact(): Record<string, unknown> {
    if (this.exactBody === null) {
      this.exactBody = this.hasEscape()
        ? (JSON.parse(this.raw.toString('utf8')) as Record<string, unknown>)
        : (utf8Strings(this.view) as Record<string, unknown>);
    }
    return this.exactBody;
  }

  /**
   * The body to read names from (the model, the conversation id): the view — or, when the text
   * holds a `\u00XX` escape (which the view cannot tell from a raw byte), the exact body. Pass
   * its strings through `text()`.
   */
  get named(): Record<string, unknown> {
    return this.ascii || !this.hasEscape() ? this.view : this.exact();
  }

  /** A string read from `named`, as the client wrote it. */
  text(s: string): string {
    if (this.ascii || this.hasEscape()) return s; // (named is the exact body then)
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
    }
    return s;
  }

  /** The raw bytes with the top-level model set to `model`; null when its place is not known. */
  withModel(model: string): Buffer | null {
    const span = this.modelSpan;
    if (span === null) return null;
    return Buffer.concat([this.raw.subarray(0, span[0]), Buffer.from(JSON.stringify(model), 'utf8'), this.raw.subarray(span[1])]);
  }

  /** The first `max` bytes as text (for the request log), with how much was left out. */
  head(max: number): string {
    if (this.raw.length <= max) return this.raw.toString('utf8');
    return `${this.raw.toString('utf8', 0, max)}… [${this.raw.length - max} more bytes]`;
  }
}

const ESCAPE_00 = Buffer.from('\\u00', 'latin1');
/** A character that stands for a byte ≥ 0x80 in a latin1 reading. */
const HIGH = /[\u0080-\u00ff]/;

/** `v` with every string and key holding such characters re-read as UTF-8; unchanged parts shared. */
function utf8Strings(v: unknown): unknown {
  if (typeof v === 'string') return HIGH.test(v) ? Buffer.from(v, 'latin1').toString('utf8') : v;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x = utf8Strings(v[i]);
      if (x !== v[i]) (out ??= v.slice())[i] = x;
    }
    return out ?? v;
  }
  const o = v as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = utf8Strings(o[k]);
    const nk = HIGH.test(k) ? Buffer.from(k, 'latin1').toString('utf8') : k;
    if (out === null && (x !== o[k] || nk !== k)) {
      // (rebuilt in the same key order from here on)
      out = {};
      for (let j = 0; j < i; j++) put(out, keys[j]!, o[keys[j]!]);
    }
    if (out !== null) put(out, nk, x);
  }
  return out ?? o;
}

/** An own property, as JSON.parse makes it (`__proto__` included). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/**
 * Whether `prepared` is `view` with nothing but its `model` changed (what the same-format
 * preparation returns when the provider needs no other change): then the raw bytes, with the
 * model spliced in, are that body.
 */
export function onlyModelChanged(view: Record<string, unknown>, prepared: Record<string, unknown>): boolean {
  if (prepared === view) return true;
  let n = 0;
  for (const k in prepared) {
    n++;
    if (k !== 'model' && prepared[k] !== view[k]) return false;
  }
  let m = 0;
  for (const _k in view) m++;
  return n === m && 'model' in view;
}
