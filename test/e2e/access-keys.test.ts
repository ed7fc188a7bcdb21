// End-to-end: access keys and the first-login password change, in Chromium against the real gateway
// (web/dist) and a stand-in provider. A key made in the UI is used with the official Anthropic SDK;
// turning it off or deleting it in the UI locks the SDK out. Screenshots go to test-results/.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { addProvider, anthropicBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { missing } from '../helpers/needs.js';
import { desktopPage, launchBrowser, screenshot, signIn, tid, until, watchProblems } from './browser.js';

const T = 30_000;

/** One small request through the official SDK; resolves to the HTTP status (200 or the APIError's). */
async function sdkStatus(baseURL: string, auth: { apiKey: string } | { authToken: string }): Promise<number> {
  const client = new Anthropic({ baseURL, maxRetries: 0, ...('apiKey' in auth ? { apiKey: auth.apiKey, authToken: null } : { apiKey: null, authToken: auth.authToken }) });
  try {
    const msg = await client.messages.create({ model: 'sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.content[0]?.type).toBe('text');
    return 200;
  } catch (e) {
    if (e instanceof Anthropic.APIError && typeof e.status === 'number') return e.status;
    throw e;
  }
}

/** Fits the viewport: no horizontal scrolling. */
async function overflow(p: Page): Promise<number> {
  return p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

// Both suites are skipped without Chromium on this machine (the run says so once, at its end).
describe.skipIf(missing('chromium'))('access keys (Chromium)', () => {
  let up: Upstream;
  let gw: TestGateway;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let secret = '';
  let keyId = 0;
  const problems: string[] = [];
  const text = (sel: string) => page.locator(sel).first().innerText();
  const keyRow = (name: string) => page.locator(`[data-testid="key-row"][data-key-name="${name}"]`);

  beforeAll(async () => {
    browser = await launchBrowser();
    up = await startUpstream({ format: 'anthropic', name: 'stand-in', models: ['model-a'] });
    gw = await startTestGateway();
    await addProvider(gw, { name: 'Stand-in', baseUrl: up.url, format: 'anthropic' }, 'normal', ['model-a']);
    ({ ctx, page } = await desktopPage(browser, problems, { locale: 'zh-CN', clipboardOrigin: gw.url }));
    await signIn(page, gw.url);
  }, T);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await up?.close();
  });

  it('starts open: anyone may call /v1, the Connect page says so and links to Access keys', async () => {
    expect((await post(gw.url + '/v1/messages', anthropicBody('sonnet'))).status).toBe(200);
    await page.click(tid('nav-connect'));
    await page.locator(tid('connect-open-access')).waitFor();
    expect(JSON.parse(await text(tid('settings-json'))).env.ANTHROPIC_AUTH_TOKEN).toBe('any-value');
    await page.locator(tid('connect-open-access')).locator('a[href="#/keys"]').click();
    await page.locator(tid('keys-page')).waitFor();
    await page.locator(tid('keys-empty')).waitFor();
    expect(await text(tid('nav-keys'))).toBe('访问密钥');
  }, T);

  it('warns on every page when the gateway is exposed without keys (status.security)', async () => {
    // The test gateway listens on loopback only; the banner is the UI's job, so the status answer
    // is changed on its way to the page.
    await page.route('**/admin/status', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      body.security = { ...body.security, exposed: true };
      await route.fulfill({ response: res, json: body });
    });
    await page.reload();
    await page.locator(tid('open-access-banner')).waitFor();
    expect(await text(tid('open-access-banner'))).toContain('能访问到它的任何人');
    await page.click(tid('nav-dashboard'));
    await page.locator(tid('open-access-banner-action')).click();
    await page.locator(tid('keys-page')).waitFor();
    await screenshot(page, '11-keys-empty-exposed');
    await page.unroute('**/admin/status');
  }, T);

  it('creates a key in the UI and shows its secret once, with a copy button and the Claude Code settings', async () => {
    await page.click(tid('add-key'));
    const form = page.locator(tid('key-form'));
    await form.waitFor();
    await page.click(tid('key-save'));
    expect(await text(tid('kf-name-field-error'))).toContain('请填写名称');
    for (const p of ['tool', 'normal', 'advanced']) await page.uncheck(tid(`kf-pool-${p}`));
    await page.fill(tid('kf-name'), 'laptop');
    await page.click(tid('key-save'));
    expect(await text(tid('kf-pools-field-error'))).toContain('至少选择一个');
    await page.check(tid('kf-pool-tool'));
    await page.check(tid('kf-pool-normal'));
    await page.fill(tid('kf-rpm'), '60');
    await page.fill(tid('kf-concurrent'), '4');
    const day = new Date(Date.now() + 30 * 86_400_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    await page.fill(tid('kf-expires'), `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`);
    await screenshot(page, '12-key-create-dialog', false);
    await page.click(tid('key-save'));

    const dialog = page.locator(tid('key-secret-dialog'));
    await dialog.waitFor();
    secret = (await text(tid('key-secret'))).trim();
    expect(secret).toMatch(/^sk-apg-\S{16,}$/);
    expect(await dialog.innerText()).toContain('无法再次查看');
    await page.click(tid('copy-key-secret'));
    await page.locator(tid('copy-key-secret')).filter({ hasText: '已复制' }).waitFor({ timeout: 5000 });
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const settings = JSON.parse(await text(tid('key-settings-json')));
    expect(settings).toEqual({ env: { ANTHROPIC_BASE_URL: new URL(gw.url).origin, ANTHROPIC_AUTH_TOKEN: secret } });
    await screenshot(page, '13-key-secret-once', false);
    await page.click(tid('key-secret-done'));
    await dialog.waitFor({ state: 'detached' });

    const row = keyRow('laptop');
    await row.waitFor();
    expect(await row.locator(tid('key-masked')).innerText()).toContain(secret.slice(-4));
    expect(await row.innerText()).not.toContain(secret);
    expect(await row.locator(tid('key-pools')).innerText()).toMatch(/工具\s*普通/);
    expect(await row.locator(tid('key-limits')).innerText()).toContain('每分钟 60 次');
    const stored = (await gw.admin('GET', '/admin/keys')).body.keys;
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ name: 'laptop', pools: ['tool', 'normal'], rpm: 60, maxConcurrent: 4, enabled: true });
    expect(Date.parse(stored[0].expiresAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    keyId = stored[0].id;
  }, T);

  it('the key works with the official Anthropic SDK; without it or with a wrong one: 401', async () => {
    expect(await sdkStatus(gw.url, { apiKey: secret })).toBe(200); // x-api-key
    expect(await sdkStatus(gw.url, { authToken: secret })).toBe(200); // Authorization: Bearer
    expect((await post(gw.url + '/v1/messages', anthropicBody('sonnet'))).status).toBe(401);
    expect(await sdkStatus(gw.url, { apiKey: 'sk-apg-not-a-real-key-0000000000' })).toBe(401);
  }, T);

  it('opens the logs filtered by the key from its request count', async () => {
    const row = keyRow('laptop');
    // Usage comes from the stored request log (written in batches); the page polls every 10 s.
    await until(async () => (await gw.admin('GET', '/admin/keys')).body.keys[0].usage.requests === 2, 10_000, 'two requests stored for the key');
    await page.reload();
    await until(async () => (await row.locator(tid('key-requests')).innerText()).startsWith('2 '), 5_000, 'two requests counted for the key');
    await screenshot(page, '14-keys');
    await row.locator(tid('key-requests')).click();
    await page.locator(tid('logs-page')).waitFor();
    expect(await page.evaluate(() => window.location.hash)).toContain(`keyId=${keyId}`);
    expect(await page.locator(tid('filter-key')).inputValue()).toBe(String(keyId));
    await until(async () => (await page.locator(tid('log-row')).count()) === 2, 10_000, 'the two requests of the key');
    for (const tag of await page.locator(tid('log-key')).allInnerTexts()) expect(tag).toContain('laptop');
    await page.locator(tid('log-row')).first().click();
    expect(await text(tid('detail-key'))).toBe('laptop');
    await page.keyboard.press('Escape');
    await page.locator(tid('log-detail')).waitFor({ state: 'detached' });
    await screenshot(page, '15-logs-by-key');
    // All requests: the keyless one from before any key existed is there too.
    await page.selectOption(tid('filter-key'), '');
    await until(async () => (await page.locator(tid('log-row')).count()) >= 3, 10_000, 'all requests');
    await page.selectOption(tid('filter-key'), 'none');
    await until(async () => (await page.locator(tid('log-row')).count()) >= 1 && (await page.locator(tid('log-key')).count()) === 0, 10_000, 'the keyless requests');
  }, T);

  it('shows requests by key on the dashboard', async () => {
    await page.click(tid('nav-dashboard'));
    const byKey = page.locator(tid('by-key'));
    await byKey.locator('[data-testid="breakdown-row"][data-name="laptop"]').waitFor({ timeout: 12_000 });
    expect(await byKey.locator('[data-testid="breakdown-row"][data-name="laptop"]').innerText()).toContain('2');
    await screenshot(page, '16-dashboard-by-key');
  }, T);

  it('lets Connect choose the key for the snippets, with a placeholder for its secret', async () => {
    await gw.admin('POST', '/admin/keys', { name: 'CI runner', pools: ['tool'] });
    await page.click(tid('nav-connect'));
    const select = page.locator(tid('connect-key-select'));
    await select.waitFor();
    expect(await page.locator(tid('connect-open-access')).count()).toBe(0);
    await select.selectOption(String(keyId));
    const token: string = JSON.parse(await text(tid('settings-json'))).env.ANTHROPIC_AUTH_TOKEN;
    expect(token).toContain(secret.slice(-4));
    expect(token).not.toContain(secret);
    expect(token).toMatch(/^<.*>$/);
    const note = await text(tid('connect-key-note'));
    expect(note).toContain('laptop');
    expect(note).toContain('ANTHROPIC_API_KEY');
    expect(note).toContain('ANTHROPIC_AUTH_TOKEN');
    await screenshot(page, '17-connect-with-key');
  }, T);

  it('edits a key, with the server’s field errors under the field', async () => {
    await page.click(tid('nav-keys'));
    await keyRow('CI runner').locator(tid('key-edit')).click();
    await page.locator(tid('key-form')).waitFor();
    expect(await page.locator(tid('kf-name')).inputValue()).toBe('CI runner');
    expect(await page.locator(tid('kf-pool-tool')).isChecked()).toBe(true);
    expect(await page.locator(tid('kf-pool-normal')).isChecked()).toBe(false);
    await page.fill(tid('kf-rpm'), '5000000'); // the API allows up to 1000000
    await page.click(tid('key-save'));
    expect(await text(tid('kf-rpm-field-error'))).toContain('1000000');
    await page.fill(tid('kf-rpm'), '30');
    await page.click(tid('key-save'));
    await page.locator(tid('key-form')).waitFor({ state: 'detached' });
    expect(await keyRow('CI runner').locator(tid('key-limits')).innerText()).toContain('每分钟 30 次');
    const ci = (await gw.admin('GET', '/admin/keys')).body.keys.find((k: { name: string }) => k.name === 'CI runner');
    expect(ci).toMatchObject({ rpm: 30, maxConcurrent: null, pools: ['tool'], expiresAt: null });
  }, T);

  it('Settings: the password comes from ADMIN_PASSWORD, so changing it here is off', async () => {
    await page.click(tid('nav-settings'));
    await page.locator(tid('password-from-env')).waitFor();
    expect(await page.locator(tid('password-new')).isDisabled()).toBe(true);
    expect(await page.locator(tid('password-submit')).isDisabled()).toBe(true);
  }, T);

  it('English pages and a 390 px phone', async () => {
    await page.click(tid('nav-keys'));
    await page.click(tid('lang-en'));
    expect(await text(tid('nav-keys'))).toBe('Access keys');
    await keyRow('laptop').waitFor();
    await screenshot(page, '18-keys-en');
    await page.click(tid('add-key'));
    await page.locator(tid('key-form')).waitFor();
    await screenshot(page, '19-key-create-dialog-en', false);
    await page.keyboard.press('Escape');
    await page.click(tid('nav-connect'));
    await page.locator(tid('connect-key-select')).waitFor();
    await screenshot(page, '20-connect-with-key-en');
    await page.click(tid('nav-settings'));
    await page.locator(tid('settings-password')).waitFor();
    await screenshot(page, '21-settings-en');
    await page.click(tid('lang-zh'));

    const auth = await page.evaluate(() => [localStorage.getItem('apg.token'), localStorage.getItem('apg.tokenExpiresAt')]);
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', colorScheme: 'light', isMobile: true, hasTouch: true });
    await phone.addInitScript(([t, e]) => {
      localStorage.setItem('apg.token', t!);
      localStorage.setItem('apg.tokenExpiresAt', e!);
    }, auth);
    const p = await phone.newPage();
    watchProblems(p, problems);
    await p.goto(gw.url + '/#/keys');
    await p.locator(tid('key-row')).first().waitFor();
    expect(await overflow(p), 'horizontal scroll on #/keys at 390 px').toBeLessThanOrEqual(0);
    await screenshot(p, '22-keys-phone');
    await p.click(tid('add-key'));
    await p.locator(tid('key-form')).waitFor();
    await screenshot(p, '23-key-create-phone', false);
    await p.keyboard.press('Escape');
    for (const h of ['#/connect', '#/logs', '#/dashboard', '#/settings']) {
      await p.evaluate((x) => (window.location.hash = x), h);
      await p.waitForTimeout(300);
      expect(await overflow(p), `horizontal scroll on ${h} at 390 px`).toBeLessThanOrEqual(0);
    }
    await p.evaluate(() => (window.location.hash = '#/connect'));
    await p.locator(tid('connect-key-select')).waitFor();
    await screenshot(p, '24-connect-phone');
    await phone.close();
  }, 45_000);

  it('disabling the key in the UI locks the SDK out; enabling lets it back in', async () => {
    await page.click(tid('nav-keys'));
    const row = keyRow('laptop');
    await row.locator(tid('key-enabled')).click();
    await until(async () => (await gw.admin('GET', '/admin/keys')).body.keys.find((k: { id: number }) => k.id === keyId)?.enabled === false, 5_000, 'key disabled');
    // the list re-renders from its refetch after the server has answered
    await until(async () => (await row.getAttribute('data-enabled')) === 'false', 5_000, 'row shows the key disabled');
    expect(await sdkStatus(gw.url, { apiKey: secret })).toBe(401);
    await row.locator(tid('key-enabled')).click();
    await until(async () => (await gw.admin('GET', '/admin/keys')).body.keys.find((k: { id: number }) => k.id === keyId)?.enabled === true, 5_000, 'key enabled');
    expect(await sdkStatus(gw.url, { apiKey: secret })).toBe(200);
  }, T);

  it('deleting the key in the UI (after a confirmation) locks the SDK out', async () => {
    await keyRow('laptop').locator(tid('key-delete')).click();
    const confirm = page.locator(tid('confirm-dialog'));
    await confirm.waitFor();
    expect(await confirm.innerText()).toContain('laptop');
    expect(await confirm.innerText()).not.toMatch(/last access key|最后一个访问密钥/);
    await page.click(tid('confirm-ok'));
    await keyRow('laptop').waitFor({ state: 'detached' });
    expect(await sdkStatus(gw.url, { apiKey: secret })).toBe(401);
    // The other key still guards /v1; with the last one gone, access is open again.
    expect((await post(gw.url + '/v1/messages', anthropicBody('sonnet'))).status).toBe(401);
    await keyRow('CI runner').locator(tid('key-delete')).click();
    await confirm.waitFor();
    // the last key: the dialog says that deleting it opens the gateway, and offers disabling instead
    expect(await confirm.innerText()).toMatch(/last access key|最后一个访问密钥/);
    await page.click(tid('confirm-ok'));
    await page.locator(tid('keys-empty')).waitFor();
    expect((await post(gw.url + '/v1/messages', anthropicBody('sonnet'))).status).toBe(200);
  }, T);

  it('logged no errors in the browser', () => {
    expect(problems).toEqual([]);
  });
});

describe.skipIf(missing('chromium'))('first sign-in with the default password from another machine (Chromium)', () => {
  let gw: TestGateway;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const NEW_PASSWORD = 'correct-horse-battery';
  const text = (sel: string) => page.locator(sel).first().innerText();
  const login = async (password: string) => {
    await page.fill(tid('login-password'), password);
    await page.click(tid('login-submit'));
  };

  beforeAll(async () => {
    browser = await launchBrowser();
    // No ADMIN_PASSWORD: the default admin123.
    gw = await startTestGateway({ ADMIN_PASSWORD: '' });
    // The gateway tells loopback from remote by the socket and the absence of X-Forwarded-For / Forwarded.
    ctx = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: 'zh-CN', colorScheme: 'light', extraHTTPHeaders: { 'X-Forwarded-For': '203.0.113.5' } });
    page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    watchProblems(page, problems);
  }, T);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('signing in with admin123 shows only the "set a new password" screen', async () => {
    await page.goto(gw.url + '/');
    await login('admin123');
    await page.locator(tid('change-password-page')).waitFor();
    expect(await page.locator(tid('sidebar')).count()).toBe(0);
    const token = await page.evaluate(() => localStorage.getItem('apg.token'));
    const r = await gw.admin('GET', '/admin/providers', undefined, token);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('password_change_required');
    await screenshot(page, '25-first-password');
    await page.click(tid('lang-en'));
    expect(await text(tid('password-submit'))).toBe('Save and continue');
    await screenshot(page, '26-first-password-en');
    await page.click(tid('lang-zh'));
  }, T);

  it('a reload, or a 403 password_change_required from any call, keeps that screen up', async () => {
    await page.reload();
    await page.locator(tid('change-password-page')).waitFor();
    // Forget the flag: the first admin call answers 403 password_change_required and brings the screen back.
    await page.evaluate(() => localStorage.removeItem('apg.mustChangePassword'));
    await page.reload();
    await page.locator(tid('change-password-page')).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('apg.mustChangePassword'))).toBe('1');
  }, T);

  it('checks the new password, shows the server’s 400 message, then opens the app', async () => {
    await page.fill(tid('password-new'), 'short');
    await page.fill(tid('password-confirm'), 'short');
    await page.click(tid('password-submit'));
    expect(await text(tid('password-new-field-error'))).toContain('12');
    await page.fill(tid('password-new'), NEW_PASSWORD);
    await page.fill(tid('password-confirm'), NEW_PASSWORD + 'x');
    await page.click(tid('password-submit'));
    expect(await text(tid('password-confirm-field-error'))).toContain('不一致');
    // The server has the last word: its 400 message shows under the field.
    await page.route('**/admin/password', (route) => route.fulfill({ status: 400, json: { error: { message: 'password: too easy to guess', field: 'password' } } }), { times: 1 });
    await page.fill(tid('password-confirm'), NEW_PASSWORD);
    await page.click(tid('password-submit'));
    expect(await text(tid('password-new-field-error'))).toBe('too easy to guess');
    const before = await page.evaluate(() => localStorage.getItem('apg.token'));
    await page.click(tid('password-submit'));
    await page.locator(tid('dashboard-page')).waitFor();
    const after = await page.evaluate(() => localStorage.getItem('apg.token'));
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    expect(await page.evaluate(() => localStorage.getItem('apg.mustChangePassword'))).toBeNull();
    expect((await gw.admin('GET', '/admin/providers', undefined, after)).status).toBe(200);
    expect((await gw.admin('GET', '/admin/providers', undefined, before)).status).toBe(401);
    // No longer the default password: no banner.
    await page.waitForTimeout(300);
    expect(await page.locator(tid('default-password-banner')).count()).toBe(0);
  }, T);

  it('the new password signs in, admin123 no longer does', async () => {
    await page.click(tid('logout'));
    await page.locator(tid('login-page')).waitFor();
    await login('admin123');
    expect(await text(tid('login-password-field-error'))).toContain('密码错误');
    await login(NEW_PASSWORD);
    await page.locator(tid('dashboard-page')).waitFor();
    expect(await page.locator(tid('change-password-page')).count()).toBe(0);
  }, T);

  it('Settings changes the password again, keeping this session and ending the others', async () => {
    const old = await page.evaluate(() => localStorage.getItem('apg.token'));
    await page.click(tid('nav-settings'));
    await page.locator(tid('settings-password')).waitFor();
    expect(await page.locator(tid('password-from-env')).count()).toBe(0);
    await page.fill(tid('password-new'), NEW_PASSWORD + '-2');
    await page.fill(tid('password-confirm'), NEW_PASSWORD + '-2');
    await page.click(tid('password-submit'));
    await page.locator(tid('toast-ok')).waitFor();
    await screenshot(page, '27-settings-password');
    const fresh = await page.evaluate(() => localStorage.getItem('apg.token'));
    expect(fresh).not.toBe(old);
    expect((await gw.admin('GET', '/admin/providers', undefined, old)).status).toBe(401);
    // Still signed in: the page keeps working with the new token.
    await page.click(tid('nav-keys'));
    await page.locator(tid('keys-empty')).waitFor();
    expect(await page.locator(tid('login-page')).count()).toBe(0);
    expect((await post(gw.url + '/admin/login', { password: NEW_PASSWORD + '-2' }, { 'x-forwarded-for': '203.0.113.5' })).status).toBe(200);
  }, T);

  it('a 401 sends the UI to login and stops polling', async () => {
    // End this session behind the UI's back (a password change elsewhere ends every session).
    const token = await page.evaluate(() => localStorage.getItem('apg.token'));
    await page.click(tid('nav-pools'));
    await page.locator(tid('pools-page')).waitFor();
    expect((await gw.admin('POST', '/admin/logout', undefined, token)).status).toBeLessThan(300);
    const adminCalls: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/admin/')) adminCalls.push(r.url());
    });
    // Pools polls every 2 s: the next poll gets 401.
    await page.locator(tid('login-page')).waitFor({ timeout: 6_000 });
    expect(await page.evaluate(() => localStorage.getItem('apg.token'))).toBeNull();
    const seen = adminCalls.length;
    await page.waitForTimeout(4_500);
    expect(adminCalls.slice(seen)).toEqual([]);
  }, T);

  it('a phone shows the password screen well', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', colorScheme: 'dark', isMobile: true, hasTouch: true, extraHTTPHeaders: { 'X-Forwarded-For': '203.0.113.5' } });
    const p = await phone.newPage();
    watchProblems(p, problems);
    // A session that must change its password, from the UI's point of view.
    await p.addInitScript(() => {
      localStorage.setItem('apg.token', 'x'.repeat(43));
      localStorage.setItem('apg.tokenExpiresAt', new Date(Date.now() + 3_600_000).toISOString());
      localStorage.setItem('apg.mustChangePassword', '1');
    });
    await p.goto(gw.url + '/');
    await p.locator(tid('change-password-page')).waitFor();
    expect(await overflow(p)).toBeLessThanOrEqual(0);
    await screenshot(p, '28-first-password-phone-dark');
    await phone.close();
  }, T);

  it('logged no errors in the browser', () => {
    expect(problems).toEqual([]);
  });
});
