import net from 'node:net';
import path from 'node:path';
import { MAX_UPSTREAM_BODY_BYTES } from './upstream/read.js';

/** Every setting the gateway reads from the environment, read once and typed. */
export interface Config {
  port: number;
  host: string;
  adminPassword: string;
  defaultCooldownSeconds: number;
  /** MAX_COOLDOWN_SECONDS (default 900): ceiling of an escalated cooldown and of a Retry-After. */
  maxCooldownSeconds: number;
  /** MAX_ATTEMPTS (default 6, integer ≥ 1): members tried at most for one request. */
  maxAttempts: number;
  virtualModels: { tool: string; normal: string; advanced: string };
  dataDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  /** Prefix of every Redis key and channel (REDIS_KEY_PREFIX), so several gateways can share one Redis. */
  redisKeyPrefix: string;
  connectTimeoutMs: number;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  maxBodyBytes: number;
  logLevel: string;
  /**
   * LOG_FORMAT: `json` (one JSON line per event, for log collectors), `pretty` (one readable line per
   * event, coloured on a terminal), or `auto` (unset: pretty when stdout is a terminal, else json).
   */
  logFormat: 'json' | 'pretty' | 'auto';
  /** Silence on an open stream after which the client gets a keep-alive frame (KEEPALIVE_SECONDS, default 15). */
  keepAliveMs: number;
  /** METRICS_PUBLIC=1: /metrics without the admin token. */
  metricsPublic: boolean;
  /** ADMIN_PASSWORD was set in the environment to something other than the default: it wins over a stored one. */
  adminPasswordFromEnv: boolean;
  /** SECRET_KEY (≥ 32 characters): seals provider keys at rest. Null: a key file in DATA_DIR (SQLite only). */
  secretKey: string | null;
  /** ALLOWED_HOSTS: extra DNS names the gateway answers to (lower case); IP literals and localhost always pass. */
  allowedHosts: string[];
  /** ALLOWED_HOSTS contains `*`: any Host header passes. */
  allowAnyHost: boolean;
  /** TRUST_PROXY: proxy addresses (IPs / CIDRs) whose X-Forwarded-For names the real client; empty: none. */
  trustProxy: string[];
  /** REQUEST_TIMEOUT_SECONDS: a client that has not sent its whole request by then gets 408. */
  requestTimeoutMs: number;
  /** SHUTDOWN_GRACE_SECONDS (default 30, ≥ 0): on SIGTERM/SIGINT, how long requests in flight may still run. */
  shutdownGraceMs: number;
  /**
   * An upstream answer read whole (non-streamed) larger than this is the member's failure: 64 MB
   * (MAX_UPSTREAM_BODY_BYTES). Not an environment variable; only tests lower it.
   */
  maxUpstreamBodyBytes: number;
  /** CONFIG_FILE: a configuration document (YAML or JSON, `${ENV}` substituted) applied at every start; null: none. */
  configFile: string | null;
  /** CONFIG_PRUNE=1: applying CONFIG_FILE also removes what it does not name (in the parts it has). */
  configPrune: boolean;
}

export const DEFAULT_ADMIN_PASSWORD = 'admin123';

type Env = Record<string, string | undefined>;

function num(env: Env, name: string, fallback: number, { min = 0, integer = false } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${raw}"`);
  }
  return n;
}

function str(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
}

function optional(env: Env, name: string): string | null {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? null : raw.trim();
}

/** Reads the configuration; throws with the variable's name when a value is unusable. */
export function loadConfig(env: Env = process.env): Config {
  const virtualModels = {
    tool: str(env, 'VIRTUAL_MODEL_TOOL', 'haiku').toLowerCase(),
    normal: str(env, 'VIRTUAL_MODEL_NORMAL', 'sonnet').toLowerCase(),
    advanced: str(env, 'VIRTUAL_MODEL_ADVANCED', 'opus').toLowerCase(),
  };
  const names = Object.values(virtualModels);
  if (new Set(names).size !== names.length) {
    throw new Error(`VIRTUAL_MODEL_TOOL/NORMAL/ADVANCED must differ, got ${names.join(', ')}`);
  }
  const databaseUrl = optional(env, 'DATABASE_URL');
  const secret = secretKey(env);
  if (databaseUrl && !secret) {
    // the same words as openSealer's refusal, but at configuration time: exit code 2, like every bad setting
    throw new Error(
      'SECRET_KEY is required with DATABASE_URL: it encrypts the provider keys stored in the shared database, '
      + 'and every replica must be given the same SECRET_KEY (any string of 32 or more characters, e.g. from `openssl rand -base64 33`)',
    );
  }
  return {
    port: port(env),
    host: str(env, 'HOST', '127.0.0.1'),
    adminPassword: env.ADMIN_PASSWORD !== undefined && env.ADMIN_PASSWORD !== '' ? env.ADMIN_PASSWORD : DEFAULT_ADMIN_PASSWORD,
    defaultCooldownSeconds: num(env, 'DEFAULT_COOLDOWN_SECONDS', 60),
    maxCooldownSeconds: num(env, 'MAX_COOLDOWN_SECONDS', 900),
    maxAttempts: num(env, 'MAX_ATTEMPTS', 6, { min: 1, integer: true }),
    virtualModels,
    dataDir: path.resolve(str(env, 'DATA_DIR', './data')),
    databaseUrl,
    redisUrl: optional(env, 'REDIS_URL'),
    redisKeyPrefix: str(env, 'REDIS_KEY_PREFIX', 'apg:'),
    connectTimeoutMs: num(env, 'UPSTREAM_CONNECT_TIMEOUT_SECONDS', 10, { min: 0.001 }) * 1000,
    firstByteTimeoutMs: num(env, 'UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS', 60, { min: 0.001 }) * 1000,
    idleTimeoutMs: num(env, 'UPSTREAM_IDLE_TIMEOUT_SECONDS', 120, { min: 0.001 }) * 1000,
    totalTimeoutMs: num(env, 'UPSTREAM_TIMEOUT_SECONDS', 600, { min: 0.001 }) * 1000,
    maxBodyBytes: Math.floor(num(env, 'MAX_BODY_MB', 32, { min: 0.001 }) * 1024 * 1024),
    logLevel: logLevel(str(env, 'LOG_LEVEL', 'info')),
    logFormat: logFormat(str(env, 'LOG_FORMAT', 'auto')),
    keepAliveMs: num(env, 'KEEPALIVE_SECONDS', 15, { min: 0.05 }) * 1000,
    metricsPublic: /^(1|true|yes)$/i.test(env.METRICS_PUBLIC ?? ''),
    adminPasswordFromEnv: env.ADMIN_PASSWORD !== undefined && env.ADMIN_PASSWORD !== '' && env.ADMIN_PASSWORD !== DEFAULT_ADMIN_PASSWORD,
    secretKey: secret,
    ...allowedHosts(env),
    trustProxy: trustProxy(env),
    requestTimeoutMs: num(env, 'REQUEST_TIMEOUT_SECONDS', 60, { min: 1 }) * 1000,
    shutdownGraceMs: num(env, 'SHUTDOWN_GRACE_SECONDS', 30, { min: 0 }) * 1000,
    maxUpstreamBodyBytes: MAX_UPSTREAM_BODY_BYTES,
    configFile: optional(env, 'CONFIG_FILE') === null ? null : path.resolve(optional(env, 'CONFIG_FILE')!),
    configPrune: flagEnv(env, 'CONFIG_PRUNE'),
  };
}

function flagEnv(env: Env, name: string): boolean {
  const raw = (env[name] ?? '').trim();
  if (raw === '' || /^(0|false|no)$/i.test(raw)) return false;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  throw new Error(`${name} must be 1 or 0 (true or false), got "${raw}"`);
}

function port(env: Env): number {
  const raw = env.API_PORT;
  if (raw === undefined || raw.trim() === '') return 8899;
  const p = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || p > 65535) {
    throw new Error(`API_PORT must be a port number from 1 to 65535 (0: any free port), got "${raw}"`);
  }
  return p;
}

function secretKey(env: Env): string | null {
  const raw = env.SECRET_KEY;
  if (raw === undefined || raw === '') return null;
  if (raw.length < 32) throw new Error(`SECRET_KEY must be at least 32 characters (it encrypts provider keys), got ${raw.length}`);
  return raw;
}

function allowedHosts(env: Env): { allowedHosts: string[]; allowAnyHost: boolean } {
  const list = (env.ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  for (const h of list) {
    if (h !== '*' && !/^(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?$/.test(h)) {
      throw new Error(`ALLOWED_HOSTS must be a comma list of host names (without port or scheme), "*.domain" or "*", got "${h}"`);
    }
  }
  return { allowedHosts: list.filter((h) => h !== '*').map((h) => h.replace(/\.$/, '')), allowAnyHost: list.includes('*') };
}

function trustProxy(env: Env): string[] {
  const list = (env.TRUST_PROXY ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  for (const entry of list) {
    const [addr, bits, extra] = entry.split('/');
    const family = net.isIP(addr);
    const max = family === 4 ? 32 : 128;
    const okBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max);
    if (family === 0 || !okBits || extra !== undefined) {
      throw new Error(`TRUST_PROXY must be a comma list of IP addresses or CIDR ranges (e.g. 10.0.0.1,172.16.0.0/12), got "${entry}"`);
    }
  }
  return list;
}

const LOG_FORMATS = ['json', 'pretty', 'auto'] as const;

function logFormat(value: string): Config['logFormat'] {
  const v = value.toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(v)) throw new Error(`LOG_FORMAT must be json or pretty (unset: pretty on a terminal, else json), got "${value}"`);
  return v as Config['logFormat'];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(value: string): string {
  const v = value.toLowerCase();
  if (!LOG_LEVELS.includes(v)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  return v;
}
