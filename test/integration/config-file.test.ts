/**
 * CONFIG_FILE on the real process (`node --import tsx src/main.ts`): a YAML or JSON document,
 * `${ENV}` substituted in its strings, applied at every start before the gateway listens. A file
 * that cannot be applied stops the start with one stderr line naming the file and the field, exit
 * code 2, and changes nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN } from '../helpers/gateway.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Settings of the gateway that must not leak from the test's environment into the child. */
const GATEWAY_ENV = /^(API_PORT|HOST|ADMIN_PASSWORD|DATA_DIR|DATABASE_URL|REDIS_URL|SECRET_KEY|LOG_LEVEL|LOG_FORMAT|NO_COLOR|CONFIG_FILE|CONFIG_PRUNE|APG_TEST_.*)$/;
const T = 30_000;

interface Run {
  proc: ChildProcess;
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** The gateway's URL once it listens; rejects if it exits first. */
  listening(): Promise<string>;
}

const runs: Run[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill('SIGKILL');
      await r.exited;
    }
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apg-config-file-'));
  dirs.push(dir);
  return dir;
}

function start(env: Record<string, string>): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !GATEWAY_ENV.test(k)));
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...base, HOST: '127.0.0.1', API_PORT: '0', ADMIN_PASSWORD: ADMIN, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const r: Run = {
    proc,
    exited,
    stdout: () => out,
    stderr: () => err,
    listening: () => new Promise<string>((resolve, reject) => {
      const look = () => {
        const m = /listening on (http:\/\/[^\s"]+)/.exec(out);
        if (m) {
          proc.stdout!.off('data', look);
          resolve(m[1]!);
        }
      };
      proc.stdout!.on('data', look);
      look();
      exited.then(() => setImmediate(() => reject(new Error(`exited without listening:\n${out}\n${err}`))));
    }),
  };
  runs.push(r);
  return r;
}

async function stop(r: Run): Promise<void> {
  r.proc.kill('SIGTERM');
  expect(await r.exited).toBe(0);
}

async function admin(url: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(url + p, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  expect(res.status, `${method} ${p}`).toBeLessThan(300);
  return res.status === 204 ? null : res.json();
}

/** Exit code 2, one line on stderr (returned), never listening. */
async function refused(r: Run): Promise<string> {
  const code = await r.exited;
  const lines = r.stderr().split('\n').filter((l) => l.trim() !== '');
  expect({ code, lines }).toMatchObject({ code: 2, lines: [expect.any(String)] });
  expect(r.stdout()).not.toContain('listening on');
  return lines[0]!;
}

const CLIENT_KEY = 'sk-apg-0123456789abcdef0123456789abcdef';

const FILE = `# the gateway's setup, kept in git; keys come from the environment
providers:
  - name: deepseek
    baseUrl: \${APG_TEST_UPSTREAM:-https://api.deepseek.com}
    format: openai
    apiKey: \${APG_TEST_DEEPSEEK_KEY}
    enabled: true
    options: {maxTokensCap: 8192}
pools:
  tool:
    affinity: none
    members:
      - {provider: deepseek, model: deepseek-chat, weight: 2}
accessKeys:
  - name: ci
    key: \${APG_TEST_CLIENT_KEY}
    rpm: 60
settings:
  logRetentionDays: 9
`;

describe('CONFIG_FILE', () => {
  it('is applied at every start, ${ENV} substituted: a compose file plus its secrets is the whole setup', { timeout: 3 * T }, async () => {
    const dir = tempDir();
    const file = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(file, FILE);
    const env = { DATA_DIR: path.join(dir, 'data'), CONFIG_FILE: file, APG_TEST_DEEPSEEK_KEY: 'sk-deepseek-from-env-0001', APG_TEST_CLIENT_KEY: CLIENT_KEY };

    const first = start(env);
    let url = await first.listening();
    expect(first.stdout()).toContain('CONFIG_FILE applied: update settings (logRetentionDays); create provider deepseek; update pool tool (affinity); create member tool/deepseek/deepseek-chat; create accessKey ci');
    let doc = await admin(url, 'GET', '/admin/config?secrets=true');
    expect(doc.providers).toEqual([{ name: 'deepseek', baseUrl: 'https://api.deepseek.com', format: 'openai', apiKey: 'sk-deepseek-from-env-0001', enabled: true, cooldownSeconds: null, options: { maxTokensCap: 8192 } }]);
    expect(doc.pools.tool).toEqual({ affinity: 'none', members: [{ provider: 'deepseek', model: 'deepseek-chat', enabled: true, weight: 2, contextWindow: null, vision: null }] });
    expect(doc.accessKeys).toEqual([{ name: 'ci', pools: ['tool', 'normal', 'advanced'], rpm: 60, maxConcurrent: null, expiresAt: null, enabled: true }]);
    expect(doc.settings.logRetentionDays).toBe(9);
    // the client key from the environment is the access key
    expect((await fetch(`${url}/v1/models`, { headers: { 'x-api-key': CLIENT_KEY } })).status).toBe(200);
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    // a change made in the UI…
    const provider = (await admin(url, 'GET', '/admin/providers')).providers[0];
    await admin(url, 'PATCH', `/admin/providers/${provider.id}`, { enabled: false });
    await stop(first);

    // …is put back by the next start; a new key in the environment is taken, the rest is unchanged
    const second = start({ ...env, APG_TEST_DEEPSEEK_KEY: 'sk-deepseek-rotated-0002', APG_TEST_UPSTREAM: 'https://api.deepseek.com/v1/' });
    url = await second.listening();
    const applied = second.stdout().split('\n').find((l) => l.includes('CONFIG_FILE applied'))!;
    expect(JSON.parse(applied).msg).toBe('CONFIG_FILE applied: update provider deepseek (baseUrl, enabled, apiKey)');
    doc = await admin(url, 'GET', '/admin/config?secrets=true');
    expect(doc.providers[0]).toMatchObject({ baseUrl: 'https://api.deepseek.com/v1', enabled: true, apiKey: 'sk-deepseek-rotated-0002' });
    expect(doc.pools.tool.members).toHaveLength(1);
    await stop(second);

    // the same file again: nothing to change
    const third = start({ ...env, APG_TEST_DEEPSEEK_KEY: 'sk-deepseek-rotated-0002', APG_TEST_UPSTREAM: 'https://api.deepseek.com/v1/' });
    await third.listening();
    expect(third.stdout()).toContain('CONFIG_FILE applied: nothing to change');
    // the secrets from the environment never reach the log
    for (const r of [first, second, third]) {
      for (const s of ['sk-deepseek-from-env-0001', 'sk-deepseek-rotated-0002', CLIENT_KEY]) expect(r.stdout() + r.stderr()).not.toContain(s);
    }
    await stop(third);
  });

  it('a bad file stops the start: exit 2, one line naming the file and the field, nothing changed', { timeout: 3 * T }, async () => {
    const dir = tempDir();
    const good = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(good, FILE);
    const env = { DATA_DIR: path.join(dir, 'data'), APG_TEST_DEEPSEEK_KEY: 'sk-deepseek-from-env-0001', APG_TEST_CLIENT_KEY: CLIENT_KEY };
    const first = start({ ...env, CONFIG_FILE: good });
    const url = await first.listening();
    const before = await admin(url, 'GET', '/admin/config?secrets=true');
    await stop(first);

    // JSON too: a good change next to a bad field is not applied either
    const bad = path.join(dir, 'gateway.json');
    fs.writeFileSync(bad, JSON.stringify({ settings: { logRetentionDays: 30 }, providers: [{ name: 'deepseek', baseUrl: 'ftp://api.deepseek.com', format: 'openai' }] }));
    const line = await refused(start({ ...env, CONFIG_FILE: bad }));
    expect(line).toBe(`could not start: CONFIG_FILE ${bad}: providers[0].baseUrl: must be an http:// or https:// URL`);

    const typo = path.join(dir, 'typo.yaml');
    fs.writeFileSync(typo, 'providers:\n  - name: deepseek\n    baseUrl: https://api.deepseek.com\n    format: openai\n    api_key: x\n');
    expect(await refused(start({ ...env, CONFIG_FILE: typo }))).toContain(`CONFIG_FILE ${typo}: unknown field providers[0].api_key: did you mean providers[0].apiKey?`);

    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'providers:\n  - name: a\n   baseUrl: x\n');
    expect(await refused(start({ ...env, CONFIG_FILE: broken }))).toMatch(new RegExp(`^could not start: CONFIG_FILE ${broken}: is not valid YAML or JSON: line \\d+`));

    expect(await refused(start({ ...env, CONFIG_FILE: path.join(dir, 'missing.yaml') }))).toContain('cannot be read (ENOENT)');

    // started without CONFIG_FILE: everything as the good file left it
    const after = start(env);
    const url2 = await after.listening();
    expect(await admin(url2, 'GET', '/admin/config?secrets=true')).toEqual(before);
    await stop(after);
  });

  it('a variable the file uses that is not set: exit 2, naming the variable and the field', { timeout: T }, async () => {
    const dir = tempDir();
    const file = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(file, FILE);
    const line = await refused(start({ DATA_DIR: path.join(dir, 'data'), CONFIG_FILE: file, APG_TEST_CLIENT_KEY: CLIENT_KEY }));
    expect(line).toBe(`could not start: CONFIG_FILE ${file}: providers[0].apiKey: environment variable APG_TEST_DEEPSEEK_KEY is not set (it is used as \${APG_TEST_DEEPSEEK_KEY}): set it, or write \${APG_TEST_DEEPSEEK_KEY:-default}`);
    // nothing was created
    const plain = start({ DATA_DIR: path.join(dir, 'data') });
    const url = await plain.listening();
    expect((await admin(url, 'GET', '/admin/config')).providers).toEqual([]);
    await stop(plain);
  });

  it('CONFIG_PRUNE=1 also removes what the file does not name', { timeout: 2 * T }, async () => {
    const dir = tempDir();
    const file = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(file, FILE);
    const env = { DATA_DIR: path.join(dir, 'data'), CONFIG_FILE: file, APG_TEST_DEEPSEEK_KEY: 'sk-deepseek-from-env-0001', APG_TEST_CLIENT_KEY: CLIENT_KEY };
    const first = start(env);
    const url = await first.listening();
    await admin(url, 'POST', '/admin/providers', { name: 'made-in-the-ui', baseUrl: 'https://h.example.com', format: 'anthropic' });
    await stop(first);
    const kept = start(env);
    expect((await admin(await kept.listening(), 'GET', '/admin/config')).providers.map((p: any) => p.name)).toEqual(['deepseek', 'made-in-the-ui']);
    await stop(kept);
    const pruned = start({ ...env, CONFIG_PRUNE: '1' });
    const url3 = await pruned.listening();
    expect(pruned.stdout()).toContain('delete provider made-in-the-ui');
    expect((await admin(url3, 'GET', '/admin/config')).providers.map((p: any) => p.name)).toEqual(['deepseek']);
    await stop(pruned);
  });
});
