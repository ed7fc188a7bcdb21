// End-to-end: a provider with several keys, in Chromium against the real gateway (web/dist) and a
// stand-in that rate-limits one key. The form takes the keys one per line (an empty field keeps
// them); the Providers page shows each key masked with its state, cooldown and last error, in
// Chinese and English. Screenshots go to test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { anthropicBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { missing } from '../helpers/needs.js';
import { desktopPage, launchBrowser, screenshot, signIn, tid, until } from './browser.js';

const T = 30_000;
const K1 = 'sk-e2e-FIRSTKEY-00000000000000a1';
const K2 = 'sk-e2e-SECONDKEY-0000000000000b2';
const K3 = 'sk-e2e-THIRDKEY-00000000000000c3';
const masked = (k: string) => `****${k.slice(-4)}`;

describe.skipIf(missing('chromium'))('provider key pools in the admin UI (Chromium)', () => {
  let up: Upstream;
  let gw: TestGateway;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let providerId = 0;
  const problems: string[] = [];
  const row = () => page.locator(tid('provider-row')).filter({ hasText: 'Pooled' });
  const items = () => row().locator(tid('provider-key-item'));
  const apiProvider = async () => (await gw.admin('GET', `/admin/providers/${providerId}`)).body;

  beforeAll(async () => {
    browser = await launchBrowser();
    up = await startUpstream({ format: 'anthropic', name: 'stand-in', models: ['model-a'], key: [K1, K2, K3] });
    gw = await startTestGateway();
    ({ ctx, page } = await desktopPage(browser, problems, { locale: 'zh-CN' }));
    await signIn(page, gw.url);
  }, T);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await up?.close();
  });

  it('adds a provider with two keys, one per line (blank lines and repeats left out), hidden until shown', async () => {
    await page.click(tid('nav-providers'));
    await page.click(tid('add-provider'));
    const form = page.locator(tid('provider-form'));
    await form.waitFor();
    await page.fill(tid('pf-name'), 'Pooled');
    await page.click(tid('pf-format-anthropic'));
    await page.fill(tid('pf-baseUrl'), up.url);
    await page.fill(tid('pf-apiKey'), `${K1}\n\n  ${K2}  \n${K1}\n`);
    expect(await page.locator(tid('pf-apiKey-count')).innerText()).toContain('共 2 个密钥');
    // concealed like a password until the eye is pressed
    expect(await page.getAttribute(tid('pf-apiKey'), 'class')).toContain('concealed');
    await page.locator(tid('pf-apiKey-field')).locator('.input-addon').click();
    expect(await page.getAttribute(tid('pf-apiKey'), 'class')).not.toContain('concealed');
    await screenshot(page, 'keys-01-form-two-keys', false);
    await page.click(tid('provider-save'));
    await form.waitFor({ state: 'detached' });
    await page.locator(tid('models-dialog')).waitFor();
    await page.click(tid('models-done'));
    const p = (await gw.admin('GET', '/admin/providers')).body.providers.find((x: any) => x.name === 'Pooled');
    providerId = p.id;
    expect(p.apiKeysMasked).toEqual([masked(K1), masked(K2)]);
    await gw.admin('POST', '/admin/pools/normal/members', { providerId, models: ['model-a'] });
    // both keys listed, masked, ready
    await until(async () => (await items().count()) === 2, 8_000, 'two keys listed');
    expect(await items().evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).toEqual(['ready', 'ready']);
    const text = await row().innerText();
    expect(text).toContain(masked(K1));
    expect(text).toContain(masked(K2));
    expect(text).toContain('2 个密钥');
    // requests take them in turn
    for (let i = 0; i < 2; i++) expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect(up.requests.filter((r) => r.method === 'POST').map((r) => r.headers['x-api-key'])).toEqual([K1, K2]);
  }, T);

  it('a rate-limited key shows as cooling, with its countdown and last error; the other keeps serving', async () => {
    up.byKey[K2] = { kind: 'status', status: 429, headers: { 'retry-after': '300' } };
    for (let i = 0; i < 2; i++) expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect((await apiProvider()).keys.map((k: any) => k.state)).toEqual(['ready', 'cooling']);
    await page.reload();
    await until(async () => (await items().count()) === 2, 8_000, 'the keys listed again');
    const second = items().nth(1);
    expect(await second.getAttribute('data-state')).toBe('cooling');
    expect(await second.locator(tid('provider-key-state')).innerText()).toMatch(/冷却中\s*[45]:\d\d/);
    expect(await second.locator(tid('provider-key-error')).count()).toBe(1);
    expect(await items().nth(0).getAttribute('data-state')).toBe('ready');
    expect(await row().locator(tid('provider-keys-cooling')).innerText()).toContain('1 个冷却中');
    expect(await row().locator(tid('provider-health')).innerText()).toContain('全部就绪'); // the model itself is ready
    await screenshot(page, 'keys-02-providers-one-cooling');
  }, T);

  it('editing: an empty key field keeps the stored keys (and their cooldowns); three lines replace them', async () => {
    await row().locator(tid('provider-edit')).click();
    const form = page.locator(tid('provider-form'));
    await form.waitFor();
    const hint = await page.locator(tid('pf-apiKey-field')).innerText();
    expect(hint).toContain(`${masked(K1)}, ${masked(K2)}`);
    expect(await page.inputValue(tid('pf-apiKey'))).toBe('');
    await page.click(tid('provider-save'));
    await form.waitFor({ state: 'detached' });
    let p = await apiProvider();
    expect(p.apiKeysMasked).toEqual([masked(K1), masked(K2)]);
    expect(p.keys[1].state).toBe('cooling');

    await row().locator(tid('provider-edit')).click();
    await form.waitFor();
    await page.fill(tid('pf-apiKey'), [K1, K2, K3].join('\n'));
    expect(await page.locator(tid('pf-apiKey-count')).innerText()).toContain('共 3 个密钥');
    await page.click(tid('provider-save'));
    await form.waitFor({ state: 'detached' });
    p = await apiProvider();
    expect(p.apiKeysMasked).toEqual([masked(K1), masked(K2), masked(K3)]);
    expect(p.keys.map((k: any) => k.state)).toEqual(['ready', 'cooling', 'ready']); // the rate limit stays with its key
    await until(async () => (await items().count()) === 3, 8_000, 'three keys listed');
  }, T);

  it('in English too; no page ever holds a key', async () => {
    await page.click(tid('lang-en'));
    await until(async () => (await row().innerText()).includes('3 keys'), 5_000, 'the English key count');
    expect(await row().locator(tid('provider-keys-cooling')).innerText()).toContain('1 cooling');
    expect(await items().nth(1).locator(tid('provider-key-state')).innerText()).toMatch(/Cooling/);
    await row().locator(tid('provider-edit')).click();
    await page.locator(tid('provider-form')).waitFor();
    expect(await page.locator(tid('pf-apiKey-field')).innerText()).toContain('Leave empty to keep the current keys');
    await page.fill(tid('pf-apiKey'), `${K1}\n${K3}`);
    expect(await page.locator(tid('pf-apiKey-count')).innerText()).toContain('2 keys: requests take them in turn');
    await screenshot(page, 'keys-03-form-english', false);
    await page.keyboard.press('Escape');
    await page.locator(tid('provider-form')).waitFor({ state: 'detached' });
    await screenshot(page, 'keys-04-providers-english');
    const html = await page.content();
    for (const k of [K1, K2, K3]) expect(html).not.toContain(k.slice(7, 17));
    await page.click(tid('lang-zh'));
    expect(problems).toEqual([]);
  }, T);
});
