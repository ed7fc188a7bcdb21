/**
 * The outside services some tests need: PostgreSQL and Redis (real servers) and Chromium (the UI
 * tests). `test/global-setup.ts` probes each once per run (a quick connect with a short timeout),
 * hands the result to every test file (`inject('services')`), and says once, at the end, what was
 * skipped and what to install. A test file that needs one wraps its suites in
 * `describe.skipIf(missing('postgres'))` (`needs.ts`). With APG_REQUIRE_ALL=1 (`.ci/run` sets it) a missing
 * service fails the run instead.
 */
import fs from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { PG_ADMIN_URL } from './postgres.js';

export type Service = 'postgres' | 'redis' | 'chromium';

/** Per service: null when it answered, else why not (one short sentence). */
export type ServiceStatus = Record<Service, string | null>;

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export { PG_ADMIN_URL };

/** What each service is for, where it is looked for, and how to get it (Debian package names, as in .ci/run). */
export const SERVICES: Record<Service, { name: string; tests: string; where: () => string; install: string }> = {
  postgres: {
    name: 'PostgreSQL',
    tests: 'test/integration/replicas.test.ts, the PostgreSQL part of test/integration/provider-keys.test.ts',
    where: () => PG_ADMIN_URL.replace(/:[^:@/]*@/, ':***@'),
    install: 'apt-get install postgresql, and let user postgres connect from 127.0.0.1 without a password and create databases '
      + '(pg_hba.conf: host all postgres 127.0.0.1/32 trust); or point TEST_PG_URL at such a server',
  },
  redis: {
    name: 'Redis',
    tests: 'test/integration/replicas.test.ts',
    where: () => REDIS_URL,
    install: 'apt-get install redis-server; or point TEST_REDIS_URL at a Redis',
  },
  chromium: {
    name: 'Chromium',
    tests: 'test/e2e/*.test.ts (the admin UI in Chromium)',
    where: () => CHROMIUM_PATH,
    install: 'apt-get install chromium (and fonts-noto-cjk for legible Chinese screenshots); or set CHROMIUM_PATH',
  },
};

const errText = (err: unknown) => {
  const e = err as NodeJS.ErrnoException & { errors?: Error[] };
  const code = e.code ?? (e.errors?.[0] as NodeJS.ErrnoException | undefined)?.code;
  return code ? `${code}${e.message && !e.message.includes(String(code)) ? `: ${e.message}` : ''}` : (e.message || String(err));
};

/** Connects, runs `SELECT 1`, disconnects. */
export async function probePostgres(url = PG_ADMIN_URL, timeoutMs = 2000): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    return `nothing usable answers at ${url.replace(/:[^:@/]*@/, ':***@')} (${errText(err)})`;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Connects and sends PING, without retrying. */
export async function probeRedis(url = REDIS_URL, timeoutMs = 2000): Promise<string | null> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, enableReadyCheck: false });
  let first: unknown = null; // the socket's own error (ECONNREFUSED…); connect() only says "Connection is closed."
  r.on('error', (err) => { first ??= err; });
  try {
    await r.connect();
    const pong = await r.ping();
    return pong === 'PONG' ? null : `${url} answered PING with ${pong}`;
  } catch (err) {
    return `nothing usable answers at ${url} (${errText(first ?? err)})`;
  } finally {
    r.disconnect();
  }
}

export function probeChromium(file = CHROMIUM_PATH): string | null {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return null;
  } catch (err) {
    return `${file} is not there (${errText(err)})`;
  }
}

export async function probeAll(timeoutMs = 2000): Promise<ServiceStatus> {
  const [postgres, redis] = await Promise.all([probePostgres(PG_ADMIN_URL, timeoutMs), probeRedis(REDIS_URL, timeoutMs)]);
  return { postgres, redis, chromium: probeChromium() };
}

/**
 * The run's verdict on the services: null when every one answered; else the text to show once,
 * or (with `requireAll`) an Error to fail the run with.
 */
export function servicesReport(status: ServiceStatus, requireAll: boolean): { text: string; fail: boolean } | null {
  const absent = (Object.keys(status) as Service[]).filter((s) => status[s] !== null);
  if (absent.length === 0) return null;
  const lines = absent.map((s) => `  - ${SERVICES[s].name}: ${status[s]}.\n      skipped: ${SERVICES[s].tests}\n      to run them: ${SERVICES[s].install}`);
  const head = requireAll
    ? 'APG_REQUIRE_ALL=1: every test must run, but these services are missing:'
    : 'SKIPPED: tests that need a service this machine does not have (the rest of the run does not need them):';
  const tail = requireAll ? '' : '\n  Set APG_REQUIRE_ALL=1 to make a missing service fail the run (.ci/run does).';
  return { text: `${head}\n${lines.join('\n')}${tail}`, fail: requireAll };
}

export const requireAll = () => /^(1|true|yes)$/i.test(process.env.APG_REQUIRE_ALL ?? '');
