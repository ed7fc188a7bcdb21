import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/start.js';

export const ADMIN = 'test-admin-password';

export interface TestGateway extends RunningGateway {
  dataDir: string;
  env: Record<string, string>;
  admin(method: string, p: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any; headers: Headers }>;
}

/** Starts the real gateway on a free loopback port with its own data folder (`log`: to read its process log). */
export async function startTestGateway(env: Record<string, string> = {}, dataDir?: string, logger?: pino.Logger): Promise<TestGateway> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'apg-test-'));
  const fullEnv = {
    API_PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_PASSWORD: ADMIN,
    DATA_DIR: dir,
    DEFAULT_COOLDOWN_SECONDS: '60',
    ...env,
  };
  const config = loadConfig(fullEnv);
  const log = logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const running = await startGateway(config, log);
  return {
    ...running,
    dataDir: dir,
    env: fullEnv,
    async admin(method, p, body, token = ADMIN) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(running.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: any = text;
      try { parsed = text ? JSON.parse(text) : null; } catch { /* keep text */ }
      return { status: res.status, body: parsed, headers: res.headers };
    },
  };
}

/** Adds a provider and puts the given models into a pool; returns the provider and member ids. */
export async function addProvider(
  gw: TestGateway,
  p: { name: string; baseUrl: string; format: 'openai' | 'anthropic'; apiKey?: string; cooldownSeconds?: number; options?: object },
  pool: 'tool' | 'normal' | 'advanced',
  models: string[],
): Promise<{ providerId: number; memberIds: number[] }> {
  const created = await gw.admin('POST', '/admin/providers', { apiKey: 'sk-test-key-123456', ...p });
  if (created.status !== 201) throw new Error(`add provider: ${created.status} ${JSON.stringify(created.body)}`);
  const added = await gw.admin('POST', `/admin/pools/${pool}/members`, { providerId: created.body.id, models });
  if (added.status !== 201) throw new Error(`add members: ${added.status} ${JSON.stringify(added.body)}`);
  return { providerId: created.body.id, memberIds: added.body.members.map((m: any) => m.id) };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: any = text;
  try { parsed = JSON.parse(text); } catch { /* SSE or text */ }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

export async function getPools(gw: TestGateway): Promise<any[]> {
  const r = await gw.admin('GET', '/admin/pools');
  return r.body.pools;
}

export function memberOf(pools: any[], id: number): any {
  for (const p of pools) for (const m of p.members) if (m.id === id) return m;
  return undefined;
}

export const anthropicBody = (model = 'sonnet', extra: object = {}) => ({
  model,
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

export const openaiBody = (model = 'sonnet', extra: object = {}) => ({
  model,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});
