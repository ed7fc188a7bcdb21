// End-to-end: the admin UI (web/dist, served by the gateway at /) driven in Debian's Chromium by
// playwright-core, against the real gateway in-process and a stand-in upstream provider.
// Screenshots of each page go to test-results/ (git-ignored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { anthropicBody, getPools, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { missing } from '../helpers/needs.js';
import { launchBrowser, screenshot, tid, until, watchProblems } from './browser.js';

const T = 30_000;
// Skipped without Chromium on this machine (the run says so once, at its end).

describe.skipIf(missing('chromium'))('admin UI (Chromium)', () => {
  let up: Upstream;
  let gw: TestGateway;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  const shot = (name: string, p: Page = page, fullPage = true) => screenshot(p, name, fullPage);
  const go = async (hash: string) => {
    await page.evaluate((h) => (window.location.hash = h), hash);
    await page.locator('#main').waitFor();
  };
  const text = (sel: string) => page.locator(sel).first().innerText();

  beforeAll(async () => {
    browser = await launchBrowser();
    up = await startUpstream({ format: 'anthropic', name: 'stand-in', models: ['model-a', 'model-b', 'model-c'] });
    gw = await startTestGateway();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: 'zh-CN', colorScheme: 'light' });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
    page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    watchProblems(page, problems);
  }, T);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await up?.close();
  });

  it('logs in with the admin password', async () => {
    await page.goto(gw.url + '/');
    await page.locator(tid('login-page')).waitFor();
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await shot('01-login');
    await page.fill(tid('login-password'), 'not-the-password');
    await page.click(tid('login-submit'));
    expect(await page.locator(tid('login-password-field-error')).innerText()).toContain('密码错误');
    await page.fill(tid('login-password'), 'test-admin-password');
    await page.press(tid('login-password'), 'Enter');
    await page.locator(tid('dashboard-page')).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('apg.token'))).toBeTruthy();
    // The test gateway does not use the default password: no banner.
    expect(await page.locator(tid('default-password-banner')).count()).toBe(0);
  }, T);

  it('adds a provider, with field-level validation', async () => {
    await page.click(tid('nav-providers'));
    await page.locator(tid('providers-empty')).waitFor();
    await page.click(tid('add-provider'));
    const form = page.locator(tid('provider-form'));
    await form.waitFor();
    await page.click(tid('provider-save'));
    expect(await text(tid('pf-name-field-error'))).toContain('请填写名称');
    expect(await text(tid('pf-baseUrl-field-error'))).toContain('接口地址');
    await page.fill(tid('pf-name'), 'Stand-in');
    await page.click(tid('pf-format-anthropic'));
    await page.fill(tid('pf-baseUrl'), 'ftp://example.com');
    await page.click(tid('provider-save'));
    expect(await text(tid('pf-baseUrl-field-error'))).toContain('http://');
    expect(await page.locator(tid('pf-name-field-error')).count()).toBe(0);
    await page.fill(tid('pf-baseUrl'), up.url);
    await page.fill(tid('pf-apiKey'), 'sk-test-abcdef123456');
    await page.click(tid('provider-save'));
    await form.waitFor({ state: 'detached' });
    // The flow goes straight on to the provider's models.
    await page.locator(tid('models-dialog')).waitFor();
  }, T);

  it('fetches models, ticks two and adds them to the normal pool', async () => {
    const dialog = page.locator(tid('models-dialog'));
    await until(async () => (await dialog.locator(tid('model-row')).count()) === 3, 8_000, 'three fetched models');
    await page.fill(tid('models-search'), 'model-c');
    expect(await dialog.locator(tid('model-row')).count()).toBe(1);
    await page.fill(tid('models-search'), '');
    await page.check(tid('model-check-model-a'));
    await page.check(tid('model-check-model-b'));
    await page.click(tid('models-pool-normal'));
    expect(await text(tid('models-add'))).toContain('2');
    await shot('03-fetch-models-dialog', page, false);
    await page.click(tid('models-add'));
    await page.locator(tid('models-added')).waitFor();
    const normal = (await getPools(gw)).find((p) => p.name === 'normal');
    expect(normal.members.map((m: { model: string }) => m.model).sort()).toEqual(['model-a', 'model-b']);
    await page.click(tid('models-done'));
    await dialog.waitFor({ state: 'detached' });
    const row = page.locator(tid('provider-row')).filter({ hasText: 'Stand-in' });
    await until(async () => (await row.locator(tid('provider-members')).innerText()) === '2', 5_000, 'member count 2');
    expect(await row.locator(tid('provider-health')).innerText()).toContain('全部就绪');
    expect(await row.innerText()).toContain('****3456');
    await shot('02-providers');
  }, T);

  it('shows a request through /v1/messages in the logs, with its detail', async () => {
    const r = await post(gw.url + '/v1/messages', anthropicBody('sonnet'));
    expect(r.status).toBe(200);
    await page.click(tid('nav-logs'));
    await page.locator(tid('logs-page')).waitFor();
    const row = page.locator(tid('log-row')).filter({ hasText: 'sonnet' }).first();
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator(tid('log-status')).innerText()).toBe('200');
    expect(await row.innerText()).toContain('Stand-in');
    await shot('06-logs');
    await row.click();
    const detail = page.locator(tid('log-detail'));
    await detail.waitFor();
    expect(await detail.innerText()).toMatch(/model-[ab]/);
    expect(await detail.locator(tid('detail-status')).innerText()).toBe('200');
    await shot('07-log-detail', page, false);
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => window.location.hash)).toMatch(/^#\/logs/);
  }, T);

  it('records bodies once Settings turns it on (with field errors from the API)', async () => {
    await page.click(tid('nav-settings'));
    await page.locator(tid('settings-logBodies')).waitFor();
    await page.fill(tid('settings-retentionDays'), '0');
    await page.click(tid('settings-save'));
    // The API refuses 0 days (400 with field logRetentionDays): its message shows under that field.
    expect(await page.locator(tid('settings-days-field-error')).innerText()).toMatch(/1/);
    await page.fill(tid('settings-retentionDays'), '30');
    await page.click(tid('settings-logBodies'));
    await page.click(tid('settings-save'));
    await until(async () => (await gw.admin('GET', '/admin/settings')).body.logBodies === true, 5_000, 'logBodies on');
    const r = await post(gw.url + '/v1/messages', anthropicBody('sonnet', { messages: [{ role: 'user', content: 'body-marker-42' }] }));
    expect(r.status).toBe(200);
    await page.click(tid('nav-logs'));
    const row = page.locator(tid('log-row')).first();
    await until(async () => (await page.locator(tid('log-row')).count()) >= 2, 10_000, 'the second request in the logs');
    await row.click();
    await until(async () => (await page.locator(tid('detail-request')).innerText()).includes('body-marker-42'), 8_000, 'the request body in the detail');
    expect(await page.locator(tid('detail-response')).innerText()).toContain('hello from');
    await page.keyboard.press('Escape');
    await page.locator(tid('log-detail')).waitFor({ state: 'detached' });
  }, T);

  it('counts it on the dashboard', async () => {
    await page.click(tid('nav-dashboard'));
    await page.locator(tid('dashboard-page')).waitFor();
    await until(async () => Number((await text(tid('kpi-requests-value'))).replace(/\D/g, '')) >= 1, 12_000, 'requests ≥ 1 on the dashboard');
    expect(await text(tid('kpi-success-value'))).toMatch(/%/);
    await page.locator(tid('by-provider')).locator(tid('breakdown-row')).filter({ hasText: 'Stand-in' }).waitFor();
    await page.click(tid('window-24h'));
    await until(async () => Number((await text(tid('kpi-requests-value'))).replace(/\D/g, '')) >= 1, 8_000, 'requests ≥ 1 over 24 h');
    await page.click(tid('window-1h'));
    await shot('05-dashboard');
  }, T);

  it('watches members turn cooling in Pools live, and resets them', async () => {
    await page.click(tid('nav-pools'));
    const normal = page.locator(tid('pool-normal'));
    await until(async () => (await normal.locator('[data-testid="member-row"][data-state="ready"]').count()) === 2, 5_000, 'two ready members');
    expect(await normal.locator(tid('pool-virtual')).innerText()).toBe('sonnet');

    // Weight and enable/disable go straight to the API.
    const rowA = normal.locator('[data-testid="member-row"][data-model="model-a"]');
    await rowA.locator(tid('member-weight')).fill('5');
    await rowA.locator(tid('member-weight')).press('Enter');
    await until(async () => (await getPools(gw)).find((p) => p.name === 'normal').members.find((m: { model: string }) => m.model === 'model-a').weight === 5, 5_000, 'weight 5');
    await rowA.locator(tid('member-enabled')).click();
    await until(async () => (await rowA.getAttribute('data-state')) === 'disabled', 5_000, 'model-a disabled');
    await rowA.locator(tid('member-enabled')).click();
    await until(async () => (await rowA.getAttribute('data-state')) === 'ready', 5_000, 'model-a ready again');

    // The upstream breaks: requests fail over and cool the members down. No reload: the page polls.
    up.fallback = { kind: 'status', status: 500 };
    for (let i = 0; i < 5; i++) {
      await post(gw.url + '/v1/messages', anthropicBody('sonnet'));
      const members = (await getPools(gw)).find((p) => p.name === 'normal').members;
      if (members.some((m: { state: string }) => m.state === 'cooling')) break;
    }
    const cooling = normal.locator('[data-testid="member-row"][data-state="cooling"]');
    await until(async () => (await cooling.count()) >= 1, 6_000, 'a cooling member in Pools');
    const badge = cooling.first().locator(tid('member-state'));
    expect(await badge.innerText()).toMatch(/冷却中\s*\d+s/);
    expect(await cooling.first().locator(tid('member-error')).innerText()).toContain('500');
    await shot('04-pools');

    up.fallback = { kind: 'ok' };
    for (let n = await cooling.count(); n > 0; n = await cooling.count()) {
      await cooling.first().locator(tid('member-reset')).click();
      await until(async () => (await cooling.count()) < n, 5_000, 'a member reset');
    }
    expect(await normal.locator('[data-testid="member-row"][data-state="ready"]').count()).toBe(2);
    const members = (await getPools(gw)).find((p) => p.name === 'normal').members;
    expect(members.every((m: { state: string }) => m.state === 'ready')).toBe(true);
  }, T);

  it('switches to English and back, remembered over a reload', async () => {
    expect(await text(tid('nav-pools'))).toBe('模型池');
    await page.click(tid('lang-en'));
    expect(await text(tid('nav-pools'))).toBe('Pools');
    expect(await text(tid('pool-normal'))).toContain('Normal pool');
    expect(await page.evaluate(() => localStorage.getItem('apg.lang'))).toBe('en');
    await page.reload();
    await page.locator(tid('pools-page')).waitFor();
    expect(await text(tid('nav-pools'))).toBe('Pools');
    await page.click(tid('lang-zh'));
    expect(await text(tid('nav-pools'))).toBe('模型池');
    expect(await text(tid('pool-normal'))).toContain('普通池');
  }, T);

  it('keeps the session over a reload', async () => {
    await page.reload();
    await page.locator(tid('pools-page')).waitFor();
    expect(await page.locator(tid('login-page')).count()).toBe(0);
  }, T);

  it('shows the Connect Claude Code panel with copyable settings', async () => {
    await page.click(tid('nav-connect'));
    const origin = new URL(gw.url).origin;
    const json = JSON.parse(await text(tid('settings-json')));
    expect(json).toEqual({ env: { ANTHROPIC_BASE_URL: origin, ANTHROPIC_AUTH_TOKEN: 'any-value' } });
    expect(await text(tid('openai-base-url'))).toBe(`${origin}/v1`);
    await page.click(tid('copy-settings-json'));
    // the label flips once the (asynchronous) clipboard write has finished
    await page.locator(tid('copy-settings-json')).first().filter({ hasText: '已复制' }).waitFor({ timeout: 5000 });
    expect(await text(tid('copy-settings-json'))).toContain('已复制');
    expect(JSON.parse(await page.evaluate(() => navigator.clipboard.readText()))).toEqual(json);
    await page.click(tid('copy-openai-base-url'));
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${origin}/v1`);
    await shot('08-connect');
  }, T);

  it('fits a 390 px phone and has a dark theme', async () => {
    const token = await page.evaluate(() => [localStorage.getItem('apg.token'), localStorage.getItem('apg.tokenExpiresAt')]);
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', colorScheme: 'light', isMobile: true, hasTouch: true });
    await phone.addInitScript(([t, e]) => {
      localStorage.setItem('apg.token', t!);
      localStorage.setItem('apg.tokenExpiresAt', e!);
    }, token);
    const p = await phone.newPage();
    await p.goto(gw.url + '/#/pools');
    await p.locator(tid('pools-page')).waitFor();
    await p.locator(tid('member-row')).first().waitFor();
    for (const h of ['#/pools', '#/providers', '#/keys', '#/dashboard', '#/logs', '#/connect', '#/settings']) {
      await p.evaluate((x) => (window.location.hash = x), h);
      await p.waitForTimeout(150);
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `horizontal scroll on ${h} at 390 px`).toBeLessThanOrEqual(0);
    }
    await p.evaluate(() => (window.location.hash = '#/pools'));
    await p.locator(tid('member-row')).first().waitFor();
    await shot('09-pools-phone', p);
    await p.click(tid('menu-toggle'));
    await p.locator(tid('nav-logs')).waitFor({ state: 'visible' });
    await p.click(tid('nav-logs'));
    await p.locator(tid('logs-page')).waitFor();
    await phone.close();

    await page.click(tid('nav-dashboard'));
    await page.click(tid('theme-dark'));
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await page.evaluate(() => localStorage.getItem('apg.theme'))).toBe('dark');
    await page.locator(tid('kpi-requests')).waitFor();
    await page.waitForTimeout(300);
    await shot('10-dashboard-dark');
    await page.click(tid('theme-system'));
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
  }, T);

  it('logs out, ending the session on the server too', async () => {
    const token = await page.evaluate(() => localStorage.getItem('apg.token'));
    expect((await gw.admin('GET', '/admin/providers', undefined, token)).status).toBe(200);
    await page.click(tid('logout'));
    await page.locator(tid('login-page')).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('apg.token'))).toBeNull();
    expect((await gw.admin('GET', '/admin/providers', undefined, token)).status).toBe(401);
    await page.reload();
    await page.locator(tid('login-page')).waitFor();
    // A token the gateway no longer accepts: the first 401 sends the UI back to the login page.
    await page.evaluate(() => {
      localStorage.setItem('apg.token', 'expired-or-revoked');
      localStorage.setItem('apg.tokenExpiresAt', new Date(Date.now() + 3_600_000).toISOString());
    });
    await page.evaluate(() => (window.location.hash = '#/pools'));
    await page.reload();
    await until(async () => (await page.evaluate(() => localStorage.getItem('apg.token'))) === null, 5_000, 'the bad token dropped');
    await page.locator(tid('login-page')).waitFor();
  }, T);

  it('logged no errors in the browser', () => {
    expect(problems).toEqual([]);
  });
});
