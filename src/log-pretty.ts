/**
 * LOG_FORMAT=pretty: turns the pino JSON line of one event into one line a person reads on a
 * terminal — `12:03:04.512 INFO  message key=value …` — coloured when asked. A request's log line
 * ("served" / "failed") reads as status, model → provider/model, duration. The JSON is made (and
 * redacted) by pino first, so what is shown is exactly what the JSON would hold.
 */

const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '36' },
  30: { name: 'INFO ', colour: '32' },
  40: { name: 'WARN ', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '1;41;97' },
};

/** pino's own fields, and fields the pretty line shows in its own way. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'reqId', 'err']);
/** Messages of the relay's one line per request that the pretty line says by its status alone. */
const PLAIN_REQUEST_MESSAGES = new Set(['served', 'failed']);

/** The relay's one line per request: it carries the answer's status, the duration and the model asked for. */
const isRequest = (e: Event) => typeof e.status === 'number' && typeof e.ms === 'number' && 'model' in e;

interface Event {
  level?: number;
  time?: number;
  msg?: string;
  reqId?: string;
  err?: { type?: string; message?: string; stack?: string; code?: string };
  [key: string]: unknown;
}

/** One JSON log line in, one readable line out (plus the stack of an error, indented, at error and above). */
export function prettyLine(json: string, colour: boolean): string {
  let e: Event;
  try {
    e = JSON.parse(json) as Event;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  if (typeof e !== 'object' || e === null) return `${json.trimEnd()}\n`;
  const paint = (code: string, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVELS[e.level ?? 30] ?? { name: String(e.level).padEnd(5), colour: '0' };
  const parts: string[] = [paint('90', clock(e.time)), paint(level.colour, level.name)];
  const msg = e.msg ?? '';

  if (isRequest(e)) {
    parts.push(...requestParts(e, paint));
  } else {
    parts.push((e.level ?? 30) >= 40 ? paint(level.colour, msg) : msg);
    for (const [key, value] of Object.entries(e)) {
      if (HIDDEN.has(key) || value === undefined) continue;
      // a value the message already says (the listening URL, say) is not repeated
      if (typeof value === 'string' && value.length > 0 && msg.includes(value)) continue;
      parts.push(`${paint('90', `${key}=`)}${show(value)}`);
    }
    if (e.err) {
      const text = e.err.message ?? e.err.type ?? '';
      if (text && !msg.includes(text)) parts.push(`${paint('90', 'err=')}${show(text)}`);
    }
  }
  if (e.reqId) parts.push(paint('90', `(${e.reqId})`));
  let line = parts.filter((p) => p !== '').join(' ');
  if (e.err?.stack && (e.level ?? 30) >= 50) {
    const stack = e.err.stack.split('\n').slice(1).map((l) => `    ${l.trim()}`).join('\n');
    if (stack) line += `\n${paint('90', stack)}`;
  }
  return `${line}\n`;
}

/** `200 sonnet → relay-a/claude-sonnet-4-5 812 ms stream, 2 attempts [normal]` */
function requestParts(e: Event, paint: (code: string, text: string) => string): string[] {
  const status = e.status as number;
  const statusColour = status >= 500 || status === 499 ? '31' : status >= 400 ? '33' : '32';
  const out = [paint(statusColour, String(status))];
  if (e.msg && !PLAIN_REQUEST_MESSAGES.has(e.msg)) out.push(paint('33', e.msg)); // 'client went away'
  const route = e.provider ? `${String(e.provider)}/${String(e.upstreamModel ?? '?')}` : 'no provider';
  out.push(`${e.model ? String(e.model) : '?'} → ${route}`);
  if (typeof e.ms === 'number') out.push(`${e.ms} ms`);
  const notes: string[] = [];
  if (e.stream) notes.push('stream');
  if (typeof e.attempts === 'number' && e.attempts > 1) notes.push(`${e.attempts} attempts`);
  if (notes.length > 0) out.push(notes.join(', '));
  if (e.pool) out.push(paint('90', `[${String(e.pool)}]`));
  return out;
}

function clock(time: number | undefined): string {
  const d = new Date(typeof time === 'number' ? time : Date.now());
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}
