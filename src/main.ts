import { loadConfig } from './config.js';
import { createLogger, resolveLogFormat } from './logger.js';
import { StartCancelled, startGateway, type RunningGateway } from './start.js';
import { checkDataDir, explainStartError } from './startup.js';

/**
 * A start that cannot go on for a reason a person fixes (a bad setting, a data folder it cannot
 * write, a port in use): one plain line on stderr, whatever LOG_FORMAT is, and exit code 2.
 */
function refuse(prefix: 'configuration error' | 'could not start', message: string): never {
  process.stderr.write(`${prefix}: ${message}\n`);
  process.exit(2);
}

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    refuse('configuration error', (err as Error).message);
  }
})();
{
  const problem = (() => {
    try {
      checkDataDir(config);
      return null;
    } catch (err) {
      return explainStartError(err, config) ?? `DATA_DIR ${config.dataDir}: ${(err as Error).message}`;
    }
  })();
  if (problem) refuse('could not start', problem);
}
const log = createLogger(config.logLevel, resolveLogFormat(config.logFormat));

/** A signal during the start: how long the start may take to wind down (it closes what it opened) before the process exits anyway. */
const START_WIND_DOWN_MS = 5000;

// SIGTERM/SIGINT are handled from here on, also while the start is still running (a container
// stopped right after it was started): the start is stopped before it listens, and the process
// exits 0. Once serving, a signal drains (CONTRACT "Health and shutdown"; start.ts `shutdown`):
// /readyz 503 and new requests 503 at once, requests in flight get SHUTDOWN_GRACE_SECONDS, the
// request log is flushed, exit 0 (1 only when closing itself fails or hangs). A second signal ends
// the grace at once (open streams get their error frame, the log is still flushed); a third exits
// at once (1).
const stopStart = new AbortController();
let running: RunningGateway | null = null;
let signals = 0;
let stopSignal: NodeJS.Signals | null = null;
let windDown: NodeJS.Timeout | null = null;

function onSignal(signal: NodeJS.Signals): void {
  signals++;
  if (!running) {
    if (signals > 1) {
      log.warn({ signal }, 'second signal while starting: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'signal while starting: stopping before serving');
    stopSignal = signal;
    stopStart.abort();
    // The start stops at its next step; one still waiting on storage or Redis is not waited for long.
    windDown = setTimeout(() => {
      log.warn('the start did not wind down in time: exiting');
      process.exit(0);
    }, START_WIND_DOWN_MS);
    windDown.unref();
    return;
  }
  drain(running, signal);
}

function drain(gw: RunningGateway, signal: NodeJS.Signals): void {
  if (signals === 2) {
    log.warn({ signal }, 'second signal: ending the shutdown grace now');
    gw.gateway.lifecycle.expire();
    return;
  }
  if (signals > 2) {
    log.warn({ signal }, 'third signal: exiting now');
    process.exit(1);
  }
  const graceMs = config.shutdownGraceMs;
  log.info({ signal, graceSeconds: graceMs / 1000, inFlight: gw.gateway.lifecycle.inFlight }, 'shutting down: draining');
  // Closing must not hang the process: the grace, the last frames and the log flush get 15 s more.
  const force = setTimeout(() => {
    log.error('shutdown did not finish in time: exiting');
    process.exit(1);
  }, graceMs + 15_000);
  force.unref();
  gw.shutdown(graceMs).then(
    () => {
      log.info('shut down');
      process.exit(0);
    },
    (err) => {
      log.error({ err }, `shutdown failed: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}

process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

startGateway(config, log, { stop: stopStart.signal })
  .then((started) => {
    running = started;
    if (stopSignal) {
      // The signal came while it was already binding the port: drain as if it had come just after.
      if (windDown) clearTimeout(windDown);
      drain(started, stopSignal);
      return;
    }
  })
  .catch((err) => {
    if (stopStart.signal.aborted) {
      // Asked to stop while starting: whatever the start ran into then, stopping is what was asked.
      if (!(err instanceof StartCancelled)) log.warn({ err: (err as Error).message }, 'the start failed while stopping');
      log.info('stopped before serving');
      process.exit(0);
    }
    const line = explainStartError(err, config);
    if (line) refuse('could not start', line);
    log.fatal({ err }, `could not start: ${(err as Error).message}`);
    process.exit(1);
  });
