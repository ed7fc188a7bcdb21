// End-to-end: conversation affinity and member capabilities in the admin UI (web/dist), in Chromium
// against the real gateway and a stand-in provider. A pool's affinity is turned off and on in the
// Pools page, a member's context window and vision are set inline, and each change is read back
// through the admin API; the Logs page shows each request's conversation and affinity result, and
// a click on a conversation filters by it. Screenshots go to test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { addProvider, anthropicBody, getPools, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { missing } from '../helpers/needs.js';
import { desktopPage, launchBrowser, screenshot, signIn, tid, until, watchProblems } from './browser.js';

const T = 30_000;

// Skipped without Chromium on this machine (the run says so once, at its end).
describe.skipIf(missing('chromium'))('conversations and member capabilities (Chromium)', () => {
  let up: Upstream;
  let gw: TestGateway;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const session = `e2e-${Date.now()}-0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5`;

  const pool = async (name: string) => (await getPools(gw)).find((p) => p.name === name);
  const memberA = async () => (await pool('normal')).members.find((m: { model: string }) => m.model === 'model-a');

  beforeAll(async () => {
    browser = await launchBrowser();
    up = await startUpstream({ format: 'anthropic', name: 'stand-in', models: ['model-a'] });
    gw = await startTestGateway();
    await addProvider(gw, { name: 'Stand-in', baseUrl: up.url, format: 'anthropic' }, 'normal', ['model-a']);
    ({ ctx, page } = await desktopPage(browser, problems, { locale: 'en-US' }));
    await signIn(page, gw.url);
  }, T);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await up?.close();
  });

  it('turns conversation affinity off for a pool in the Pools page, and it sticks', async () => {
    await page.click(tid('nav-pools'));
    const normal = page.locator(tid('pool-normal'));
    const affinity = normal.locator(tid('pool-affinity'));
    await affinity.waitFor();
    expect(await affinity.getAttribute('data-affinity')).toBe('session');
    expect(await affinity.locator(tid('pool-affinity-why')).innerText()).toContain('prompt cache');
    expect((await pool('normal')).affinity).toBe('session');

    await affinity.locator(tid('pool-affinity-none')).click();
    await until(async () => (await pool('normal')).affinity === 'none', 5_000, 'affinity none through the admin API');
    expect(gw.gateway.poolAffinity('normal')).toBe('none');
    expect((await pool('tool')).affinity).toBe('session'); // only that pool
    await until(async () => (await affinity.getAttribute('data-affinity')) === 'none', 5_000, 'the page to show none');
    expect(await affinity.locator(tid('pool-affinity-why')).innerText()).toContain('Every request takes its turn');
    // a conversation now gets no affinity
    const r = await post(`${gw.url}/v1/messages`, anthropicBody('sonnet'), { 'x-claude-code-session-id': session });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-gateway-affinity')).toBe('none');
    // still off after a reload of the page (read from the gateway, not remembered by the page)
    await page.reload();
    await page.locator(tid('pool-normal')).locator(tid('pool-affinity')).waitFor();
    expect(await page.locator(tid('pool-normal')).locator(tid('pool-affinity')).getAttribute('data-affinity')).toBe('none');
  }, T);

  it('sets a member\'s context window ("128k") and vision inline, and they stick', async () => {
    const row = page.locator(tid('pool-normal')).locator('[data-testid="member-row"][data-model="model-a"]');
    const context = row.locator(tid('member-context'));
    await context.waitFor();
    expect(await context.inputValue()).toBe(''); // unknown
    expect((await memberA()).contextWindow).toBeNull();

    await context.fill('128k');
    await context.press('Enter');
    await until(async () => (await memberA()).contextWindow === 128000, 5_000, 'contextWindow 128000 through the admin API');
    expect(gw.gateway.registry.member((await memberA()).id)?.contextWindow).toBe(128000);
    await until(async () => (await context.inputValue()) === '128k', 5_000, 'the short form 128k');

    await row.locator(tid('member-vision')).selectOption('no');
    await until(async () => (await memberA()).vision === false, 5_000, 'vision false through the admin API');

    // a bad value is refused in the page and changes nothing
    await context.fill('lots');
    await context.press('Enter');
    await until(async () => (await context.inputValue()) === '128k', 5_000, 'the stored value back in the field');
    expect((await memberA()).contextWindow).toBe(128000);

    // kept over a reload: the page reads it back
    await page.reload();
    const again = page.locator(tid('pool-normal')).locator('[data-testid="member-row"][data-model="model-a"]');
    await again.locator(tid('member-context')).waitFor();
    expect(await again.locator(tid('member-context')).inputValue()).toBe('128k');
    expect(await again.locator(tid('member-vision')).inputValue()).toBe('no');
    await screenshot(page, 'conversations-01-pools');
  }, T);

  it('shows each request\'s conversation and affinity in the logs; a click on the conversation filters by it', async () => {
    // affinity back on (in the page), then two turns of the conversation and one request without any
    await page.locator(tid('pool-normal')).locator(tid('pool-affinity-session')).click();
    await until(async () => (await pool('normal')).affinity === 'session', 5_000, 'affinity session again');
    const headers = { 'x-claude-code-session-id': session };
    expect((await post(`${gw.url}/v1/messages`, anthropicBody('sonnet'), headers)).headers.get('x-gateway-affinity')).toBe('new');
    expect((await post(`${gw.url}/v1/messages`, anthropicBody('sonnet'), headers)).headers.get('x-gateway-affinity')).toBe('kept');
    expect((await post(`${gw.url}/v1/messages`, anthropicBody('sonnet'))).headers.get('x-gateway-affinity')).toBe('none');
    await until(async () => (await gw.admin('GET', '/admin/logs')).body.total === 4, 5_000, 'four log rows');

    await page.click(tid('nav-logs'));
    const rows = page.locator(tid('log-row'));
    await until(async () => (await rows.count()) === 4, 8_000, 'four rows in the page');
    // newest first: none (no conversation), kept, new, none (affinity was off)
    expect(await rows.locator(tid('log-affinity')).evaluateAll((els) => els.map((e) => e.getAttribute('data-affinity')))).toEqual(['none', 'kept', 'new', 'none']);
    expect(await rows.nth(0).locator(tid('log-conversation')).count()).toBe(0);
    const tag = rows.nth(1).locator(tid('log-conversation'));
    expect(await tag.innerText()).toBe('0c1d2e3f'); // the session's UUID, short
    expect(await tag.getAttribute('title')).toContain(session); // in full on hover
    await screenshot(page, 'conversations-02-logs');

    await tag.click();
    await until(async () => (await page.evaluate(() => window.location.hash)).includes('conversation='), 5_000, 'the filter in the address');
    expect(await page.locator(tid('log-detail')).count()).toBe(0); // the click filtered, it did not open the row
    await until(async () => (await rows.count()) === 3, 8_000, 'the conversation\'s three rows');
    expect(await page.locator(tid('filter-conversation')).inputValue()).toBe(session);
    expect(await rows.locator(tid('log-conversation')).evaluateAll((els) => els.map((e) => e.getAttribute('data-conversation')))).toEqual([session, session, session]);

    // the row's detail names the conversation in full
    await rows.nth(0).click();
    const detail = page.locator(tid('log-detail'));
    await detail.waitFor();
    expect(await detail.locator(tid('detail-conversation')).innerText()).toBe(session);
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached' });

    // cleared by hand: every row again
    await page.fill(tid('filter-conversation'), '');
    await page.press(tid('filter-conversation'), 'Enter');
    await until(async () => (await rows.count()) === 4, 8_000, 'all four rows again');
  }, T);

  it('the new controls fit a 390 px phone, in Chinese', async () => {
    const token = await page.evaluate(() => [localStorage.getItem('apg.token'), localStorage.getItem('apg.tokenExpiresAt')]);
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', colorScheme: 'light', isMobile: true, hasTouch: true });
    await phone.addInitScript(([t, e]) => {
      localStorage.setItem('apg.token', t!);
      localStorage.setItem('apg.tokenExpiresAt', e!);
      localStorage.setItem('apg.lang', 'zh-CN');
    }, token);
    const p = await phone.newPage();
    watchProblems(p, problems);
    try {
      await p.goto(gw.url + '/#/pools');
      const normal = p.locator(tid('pool-normal'));
      await normal.locator(tid('member-context')).waitFor();
      expect(await normal.locator(tid('pool-affinity')).innerText()).toContain('固定到一个成员');
      expect(await normal.locator(tid('member-context')).inputValue()).toBe('128k');
      expect(await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'horizontal scroll on Pools').toBeLessThanOrEqual(0);
      await screenshot(p, 'conversations-03-pools-phone');
      await p.evaluate(() => (window.location.hash = '#/logs'));
      await p.locator(tid('log-conversation')).first().waitFor();
      expect(await p.locator(tid('log-affinity')).first().innerText()).toBe('无');
      expect(await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'horizontal scroll on Logs').toBeLessThanOrEqual(0);
      await screenshot(p, 'conversations-04-logs-phone');
    } finally {
      await phone.close();
    }
  }, T);

  it('logged no errors in the browser', () => {
    expect(problems).toEqual([]);
  });
});
