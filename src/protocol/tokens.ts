/**
 * Token counting for `POST /v1/messages/count_tokens` when no Anthropic-format upstream can answer
 * it (protocols.md §6). A real BPE count (o200k_base via js-tiktoken — the tokenizer of most
 * OpenAI-format providers; Claude's own is not public) over everything the model reads, plus the
 * fixed overheads Anthropic documents. Never call it on the hot request path: use
 * `estimateTokensFast` there.
 *
 * The walk over the body is here and pure (`anthropicInputTexts`: the fixed overheads and the
 * texts to count). The BPE count runs in a worker thread (`TokenCounter`), started on the first
 * count and ended after a few idle minutes: the encoder takes about a second of CPU to build
 * (never on the thread serving requests) and ~150 MB while it lives (never at idle — the gateway
 * idles at a fraction of that). Counts are memoised in the worker per BPE piece and per long
 * string, so the repeated parts of Claude Code requests (system prompt, tools, history) cost a
 * map lookup the second time — for as long as the worker lives.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Tokens Anthropic adds for the tool-use system prompt when `tools` is non-empty (Claude 4 docs: 346). */
const TOOLS_OVERHEAD = 346;
const PER_MESSAGE = 4;
const PER_TOOL = 8;
const PER_BLOCK = 3;
/** A ~1.15 MP image (the size Anthropic scales to) is ~1600 tokens. */
const IMAGE_MAX = 1600;
const PDF_PAGE = 2000;

/**
 * The worker: builds the encoder, answers {id, texts} with {id, tokens} (the sum over the texts).
 * Pieces (the pre-tokenizer's words) longer than LONG_PIECE are estimated instead of encoded: BPE
 * is superlinear in a piece's length, and a piece that long (no spaces: base64, minified text,
 * noise) is not worth it — so that no request can stall the worker. Its estimate is
 * `estimateTokensFast` below, passed in as source (a test checks the worker's counts).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Tiktoken } = require(workerData.lite);
const mod = require(workerData.ranks);
const ranks = 'bpe_ranks' in mod ? mod : mod.default;
const enc = new Tiktoken(ranks);
const re = new RegExp(ranks.pat_str, 'gu');
const estimate = ${'${ESTIMATE_SOURCE}'};
const LONG_PIECE = 256, PIECES_MAX = 200000, TEXTS_MAX = 4000, TEXT_MIN = 256;
const pieces = new Map();
const texts = new Map();
function count(text) {
  if (text === '') return 0;
  const long = text.length >= TEXT_MIN;
  if (long) { const hit = texts.get(text); if (hit !== undefined) return hit; }
  let n = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const piece = m[0];
    if (piece === '') { re.lastIndex++; continue; }
    if (piece.length > LONG_PIECE) { n += estimate(piece); continue; }
    let c = pieces.get(piece);
    if (c === undefined) {
      c = enc.encode(piece, [], []).length;
      if (pieces.size >= PIECES_MAX) pieces.clear();
      pieces.set(piece, c);
    }
    n += c;
  }
  if (long) { if (texts.size >= TEXTS_MAX) texts.clear(); texts.set(text, n); }
  return n;
}
parentPort.on('message', (m) => {
  try {
    let tokens = 0;
    for (const t of m.texts) tokens += count(t);
    parentPort.postMessage({ id: m.id, tokens });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});
parentPort.postMessage({ ready: true });
`;

/** Ends the worker after this long without a count (the encoder's memory goes with it). */
export const TOKENIZER_IDLE_MS = 5 * 60_000;

/**
 * BPE counts in a worker thread that starts on demand and ends when idle. One per gateway;
 * `close()` at shutdown.
 */
export class TokenCounter {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  private idle: NodeJS.Timeout | null = null;
  /** Workers started so far (1 while one lives; more after idle ends or crashes). */
  started = 0;

  constructor(private readonly idleMs = TOKENIZER_IDLE_MS) {}

  /** Whether the worker (and its encoder) is alive now. */
  get running(): boolean {
    return this.worker !== null;
  }

  /** BPE tokens of the texts, summed (special-token text counted as plain text). */
  countTexts(texts: string[]): Promise<number> {
    if (texts.length === 0) return Promise.resolve(0);
    const w = this.worker ?? this.start();
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    const id = ++this.seq;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, texts });
    });
  }

  /** Input tokens of an Anthropic Messages request body; an integer ≥ 1. */
  async countAnthropic(body: Record<string, unknown>): Promise<number> {
    const { fixed, texts } = anthropicInputTexts(body);
    return Math.max(1, fixed + (await this.countTexts(texts)));
  }

  /** Ends the worker now (pending counts fail). */
  async close(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    const w = this.worker;
    this.worker = null;
    this.failAll(new Error('the token counter was closed'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    const require = createRequire(import.meta.url);
    const w = new Worker(WORKER_SOURCE.replace('${ESTIMATE_SOURCE}', ESTIMATE_SOURCE), {
      eval: true,
      workerData: { lite: require.resolve('js-tiktoken/lite'), ranks: require.resolve('js-tiktoken/ranks/o200k_base') },
    });
    w.unref(); // (never what keeps the process alive)
    this.worker = w;
    this.started++;
    w.on('message', (m: { id?: number; tokens?: number; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.tokens!);
      if (this.pending.size === 0 && this.worker === w) this.armIdle(w);
    });
    const gone = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.failAll(err);
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`the token counter stopped (exit code ${code})`)));
    return w;
  }

  private armIdle(w: Worker): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.idle = null;
      if (this.worker !== w || this.pending.size > 0) return;
      this.worker = null;
      void w.terminate();
    }, this.idleMs);
    this.idle.unref();
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
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

/** `estimateTokensFast` as source, for the worker (the same rule for its long pieces). */
const ESTIMATE_SOURCE = estimateTokensFast.toString();

/** The texts a walk collects for the BPE count (the walk is synchronous: one at a time). */
let collected: string[] = [];
/** Collects a text to count; its tokens come from the worker (0 here). */
function countTextTokens(text: string): number {
  if (text !== '') collected.push(text);
  return 0;
}

/**
 * What an Anthropic Messages request body (count_tokens body: model, system, messages, tools,
 * tool_choice, thinking …) makes the model read: fixed overheads (per message, tool, block, image
 * and page) and the texts whose BPE tokens are added to them. Pure.
 */
export function anthropicInputTexts(body: Record<string, unknown>): { fixed: number; texts: string[] } {
  collected = [];
  try {
    const fixed = walkInput(body);
    return { fixed, texts: collected };
  } finally {
    collected = [];
  }
}

function walkInput(body: Record<string, unknown>): number {
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
  return n;
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
