import pino from 'pino';

/** One JSON line per event; credentials redacted wherever they could appear. */
export function createLogger(level: string) {
  return pino({
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
  });
}
