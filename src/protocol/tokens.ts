/**
 * Token counting for `POST /v1/messages/count_tokens` when no Anthropic-format upstream can answer
 * it (protocols.md §6). A real BPE count (o200k_base via js-tiktoken — the tokenizer of most
 * OpenAI-format providers; Claude's own is not public) over everything the model reads, plus the
 * fixed overheads Anthropic documents. Never call it on the hot request path: use
 * `estimateTokensFast` there.
 *
 * The encoder (≈1 s to build) is created on first use, or ahead of time with `preloadTokenizer()`.
 * Counts are memoised per BPE piece and per long string, so the repeated parts of Claude Code
 * requests (system prompt, tools, history) cost a map lookup the second time.
 */
import { createRequire } from 'node:module';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';

/** Tokens Anthropic adds for the tool-use system prompt when `tools` is non-empty (Claude 4 docs: 346). */
const TOOLS_OVERHEAD = 346;
const PER_MESSAGE = 4;
const PER_TOOL = 8;
const PER_BLOCK = 3;
/** A ~1.15 MP image (the size Anthropic scales to) is ~1600 tokens. */
const IMAGE_MAX = 1600;
const PDF_PAGE = 2000;

let encoder: Tiktoken | null = null;
let pieceRe: RegExp | null = null;
const pieceCache = new Map<string, number>();
const PIECE_CACHE_MAX = 200_000;
/** Pieces (the pre-tokenizer's words) longer than this are estimated instead of encoded. */
const LONG_PIECE = 256;
const textCache = new Map<string, number>();
const TEXT_CACHE_MAX = 4_000;
const TEXT_CACHE_MIN_LEN = 256;

function tokenizer(): { enc: Tiktoken; re: RegExp } {
  if (!encoder || !pieceRe) {
    const require = createRequire(import.meta.url);
    const mod = require('js-tiktoken/ranks/o200k_base') as TiktokenBPE | { default: TiktokenBPE };
    const ranks = 'bpe_ranks' in mod ? mod : mod.default;
    encoder = new Tiktoken(ranks);
    pieceRe = new RegExp(ranks.pat_str, 'gu');
  }
  return { enc: encoder, re: pieceRe };
}

/** Builds the encoder now (e.g. at start-up, off the request path) instead of on the first count. */
export function preloadTokenizer(): void {
  tokenizer();
}

/** BPE token count of one string (special-token text counted as plain text). */
export function countTextTokens(text: string): number {
  if (text === '') return 0;
  const long = text.length >= TEXT_CACHE_MIN_LEN;
  if (long) {
    const hit = textCache.get(text);
    if (hit !== undefined) return hit;
  }
  const { enc, re } = tokenizer();
  let n = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const piece = m[0];
    if (piece === '') {
      re.lastIndex++;
      continue;
    }
    if (piece.length > LONG_PIECE) {
      // BPE is superlinear in a piece's length, and a piece this long (no spaces: base64, minified
      // text, noise) is not worth it: estimate it, so that no request can stall the process.
      n += estimateTokensFast(piece);
      continue;
    }
    let c = pieceCache.get(piece);
    if (c === undefined) {
      c = enc.encode(piece, [], []).length;
      if (pieceCache.size >= PIECE_CACHE_MAX) pieceCache.clear();
      pieceCache.set(piece, c);
    }
    n += c;
  }
  if (long) {
    if (textCache.size >= TEXT_CACHE_MAX) textCache.clear();
    textCache.set(text, n);
  }
  return n;
}

/**
 * A cheap estimate (no tokenizer): ~4 characters a token for Latin text, ~1 per character for
 * CJK and other non-ASCII scripts, judged from a sample of the text. Constant time for long text.
 */
export function estimateTokensFast(text: string): number {
  const len = text.length;
  if (len === 0) return 0;
  const step = len <= 512 ? 1 : Math.floor(len / 512);
  let sampled = 0;
  let wide = 0;
  for (let i = 0; i < len; i += step) {
    sampled++;
    if (text.charCodeAt(i) > 0x2e7f) wide++;
  }
  const wideShare = wide / sampled;
  return Math.ceil(len * (wideShare + (1 - wideShare) / 4));
}

/**
 * Input tokens of an Anthropic Messages request body (count_tokens body: model, system, messages,
 * tools, tool_choice, thinking …). Always an integer ≥ 1.
 */
export function countAnthropicInputTokens(body: Record<string, unknown>): number {
  let n = 3;
  n += countSystem(body.system);
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (!isObj(m)) continue;
      n += PER_MESSAGE + countContent(m.content);
    }
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    n += TOOLS_OVERHEAD;
    for (const t of body.tools) {
      if (!isObj(t)) continue;
      if (t.type === undefined || t.type === 'custom') {
        n += PER_TOOL;
        if (typeof t.name === 'string') n += countTextTokens(t.name);
        if (typeof t.description === 'string') n += countTextTokens(t.description);
        if (t.input_schema !== undefined) n += countTextTokens(JSON.stringify(t.input_schema));
      } else {
        n += PER_TOOL + countTextTokens(JSON.stringify(t)); // server tools: their definition is all we know
      }
    }
  }
  return Math.max(1, n);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function countSystem(s: unknown): number {
  if (typeof s === 'string') return countTextTokens(s);
  if (!Array.isArray(s)) return 0;
  let n = 0;
  for (const b of s) if (isObj(b) && typeof b.text === 'string') n += countTextTokens(b.text);
  return n;
}

function countContent(c: unknown): number {
  if (typeof c === 'string') return countTextTokens(c);
  if (!Array.isArray(c)) return 0;
  let n = 0;
  for (const b of c) if (isObj(b)) n += countBlock(b);
  return n;
}

function countBlock(b: Record<string, unknown>): number {
  switch (b.type) {
    case 'text':
      return typeof b.text === 'string' ? countTextTokens(b.text) : 0;
    case 'thinking':
      return typeof b.thinking === 'string' ? countTextTokens(b.thinking) : 0;
    case 'redacted_thinking':
      // opaque; its encrypted payload is ~4/3 the size of the text it stands for
      return typeof b.data === 'string' ? Math.ceil((b.data.length * 0.75) / 4) : 0;
    case 'image':
      return imageTokens(b.source);
    case 'document':
      return PER_BLOCK + documentTokens(b);
    case 'tool_use':
      return PER_BLOCK + (typeof b.name === 'string' ? countTextTokens(b.name) : 0) + countTextTokens(JSON.stringify(b.input ?? {}));
    case 'tool_result':
      return PER_BLOCK + countContent(b.content);
    case 'search_result':
      return PER_BLOCK + countContent(b.content) + (typeof b.title === 'string' ? countTextTokens(b.title) : 0)
        + (typeof b.source === 'string' ? countTextTokens(b.source) : 0);
    default: {
      // server_tool_use, web_search_tool_result, …: count what the model would read
      const { cache_control: _cc, ...rest } = b;
      return PER_BLOCK + countTextTokens(JSON.stringify(rest));
    }
  }
}

function documentTokens(b: Record<string, unknown>): number {
  const src = b.source;
  if (!isObj(src)) return 0;
  let n = typeof b.title === 'string' ? countTextTokens(b.title) : 0;
  if (src.type === 'text' && typeof src.data === 'string') return n + countTextTokens(src.data);
  if (src.type === 'content') return n + countContent(src.content);
  if (src.type === 'base64' && typeof src.data === 'string') {
    const mt = typeof src.media_type === 'string' ? src.media_type : 'application/pdf';
    if (mt.startsWith('text/')) return n + countTextTokens(Buffer.from(src.data, 'base64').toString('utf8'));
    n += pdfPages(src.data) * PDF_PAGE;
    return n;
  }
  return n + PDF_PAGE; // url / file: unknown size
}

/** Pages of a base64 PDF: `/Type /Page` objects (not `/Pages`), at least 1. */
function pdfPages(base64: string): number {
  let pdf: string;
  try {
    pdf = Buffer.from(base64, 'base64').toString('latin1');
  } catch {
    return 1;
  }
  let pages = 0;
  const re = /\/Type\s*\/Page(?![a-zA-Z])/g;
  while (re.exec(pdf) !== null) pages++;
  return Math.max(1, pages);
}

/** Anthropic: tokens ≈ width × height / 750 after scaling the long edge to ≤ 1568 px, at most ~1600. */
export function imageTokens(source: unknown): number {
  if (!isObj(source) || source.type !== 'base64' || typeof source.data !== 'string') return IMAGE_MAX;
  const dims = imageSize(source.data);
  if (!dims) return IMAGE_MAX;
  let { width: w, height: h } = dims;
  const scale = Math.min(1, 1568 / Math.max(w, h));
  w *= scale;
  h *= scale;
  return Math.max(1, Math.min(IMAGE_MAX, Math.ceil((w * h) / 750)));
}

/** Width and height from the header of a base64 PNG, GIF, WebP or JPEG; null when unknown. */
export function imageSize(base64: string): { width: number; height: number } | null {
  // 64 KiB of base64 = 48 KiB of bytes: enough for PNG/GIF/WebP headers and most JPEG SOF markers.
  const head = Buffer.from(base64.slice(0, 65536), 'base64');
  const b = head;
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return nonZero(b.readUInt32BE(16), b.readUInt32BE(20));
  }
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) {
    return nonZero(b.readUInt16LE(6), b.readUInt16LE(8));
  }
  if (b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = b.toString('latin1', 12, 16);
    if (chunk === 'VP8 ') return nonZero(b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff);
    if (chunk === 'VP8L') {
      return nonZero(1 + (((b[22]! & 0x3f) << 8) | b[21]!), 1 + (((b[24]! & 0x0f) << 10) | (b[23]! << 2) | ((b[22]! & 0xc0) >> 6)));
    }
    if (chunk === 'VP8X') return nonZero(1 + b.readUIntLE(24, 3), 1 + b.readUIntLE(27, 3));
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1]!;
      if (marker === 0xff) { i++; continue; }
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return nonZero(b.readUInt16BE(i + 7), b.readUInt16BE(i + 5));
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
      i += 2 + b.readUInt16BE(i + 2);
    }
  }
  return null;
}

function nonZero(width: number, height: number): { width: number; height: number } | null {
  return width > 0 && height > 0 ? { width, height } : null;
}
