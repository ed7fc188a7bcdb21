import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { Gateway } from './gateway.js';
import { buildServer } from './server.js';

export interface RunningGateway {
  gateway: Gateway;
  app: FastifyInstance;
  /** http://host:port */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Opens storage, builds the app and listens. Used by main and by the tests. */
export async function startGateway(config: Config, log: FastifyBaseLogger): Promise<RunningGateway> {
  const gateway = await Gateway.open(config, log);
  let app: FastifyInstance;
  try {
    app = await buildServer(gateway, log as FastifyInstance['log']);
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await gateway.close().catch(() => {});
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  log.info({ url, storage: gateway.db.describe }, `API Pool Gateway listening on ${url} (storage: ${gateway.db.describe})`);
  return {
    gateway,
    app,
    url,
    port,
    async close() {
      await app.close();
      await gateway.close();
    },
  };
}
