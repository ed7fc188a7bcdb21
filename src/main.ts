import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startGateway } from './start.js';
import { preloadTokenizer } from './protocol/tokens.js';

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    console.error(`configuration error: ${(err as Error).message}`);
    process.exit(2);
  }
})();
const log = createLogger(config.logLevel);

startGateway(config, log)
  .then((running) => {
    // Build the tokenizer for count_tokens now (about a second of CPU) rather than on the first call.
    setTimeout(preloadTokenizer, 50).unref();
    // SIGTERM/SIGINT: drain (CONTRACT "Health and shutdown"; start.ts `shutdown`): /readyz 503 and
    // new requests 503 at once, requests in flight get SHUTDOWN_GRACE_SECONDS, the request log is
    // flushed, exit 0 (1 only when closing itself fails or hangs). A second signal ends the grace at
    // once (open streams get their error frame, the log is still flushed); a third exits at once (1).
    let signals = 0;
    const shutdown = (signal: string) => {
      signals++;
      if (signals === 2) {
        log.warn({ signal }, 'second signal: ending the shutdown grace now');
        running.gateway.lifecycle.expire();
        return;
      }
      if (signals > 2) {
        log.warn({ signal }, 'third signal: exiting now');
        process.exit(1);
      }
      const graceMs = config.shutdownGraceMs;
      log.info({ signal, graceSeconds: graceMs / 1000, inFlight: running.gateway.lifecycle.inFlight }, 'shutting down: draining');
      // Closing must not hang the process: the grace, the last frames and the log flush get 15 s more.
      const force = setTimeout(() => {
        log.error('shutdown did not finish in time: exiting');
        process.exit(1);
      }, graceMs + 15_000);
      force.unref();
      running.shutdown(graceMs).then(
        () => {
          log.info('shut down');
          process.exit(0);
        },
        (err) => {
          log.error({ err }, `shutdown failed: ${(err as Error).message}`);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  })
  .catch((err) => {
    log.fatal({ err }, `could not start: ${(err as Error).message}`);
    process.exit(1);
  });
