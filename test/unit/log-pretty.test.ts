import { describe, expect, it } from 'vitest';
import { prettyLine } from '../../src/log-pretty.js';
import { resolveLogFormat } from '../../src/logger.js';

const at = (h: number, m: number, s: number, ms: number) => new Date(2026, 0, 2, h, m, s, ms).getTime();

describe('LOG_FORMAT=pretty: one readable line per event', () => {
  it('time, level and message; other fields as key=value; pino bookkeeping left out', () => {
    const line = prettyLine(JSON.stringify({ level: 30, time: at(9, 5, 7, 42), pid: 12, hostname: 'h', msg: 'sharing cooldowns', replicas: 2, name: 'a b' }), false);
    expect(line).toBe('09:05:07.042 INFO  sharing cooldowns replicas=2 name="a b"\n');
  });

  it('a value the message already says is not repeated', () => {
    const line = prettyLine(JSON.stringify({ level: 30, time: at(0, 0, 0, 0), msg: 'API Pool Gateway listening on http://127.0.0.1:8899 (storage: SQLite /d/gateway.db)', url: 'http://127.0.0.1:8899', storage: 'SQLite /d/gateway.db' }), false);
    expect(line).toBe('00:00:00.000 INFO  API Pool Gateway listening on http://127.0.0.1:8899 (storage: SQLite /d/gateway.db)\n');
  });

  it('a request: status, model → provider/model, duration, notes, pool, request id', () => {
    const e = { level: 30, time: at(12, 0, 1, 5), reqId: 'req-7', pool: 'normal', model: 'claude-sonnet-4-5', provider: 'relay-a', upstreamModel: 'kimi-k2', stream: true, attempts: 2, status: 200, ms: 812, msg: 'served' };
    expect(prettyLine(JSON.stringify(e), false)).toBe('12:00:01.005 INFO  200 claude-sonnet-4-5 → relay-a/kimi-k2 812 ms stream, 2 attempts [normal] (req-7)\n');
    const gone = prettyLine(JSON.stringify({ ...e, status: 499, msg: 'client went away', stream: false, attempts: 1 }), false);
    expect(gone).toBe('12:00:01.005 INFO  499 client went away claude-sonnet-4-5 → relay-a/kimi-k2 812 ms [normal] (req-7)\n');
    const none = prettyLine(JSON.stringify({ ...e, provider: null, upstreamModel: null, status: 404, msg: 'failed', stream: false, attempts: 0, pool: null }), false);
    expect(none).toBe('12:00:01.005 INFO  404 claude-sonnet-4-5 → no provider 812 ms (req-7)\n');
  });

  it('colour only when asked: level and status painted, the text unchanged', () => {
    const e = { level: 40, time: at(1, 2, 3, 4), msg: 'upstream attempt failed; moving on', status: 503 };
    const plain = prettyLine(JSON.stringify(e), false);
    const coloured = prettyLine(JSON.stringify(e), true);
    expect(plain).not.toContain('\x1b[');
    expect(coloured).toContain('\x1b[33mWARN \x1b[0m');
    expect(coloured.replace(/\x1b\[[\d;]*m/g, '')).toBe(plain);
    const req = prettyLine(JSON.stringify({ level: 30, time: 0, model: 'm', status: 502, ms: 3, msg: 'failed' }), true);
    expect(req).toContain('\x1b[31m502\x1b[0m');
  });

  it('an error: its message on the line, its stack below at error level and up', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.ts:1:1)\n    at g (b.ts:2:2)' };
    expect(prettyLine(JSON.stringify({ level: 50, time: at(0, 0, 0, 0), msg: 'request failed', err }), false))
      .toBe('00:00:00.000 ERROR request failed err=boom\n    at f (a.ts:1:1)\n    at g (b.ts:2:2)\n');
    expect(prettyLine(JSON.stringify({ level: 40, time: at(0, 0, 0, 0), msg: 'x', err }), false)).toBe('00:00:00.000 WARN  x err=boom\n');
  });

  it('what is not JSON passes through as a line', () => {
    expect(prettyLine('not json', false)).toBe('not json\n');
  });

  it('LOG_FORMAT unset follows the terminal; json and pretty are taken as set', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });
});
