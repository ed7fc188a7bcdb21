import pino from 'pino';
import { prettyLine } from './log-pretty.js';

export type LogFormat = 'json' | 'pretty';

/**
 * LOG_FORMAT as it applies to this process: `auto` (unset) is pretty when stdout is a terminal and
 * JSON otherwise (a pipe, a file, Docker's log driver, a collector).
 */
export function resolveLogFormat(setting: 'json' | 'pretty' | 'auto', stdoutIsTTY = process.stdout.isTTY === true): LogFormat {
  if (setting === 'auto') return stdoutIsTTY ? 'pretty' : 'json';
  return setting;
}

/**
 * The process log, credentials redacted wherever they could appear. `json`: one JSON line per event
 * (pino). `pretty`: the same events, one readable line each (`log-pretty.ts`), coloured when stdout
 * is a terminal and NO_COLOR is unset.
 */
export function createLogger(level: string, format: LogFormat = 'json', out: NodeJS.WritableStream = process.stdout) {
  const options: pino.LoggerOptions = {
    level,
    redact: {
      paths: [
        'apiKey', '*.apiKey', 'api_key', '*.api_key',
        'req.headers.authorization', 'req.headers["x-api-key"]',
        'headers.authorization', 'headers["x-api-key"]',
        'password', '*.password', 'token', '*.token',
      ],
      censor: '[redacted]',
    },
  };
  if (format === 'json') return out === process.stdout ? pino(options) : pino(options, out);
  const colour = (out as NodeJS.WriteStream).isTTY === true && !process.env.NO_COLOR;
  // pino writes each event as one JSON line to this destination, synchronously.
  return pino(options, { write: (line: string) => out.write(prettyLine(line, colour)) });
}
