// End-to-end: configuration as data in the admin UI (web/dist), in Chromium against two real
// gateways. The Settings page exports gateway A's setup (YAML with the provider keys, JSON without);
// the YAML file is imported into a fresh gateway B: the dry run lists the changes and changes
// nothing, Apply makes them and shows the new access key's secret once, and B then exports the same
// document as A. A file with a misspelt field is refused naming it, nothing applied. The card in
// Chinese too. And the provider form, whose options now come from the same schema, sets
// reasoningContent and thinkingStyle. Screenshots go to test-results/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import YAML from 'yaml';
import { ADMIN, addProvider, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { missing } from '../helpers/needs.js';
import { launchBrowser, screenshot, tid, until, watchProblems } from './browser.js';

const T = 40_000;

async function exported(gw: TestGateway, query = ''): Promise<any> {
  const r = await gw.admin('GET', `/admin/config${query}`);
  expect(r.status).toBe(200);
  return r.body;
}

// Skipped without Chromium on this machine (the run says so once, at its end).
describe.skipIf(missing('chromium'))('configuration import and export (Chromium)', () => {
  let a: TestGateway;
  let b: TestGateway;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apg-e2e-config-'));

  /** A page of its own (a new browser context: not signed in), signed in to `gw`, on Settings. */
  async function openSettings(gw: TestGateway, locale = 'en-US'): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale, colorScheme: 'light', acceptDownloads: true });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    watchProblems(page, problems);
    await page.addInitScript((l) => localStorage.setItem('apg.lang', l), locale === 'zh-CN' ? 'zh-CN' : 'en');
    await page.goto(gw.url + '/');
    await page.fill(tid('login-password'), ADMIN);
    await page.press(tid('login-password'), 'Enter');
    await page.locator(tid('dashboard-page')).waitFor();
    await page.click(tid('nav-settings'));
    await page.locator(tid('settings-config')).waitFor();
    return page;
  }

  /** Clicks Export and reads the file the browser downloads. */
  async function download(page: Page): Promise<{ name: string; text: string }> {
    const [file] = await Promise.all([page.waitForEvent('download'), page.click(tid('config-export'))]);
    const where = path.join(dir, file.suggestedFilename());
    await file.saveAs(where);
    return { name: file.suggestedFilename(), text: fs.readFileSync(where, 'utf8') };
  }

  beforeAll(async () => {
    browser = await launchBrowser();
    a = await startTestGateway();
    b = await startTestGateway();
    const { providerId } = await addProvider(a, { name: 'Relay', baseUrl: 'https://relay.example.com/v1', format: 'openai', apiKey: 'sk-relay-e2e-000000001', options: { reasoningContent: true } }, 'tool', ['relay-mini']);
    expect((await a.admin('POST', '/admin/pools/advanced/members', { providerId, models: [{ id: 'relay-max', contextWindow: 200000 }] })).status).toBe(201);
    expect((await a.admin('PATCH', '/admin/pools/advanced', { affinity: 'none' })).status).toBe(200);
    expect((await a.admin('POST', '/admin/keys', { name: 'ci', pools: ['tool'], rpm: 30 })).status).toBe(201);
  }, T);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await a?.close();
    await b?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let yamlFile = '';

  it('exports YAML with the provider keys when asked, and JSON without them', async () => {
    const page = await openSettings(a);
    // keys: off by default; turning them on warns
    expect(await page.locator(tid('config-secrets')).getAttribute('aria-checked')).toBe('false');
    await page.click(tid('config-secrets'));
    await page.locator(tid('config-secrets-warning')).waitFor();
    const yaml = await download(page);
    expect(yaml.name).toMatch(/^api-pool-gateway-\d{4}-\d\d-\d\d\.yaml$/);
    expect(yaml.text).toMatch(/^# API Pool Gateway configuration/);
    const doc = YAML.parse(yaml.text);
    expect(doc).toEqual(await exported(a, '?secrets=true'));
    expect(doc.providers[0].apiKey).toBe('sk-relay-e2e-000000001');
    yamlFile = path.join(dir, 'a.yaml');
    fs.writeFileSync(yamlFile, yaml.text);
    await screenshot(page, 'config-export');

    await page.click(tid('config-secrets'));
    await page.click(tid('config-format-json'));
    const json = await download(page);
    expect(json.name).toMatch(/\.json$/);
    const plain = JSON.parse(json.text);
    expect(plain).toEqual(await exported(a));
    expect(json.text).not.toContain('sk-relay-e2e');
    await page.close();
  }, T);

  it('imports the file into a fresh gateway: the dry run changes nothing, Apply does, and B then exports what A does', async () => {
    expect(yamlFile).not.toBe('');
    const page = await openSettings(b);
    const before = await exported(b, '?secrets=true');
    await page.setInputFiles(tid('config-file'), yamlFile);
    const dialog = page.locator(tid('config-dialog'));
    await dialog.locator(tid('config-changes')).waitFor();
    const rows = await dialog.locator(tid('config-change')).allInnerTexts();
    expect(rows.some((r) => r.includes('Add') && r.includes('Provider') && r.includes('Relay'))).toBe(true);
    expect(rows.some((r) => r.includes('advanced/Relay/relay-max'))).toBe(true);
    expect(rows.some((r) => r.includes('Access key') && r.includes('ci'))).toBe(true);
    expect(await dialog.locator(tid('config-apply')).innerText()).toBe(`Apply ${rows.length} changes`);
    await screenshot(page, 'config-import-preview');
    // the preview is a dry run
    expect(await exported(b, '?secrets=true')).toEqual(before);

    await dialog.locator(tid('config-apply')).click();
    // the new access key's secret, shown once
    const created = dialog.locator(tid('config-created-keys'));
    await created.waitFor();
    const secret = (await created.locator('code').first().innerText()).trim();
    expect(secret).toMatch(/^sk-apg-/);
    expect((await fetch(`${b.url}/v1/models`, { headers: { 'x-api-key': secret } })).status).toBe(200);
    await screenshot(page, 'config-import-applied');
    await dialog.locator(tid('config-done')).click();
    await until(async () => (await dialog.count()) === 0, 5_000, 'the dialog to close');

    expect(await exported(b, '?secrets=true')).toEqual(await exported(a, '?secrets=true'));
    // importing it again: nothing to change
    await page.setInputFiles(tid('config-file'), yamlFile);
    await page.locator(tid('config-no-changes')).waitFor();
    expect(await page.locator(tid('config-apply')).isDisabled()).toBe(true);
    await page.keyboard.press('Escape');
    await page.close();
  }, T);

  it('a file with a misspelt field is refused naming it, and nothing is applied', async () => {
    const page = await openSettings(b);
    const before = await exported(b, '?secrets=true');
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'settings:\n  logRetentionDays: 3\nproviders:\n  - name: Other\n    baseUrl: https://other.example.com\n    format: openai\n    base_url: x\n');
    await page.setInputFiles(tid('config-file'), bad);
    const error = page.locator(tid('config-error'));
    await error.waitFor();
    expect(await error.innerText()).toContain('providers[0].base_url');
    expect(await page.locator(tid('config-apply')).isDisabled()).toBe(true);
    await screenshot(page, 'config-import-error');
    expect(await exported(b, '?secrets=true')).toEqual(before);
    await page.keyboard.press('Escape');
    await page.close();
  }, T);

  it('in Chinese', async () => {
    const page = await openSettings(a, 'zh-CN');
    const card = page.locator(tid('settings-config'));
    expect(await card.innerText()).toContain('配置导入导出');
    expect(await page.locator(tid('config-export')).innerText()).toBe('导出');
    await page.setInputFiles(tid('config-file'), yamlFile);
    await page.locator(tid('config-no-changes')).waitFor();
    expect(await page.locator(tid('config-no-changes')).innerText()).toContain('无需改动');
    await screenshot(page, 'config-zh');
    await page.keyboard.press('Escape');
    await page.close();
  }, T);

  it('the provider form sets every provider option: reasoningContent (OpenAI format) and thinkingStyle (Anthropic format)', async () => {
    const page = await openSettings(a);
    await page.click(tid('nav-providers'));
    const row = page.locator(tid('provider-row')).filter({ hasText: 'Relay' });
    await row.locator(tid('provider-edit')).click();
    const form = page.locator(tid('provider-form'));
    await form.waitFor();
    await form.locator(tid('pf-advanced')).locator('summary').click();
    const rc = form.locator(tid('pf-reasoningContent'));
    expect(await rc.getAttribute('aria-checked')).toBe('true'); // as stored
    expect(await form.locator(tid('pf-thinkingStyle')).count()).toBe(0); // an OpenAI-format option only
    await rc.click();
    await page.click(tid('provider-save'));
    await form.waitFor({ state: 'detached' });
    const relay = async () => (await a.admin('GET', '/admin/providers')).body.providers.find((p: any) => p.name === 'Relay');
    await until(async () => (await relay()).options.reasoningContent === false, 5_000, 'reasoningContent off');

    // Anthropic format: the thinking style, and back to "by model" (null clears it)
    await row.locator(tid('provider-edit')).click();
    await form.waitFor();
    await form.locator(tid('pf-format-anthropic')).click();
    await form.locator(tid('pf-advanced')).locator('summary').click();
    expect(await form.locator(tid('pf-reasoningContent')).count()).toBe(0);
    await form.locator(tid('pf-thinkingStyle')).selectOption('budget');
    await page.click(tid('provider-save'));
    await form.waitFor({ state: 'detached' });
    await until(async () => (await relay()).options.thinkingStyle === 'budget', 5_000, 'thinkingStyle budget');
    expect((await relay()).format).toBe('anthropic');
    await row.locator(tid('provider-edit')).click();
    await form.waitFor();
    await form.locator(tid('pf-advanced')).locator('summary').click();
    expect(await form.locator(tid('pf-thinkingStyle')).inputValue()).toBe('budget');
    await form.locator(tid('pf-thinkingStyle')).selectOption('');
    await page.click(tid('provider-save'));
    await form.waitFor({ state: 'detached' });
    await until(async () => (await relay()).options.thinkingStyle === undefined, 5_000, 'thinkingStyle back to the default');
    await page.close();
    expect(problems).toEqual([]);
  }, T);
});
