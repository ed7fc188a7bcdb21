import type { Dispatcher } from 'undici';

/** An upstream answer read whole (not a stream) larger than this is that member's failure (CONTRACT "Bad input"). */
export const MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024;

/** The upstream's body went past the limit; reading stopped there. */
export class UpstreamBodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`upstream answer larger than ${formatBytes(limit)}: refused`);
    this.name = 'UpstreamBodyTooLarge';
  }
}

/** Stops reading: the connection is closed (undici then reports an abort on the body, which nobody awaits). */
function drop(res: Dispatcher.ResponseData): void {
  res.body.on('error', () => {});
  res.body.destroy();
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 && n % (1024 * 1024) === 0 ? `${n / 1024 / 1024} MB` : `${n} bytes`;
}

/**
 * Reads an undici response body as UTF-8 text, counting bytes as they come and giving up (the
 * body is destroyed) as soon as they pass `max`; a Content-Length over `max` fails at once.
 */
export async function readBodyText(res: Dispatcher.ResponseData, max: number): Promise<string> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    drop(res);
    throw new UpstreamBodyTooLarge(max);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) {
      drop(res);
      throw new UpstreamBodyTooLarge(max);
    }
    chunks.push(b);
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, total).toString('utf8');
}
