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
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      log.info({ signal }, 'shutting down');
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      running.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  })
  .catch((err) => {
    log.fatal({ err }, `could not start: ${(err as Error).message}`);
    process.exit(1);
  });
