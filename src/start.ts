import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { Gateway } from './gateway.js';
import { buildServer } from './server.js';
import { StartupProblem } from './startup.js';
import { ConfigFileError, applyConfigFile, describeChange } from './admin/config.js';

export interface RunningGateway {
  gateway: Gateway;
  app: FastifyInstance;
  /** http://host:port */
  url: string;
  port: number;
  /** Stops at once: every open connection is cut, then storage is closed (tests, a failed start). */
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM/SIGINT, CONTRACT "Health and shutdown"): `/readyz` turns 503 and new
   * requests get 503 at once; requests in flight run on for up to `graceMs`, then open streams end
   * with an error frame and requests still waiting get 503; then the app stops listening and the
   * request log is flushed before storage closes. Rejects only when closing itself fails.
   * `gateway.lifecycle.expire()` ends the grace early (a second signal).
   */
  shutdown(graceMs: number): Promise<void>;
}

/** After the grace: how long the requests cut short get to write their last frame before their sockets are destroyed. */
const AFTER_GRACE_MS = 2000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** `startGateway` was stopped (SIGTERM/SIGINT during the start) before it listened; storage is closed again. */
export class StartCancelled extends Error {
  constructor() {
    super('stopped before serving');
  }
}

/**
 * CONTRACT "Configuration as data": CONFIG_FILE is applied at every start, before the gateway
 * listens. A file that cannot be applied stops the start in one line naming the field (exit 2).
 */
async function applyStartConfig(gateway: Gateway, config: Config, env: Record<string, string | undefined>, log: FastifyBaseLogger): Promise<void> {
  const file = config.configFile!;
  try {
    const result = await applyConfigFile(gateway, file, env, config.configPrune);
    const summary = result.changes.map(describeChange);
    log.info({ file, changes: result.changes.length, prune: config.configPrune }, result.changes.length ? `CONFIG_FILE applied: ${summary.join('; ')}` : 'CONFIG_FILE applied: nothing to change');
    for (const k of result.createdKeys) {
      // Its secret is not logged: nobody will ever see it.
      log.warn({ key: k.name }, `CONFIG_FILE created access key "${k.name}" with a secret nobody has seen: give it \`key: \${SOME_ENV_VAR}\` in the file (sk-apg- and 22 or more random characters), or make a new key in the UI`);
    }
  } catch (err) {
    if (err instanceof ConfigFileError) throw new StartupProblem(err.message);
    throw err;
  }
}

/**
 * Opens storage, builds the app and listens. Used by main and by the tests. `stop` (main: a signal
 * during the start) is looked at between the steps: once it is aborted, what was opened is closed
 * and the start rejects with StartCancelled instead of listening.
 */
export async function startGateway(config: Config, log: FastifyBaseLogger, opts: { stop?: AbortSignal; env?: Record<string, string | undefined> } = {}): Promise<RunningGateway> {
  if (opts.stop?.aborted) throw new StartCancelled();
  const gateway = await Gateway.open(config, log);
  let app: FastifyInstance | null = null;
  try {
    if (opts.stop?.aborted) throw new StartCancelled();
    if (config.configFile) await applyStartConfig(gateway, config, opts.env ?? process.env, log);
    if (opts.stop?.aborted) throw new StartCancelled();
    app = await buildServer(gateway, log as FastifyInstance['log']);
    if (opts.stop?.aborted) throw new StartCancelled();
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app?.close().catch(() => {});
    await gateway.close().catch(() => {});
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  gateway.lifecycle.serving();
  log.info({ url, storage: gateway.db.describe }, `API Pool Gateway listening on ${url} (storage: ${gateway.db.describe})`);
  return {
    gateway,
    app,
    url,
    port,
    async close() {
      gateway.lifecycle.beginDrain();
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
      await gateway.close();
    },
    async shutdown(graceMs: number) {
      const lifecycle = gateway.lifecycle;
      lifecycle.beginDrain();
      // Kept-alive connections waiting for a next request are closed now; the others close after
      // their answer (`connection: close`), and any request they still send gets 503.
      app.server.closeIdleConnections();
      const grace = setTimeout(() => lifecycle.expire(), graceMs);
      const graceOver = new Promise<void>((resolve) => lifecycle.expired.addEventListener('abort', () => resolve(), { once: true }));
      const closeIdle = () => app.server.closeIdleConnections();
      const watch = setInterval(closeIdle, 250); // a stream that just ended leaves its socket idle
      try {
        if (lifecycle.inFlight > 0) {
          log.info({ inFlight: lifecycle.inFlight, graceSeconds: graceMs / 1000 }, 'draining: waiting for the requests in flight');
        }
        await Promise.race([lifecycle.idle(), graceOver.then(() => Promise.race([lifecycle.idle(), sleep(AFTER_GRACE_MS)]))]);
      } finally {
        clearTimeout(grace);
        clearInterval(watch);
      }
      if (lifecycle.inFlight > 0) {
        // Stuck past the grace (a client not reading, a slow admin call): cut.
        log.warn({ inFlight: lifecycle.inFlight }, 'shutdown grace over: closing the connections still open');
        app.server.closeAllConnections();
        await sleep(100); // their relays record the cut requests
      }
      // Stop listening; sockets still open now are idle or about to close.
      const closing = app.close();
      const cut = setTimeout(() => app.server.closeAllConnections(), AFTER_GRACE_MS);
      try {
        await closing;
      } finally {
        clearTimeout(cut);
      }
      // Flushes the request log (rows of every request that ended, the drained ones included), then closes storage.
      await gateway.close();
    },
  };
}
