/**
 * The READMEs' runnable parts, run as a reader would run them, in both languages: the admin API
 * walkthrough (a bash script, driven by $ADMIN_PASSWORD, that stops at a failed login) and the
 * Anthropic SDK example (create, stream, count tokens), against the real gateway and a stand-in
 * provider.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, ADMIN, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const READMES = ['README.md', 'README.zh-CN.md'];
const T = 30_000;

/** The fenced code blocks of a Markdown file: language and text. */
function codeBlocks(file: string): { lang: string; code: string }[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], code: m[2] }));
}

/** The one block of `lang` containing `marker`. */
function block(file: string, lang: string, marker: string): string {
  const found = codeBlocks(file).filter((b) => b.lang === lang && b.code.includes(marker));
  expect(found, `${file}: one \`\`\`${lang} block with ${marker}`).toHaveLength(1);
  return found[0].code;
}

/** The code without its comments and blank lines (the languages differ only there). */
const codeOnly = (code: string, comment: RegExp) => code.split('\n').filter((l) => l.trim() !== '' && !comment.test(l.trim())).join('\n');

function run(command: string, args: string[], env: Record<string, string>, cwd = ROOT): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'apg-readme-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('README: the admin API walkthrough', () => {
  it('is the same script in both languages (comments aside)', () => {
    const [en, zh] = READMES.map((f) => codeOnly(block(f, 'bash', '/admin/login'), /^#/));
    expect(zh).toBe(en);
  });

  for (const file of READMES) {
    describe(file, () => {
      let up: Upstream;
      let gw: TestGateway;
      let script: string;
      beforeAll(async () => {
        up = await startUpstream({ format: 'anthropic', name: 'relay-a', models: ['claude-sonnet-4-5', 'kimi-k2'] });
        gw = await startTestGateway();
        script = path.join(tmp, `walkthrough-${file}.sh`);
        fs.writeFileSync(script, block(file, 'bash', '/admin/login'));
      }, T);
      afterAll(async () => {
        await gw?.close();
        await up?.close();
      });
      const env = () => ({ GW: gw.url, PROVIDER_URL: up.url, PROVIDER_KEY: 'sk-test-key-123456', PROVIDER_FORMAT: 'anthropic', MODEL_A: 'claude-sonnet-4-5', MODEL_B: 'kimi-k2' });

      it('a wrong ADMIN_PASSWORD stops it at the login, saying so; nothing is created', async () => {
        const r = await run('bash', [script], { ...env(), ADMIN_PASSWORD: 'not-the-password' });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("login failed: set ADMIN_PASSWORD to the gateway's admin password");
        expect(r.stdout).not.toContain('undefined');
        expect((await gw.admin('GET', '/admin/providers')).body.providers).toEqual([]);
        expect(up.requests).toEqual([]);
      }, T);

      it('with the gateway\'s ADMIN_PASSWORD it runs to the end: provider, two members, a key, requests routed and refused', async () => {
        const r = await run('bash', [script], { ...env(), ADMIN_PASSWORD: ADMIN });
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
        expect(r.stdout).toMatch(/x-gateway-provider: relay-a/i);
        expect(r.stdout).toContain('"code":"invalid_api_key"');
        const providers = (await gw.admin('GET', '/admin/providers')).body.providers;
        expect(providers.map((p: any) => [p.name, p.baseUrl, p.format])).toEqual([['relay-a', up.url, 'anthropic']]);
        const normal = (await gw.admin('GET', '/admin/pools/normal')).body;
        expect(normal.members.map((m: any) => m.model).sort()).toEqual(['claude-sonnet-4-5', 'kimi-k2']);
        const keys = (await gw.admin('GET', '/admin/keys')).body.keys;
        expect(keys.map((k: any) => k.name)).toEqual(['laptop']);
        // step 6 and 7 reached the provider, the request without a key did not
        expect(up.requests.filter((q) => q.path.endsWith('/messages'))).toHaveLength(2);
      }, T);
    });
  }
});

describe('README: the Anthropic SDK example (create, stream, count tokens)', () => {
  it('is the same code in both languages', () => {
    const [en, zh] = READMES.map((f) => codeOnly(block(f, 'js', "from '@anthropic-ai/sdk'"), /^\/\//));
    expect(zh).toBe(en);
  });

  for (const file of READMES) {
    it(`${file}: runs against the gateway and prints the answer, the streamed answer and the count`, async () => {
      const up = await startUpstream({ format: 'anthropic', name: 'relay-a', models: ['claude-x'] });
      const gw = await startTestGateway();
      try {
        const add = await gw.admin('POST', '/admin/providers', { name: 'relay-a', baseUrl: up.url, format: 'anthropic', apiKey: 'sk-test-key-123456' });
        await gw.admin('POST', '/admin/pools/normal/members', { providerId: add.body.id, models: ['claude-x'] });
        const key = (await gw.admin('POST', '/admin/keys', { name: 'sdk' })).body.key as string;
        const code = block(file, 'js', "from '@anthropic-ai/sdk'");
        expect(code).toContain("baseURL: 'http://127.0.0.1:8899'");
        // in the project folder, so that the import finds node_modules
        const example = path.join(ROOT, 'test-results', `readme-anthropic-${process.pid}-${file}.mjs`);
        fs.mkdirSync(path.dirname(example), { recursive: true });
        fs.writeFileSync(example, code.replace("'http://127.0.0.1:8899'", JSON.stringify(gw.url)).replace("'sk-apg-...'", JSON.stringify(key)));
        try {
          const r = await run(process.execPath, [example], {});
          expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
          const out = r.stdout.split('\n');
          expect(out[0]).toBe('hello from relay-a claude-x'); // create
          expect(out[1]).toMatch(/^(hello from relay-a claude-x ?|(piece\d+ ?)+)/); // the stream's text, then the count
          expect(Number(out[out.length - 2].replace(/^.*?(\d+)$/, '$1'))).toBeGreaterThan(0);
          expect(up.requests.filter((q) => q.path.endsWith('/messages') && q.body?.stream === true)).toHaveLength(1);
        } finally {
          fs.rmSync(example, { force: true });
        }
      } finally {
        await gw.close();
        await up.close();
      }
    }, T);
  }
});
