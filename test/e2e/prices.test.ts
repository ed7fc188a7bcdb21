// End-to-end: the price table editor (Settings) and the cost shown on the dashboard and in the
// logs, in Chromium against the real gateway (web/dist) and a stand-in provider that reports known
// usage. English first, then 简体中文. Screenshots go to test-results/.
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { addProvider, anthropicBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { missing } from '../helpers/needs.js';
import { desktopPage, launchBrowser, screenshot, signIn, tid, until } from './browser.js';

const T = 30_000;
const SHIPPED = JSON.parse(fs.readFileSync(new URL('../../src/telemetry/prices.json', import.meta.url), 'utf8'));
const MODEL = 'claude-sonnet-4-5-20250929';

/** An Anthropic answer reporting 1234 in, 567 out, 8000 cache read, 2000 cache write. */
function priced(_req: http.IncomingMessage, body: any, res: http.ServerResponse) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({
    id: 'msg_1', type: 'message', role: 'assistant', model: body?.model, content: [{ type: 'text', text: 'priced' }], stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: 1234, output_tokens: 567, cache_read_input_tokens: 8000, cache_creation_input_tokens: 2000 },
  }));
}

describe.skipIf(missing('chromium'))('prices and cost (Chromium)', () => {
  let up: Upstream;
  let gw: TestGateway;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const rowOf = (match: string) => page.locator(`[data-testid="price-row"][data-match="${match}"]`);
  const table = async () => (await gw.admin('GET', '/admin/prices')).body;

  beforeAll(async () => {
    browser = await launchBrowser();
    up = await startUpstream({ format: 'anthropic', name: 'stand-in' });
    up.fallback = { kind: 'custom', handle: priced };
    gw = await startTestGateway();
    await addProvider(gw, { name: 'Stand-in', baseUrl: up.url, format: 'anthropic' }, 'normal', [MODEL]);
    // Priced by the shipped row claude-sonnet-4* (3 / 15 / 0.3 / 3.75): 0.022107 USD.
    expect((await post(`${gw.url}/v1/messages`, anthropicBody('sonnet'))).status).toBe(200);
    await gw.gateway.telemetry.flush();
    ({ ctx, page } = await desktopPage(browser, problems, { locale: 'en-US', height: 900 }));
    await signIn(page, gw.url);
  }, T);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await up?.close();
  });

  it('the dashboard shows the cost next to the tokens, by member, and the cache savings', async () => {
    await until(async () => (await page.locator(tid('kpi-cost-value')).innerText()) === '$0.0221', 10_000, 'the cost KPI');
    expect(await page.locator(tid('kpi-saved-value')).innerText()).toBe('$0.0216');
    const member = page.locator(`${tid('by-member')} ${tid('breakdown-row')}`);
    expect(await member.count()).toBe(1);
    expect(await member.getAttribute('data-name')).toBe(`Stand-in / ${MODEL}`);
    expect(await member.innerText()).toContain('$0.0221');
    expect(await page.locator(`${tid('by-provider')} ${tid('breakdown-row')}`).innerText()).toContain('$0.0221');
    // the hours, then the days (from the request log)
    const periods = page.locator(tid('cost-periods'));
    expect(await periods.locator(tid('period-cost')).first().innerText()).toBe('$0.0221');
    await page.click(tid('cost-period-day'));
    await until(async () => (await periods.locator(tid('period-row')).count()) === 1, 10_000, 'one day');
    expect(await periods.locator(tid('period-cost')).innerText()).toBe('$0.0221');
    await page.locator(tid('chart-cost')).waitFor();
    await screenshot(page, 'prices-01-dashboard');
  }, T);

  it('the logs show each request\'s cost, exact in its detail', async () => {
    await page.click(tid('nav-logs'));
    const row = page.locator(tid('log-row')).first();
    await row.waitFor();
    expect(await row.locator(tid('log-cost')).innerText()).toBe('$0.0221');
    await row.click();
    expect(await page.locator(tid('detail-cost')).innerText()).toBe('$0.022107');
    await page.keyboard.press('Escape');
    await page.locator(tid('log-detail')).waitFor({ state: 'detached' });
  }, T);

  it('Settings shows the shipped table; an edited price is saved and prices the next request', async () => {
    await page.click(tid('nav-settings'));
    const card = page.locator(tid('prices-card'));
    await card.locator(tid('price-row')).first().waitFor();
    expect(await page.locator(tid('prices-status')).innerText()).toBe(`Shipped table, as of ${SHIPPED.asOf}`);
    expect(await card.locator(tid('price-row')).count()).toBe(SHIPPED.prices.length);
    expect(await page.locator(tid('prices-reset')).isDisabled()).toBe(true);
    expect(await page.locator(tid('prices-save')).isDisabled()).toBe(true);
    await screenshot(page, 'prices-02-settings');

    await page.fill(tid('prices-filter'), 'sonnet-4');
    expect(await card.locator(tid('price-row')).count()).toBe(1);
    await rowOf('claude-sonnet-4*').locator(tid('price-input')).fill('6');
    await page.fill(tid('prices-filter'), '');
    expect(await page.locator(tid('prices-status')).innerText()).toContain('Edited');
    await page.click(tid('prices-save'));
    await until(async () => (await table()).shipped === false, 5_000, 'the table saved');
    const saved = await table();
    expect(saved.prices.find((p: any) => p.match === 'claude-sonnet-4*')).toEqual({ match: 'claude-sonnet-4*', input: 6, output: 15, cacheRead: 0.3, cacheWrite: 3.75 });
    expect(saved.prices).toHaveLength(SHIPPED.prices.length);
    expect(await page.locator(tid('prices-save')).isDisabled()).toBe(true);
    // the next request: 1234 × 6 more per million → 0.025809
    await post(`${gw.url}/v1/messages`, anthropicBody('sonnet'));
    await gw.gateway.telemetry.flush();
    expect((await gw.admin('GET', '/admin/logs?limit=1')).body.logs[0].costUsd).toBe(0.025809);
  }, T);

  it('adds and removes rows; a bad value is refused in the page and by the server, naming the row, and nothing is saved', async () => {
    const card = page.locator(tid('prices-card'));
    await page.click(tid('price-add'));
    const added = card.locator(tid('price-row')).last();
    await added.locator(tid('price-match')).fill('my-model-*');
    await added.locator(tid('price-input')).fill('0.5');
    await added.locator(tid('price-output')).fill('-1');
    await rowOf('gpt-4').locator(tid('price-remove')).click();
    expect(await rowOf('gpt-4').count()).toBe(0);

    // in the page: the negative output
    await page.click(tid('prices-save'));
    expect(await added.locator(tid('price-row-error')).innerText()).toBe('A number, 0 or more.');
    // by the server: a match over 200 characters (the page does not check lengths)
    await added.locator(tid('price-output')).fill('2');
    await added.locator(tid('price-match')).fill('m'.repeat(201));
    await page.click(tid('prices-save'));
    await until(async () => (await added.locator(tid('price-row-error')).count()) === 1, 5_000, 'the server\'s error on the row');
    expect(await added.locator(tid('price-row-error')).innerText()).toContain('200');
    expect((await table()).prices.some((p: any) => p.match === 'gpt-4')).toBe(true);

    await added.locator(tid('price-match')).fill('my-model-*');
    await page.click(tid('prices-save'));
    await until(async () => (await table()).prices.some((p: any) => p.match === 'my-model-*'), 5_000, 'the new row saved');
    const t = await table();
    expect(t.prices.at(-1)).toEqual({ match: 'my-model-*', input: 0.5, output: 2, cacheRead: 0, cacheWrite: 0 });
    expect(t.prices.some((p: any) => p.match === 'gpt-4')).toBe(false);
    expect(await card.locator(tid('price-row-error')).count()).toBe(0);
    await screenshot(page, 'prices-03-edited');
  }, T);

  it('resets to the shipped table after a confirmation', async () => {
    await page.click(tid('prices-reset'));
    await page.locator(tid('confirm-dialog')).waitFor();
    await page.click(tid('confirm-ok'));
    await until(async () => (await table()).shipped === true, 5_000, 'the reset');
    expect((await table()).prices).toEqual(SHIPPED.prices);
    await until(async () => (await page.locator(tid('prices-status')).innerText()) === `Shipped table, as of ${SHIPPED.asOf}`, 5_000, 'the shipped badge');
    expect(await page.locator(tid('prices-card')).locator(tid('price-row')).count()).toBe(SHIPPED.prices.length);
  }, T);

  it('in Chinese too', async () => {
    await page.evaluate(() => localStorage.setItem('apg.lang', 'zh-CN'));
    await page.reload();
    await page.locator(tid('prices-card')).locator(tid('price-row')).first().waitFor();
    expect(await page.locator(tid('prices-card')).innerText()).toContain('价格');
    expect(await page.locator(tid('prices-status')).innerText()).toBe(`内置价格表，截至 ${SHIPPED.asOf}`);
    await rowOf('gpt-4o*').locator(tid('price-input')).fill('x');
    await page.click(tid('prices-save'));
    expect(await rowOf('gpt-4o*').locator(tid('price-row-error')).innerText()).toBe('请填写不小于 0 的数字。');
    await screenshot(page, 'prices-04-settings-zh');
    await page.click(tid('prices-discard'));
    expect(await rowOf('gpt-4o*').locator(tid('price-input')).inputValue()).toBe('2.5');
    await page.click(tid('nav-dashboard'));
    await until(async () => (await page.locator(tid('kpi-cost')).innerText()).includes('费用'), 10_000, 'the cost KPI in Chinese');
    expect(problems).toEqual([]);
  }, T);
});
