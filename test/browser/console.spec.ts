/**
 * The web console as a newcomer uses it, in headless Chromium against the real bridge and the fake Slack and
 * Discord: sign in, find an alert, resend its dead delivery and see it arrive in the fake chat, edit a template
 * and see the preview change, paste a hostile payload and see no live mention. Screenshots of each view go to
 * artifacts/screenshots/ for a human to compare with what the fakes received.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeAlertPayload } from '../helpers/fixtures';
import { postAlert } from '../helpers/bridge-harness';
import { ADMIN_TOKEN, settle, startConsoleEnv, type ConsoleEnv } from '../console/console-harness';

const SHOTS = path.resolve(__dirname, '..', '..', 'artifacts', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let env: ConsoleEnv;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

async function launch(credentials?: { username: string; password: string }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(path.join(os.tmpdir(), 'cb-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 1100 },
    ...(credentials ? { httpCredentials: credentials } : {}),
  });
}

const shot = async (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  env = await startConsoleEnv({
    routesYaml: `routes:
  - name: page-high
    match: { severity: { min: HIGH }, tags: { none: [Test] } }
    to: [soc-slack, soc-discord]
    digest: off
  - name: everything
    to: [lab-hook]
    digest: off`,
  });
  // Sign in as a newcomer would with the browser's dialog: any username, the admin token as the password.
  context = await launch({ username: 'admin', password: ADMIN_TOKEN });
  page = context.pages()[0] ?? (await context.newPage());
  // A 400 answer is the console showing an invalid payload's problems; anything else logged as an error is a bug.
  page.on('console', (m) => m.type() === 'error' && !/status of 400/.test(m.text()) && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => void d.dismiss().then(() => problems.push(`unexpected dialog: ${d.message()}`)));
});

afterAll(async () => {
  await context?.close();
  await env?.close();
});


/** The shipped Slack header with its text replaced; throws if the template no longer has that header line. */
function edited(source: string): string {
  const header = /"text": "[^"]*\{\{alert\.title\}\}", "emoji": true/;
  if (!header.test(source)) throw new Error('the default Slack template has no header line with {{alert.title}} any more');
  return source.replace(header, '"text": "EDITED · {{alert.title}}", "emoji": true');
}

it('refuses a browser without credentials', async () => {
  const anonymous = await launch();
  try {
    // Headless Chromium cancels the sign-in dialog, so ask through the context's own HTTP client.
    for (const url of ['/console/', '/console/api/alerts']) {
      const res = await anonymous.request.get(`${env.bridge.url}${url}`);
      expect([url, res.status()]).toEqual([url, 401]);
      expect(await res.text()).not.toContain('Root console login');
    }
  } finally {
    await anonymous.close();
  }
});

it('finds an alert in the ledger and resends its dead delivery until the fake Slack has it', async () => {
  env.slack.failNext(1, { kind: 'error', error: 'not_in_channel' }, 'chat.postMessage');
  await postAlert(env.bridge, makeAlertPayload({ severity: 'CRITICAL', title: 'Root console login without MFA' }));
  await postAlert(env.bridge, makeAlertPayload({ severity: 'LOW', title: 'Quiet informational finding' }));
  await settle(() => env.bridge.store!.counts().dead === 1 && env.bridge.store!.counts().delivered === 2);
  expect(env.slack.messagesFor('C0123456789')).toHaveLength(0);

  await page.goto(`${env.bridge.url}/console/`);
  await page.getByRole('heading', { name: 'Ledger' }).waitFor();
  await page.getByLabel('Text').fill('root console');
  await page.getByLabel('Text').press('Enter');
  const card = page.locator('article.alert-card', { hasText: 'Root console login without MFA' });
  await card.waitFor();
  await page.locator('article.alert-card', { hasText: 'Quiet informational finding' }).waitFor({ state: 'detached' });
  const deadRow = card.locator('tr[data-status="dead"]');
  await expect(deadRow.locator('td.reason').textContent()).resolves.toBe('not_in_channel');
  await shot('1-ledger-dead');

  await deadRow.getByRole('button', { name: 'Resend' }).click();
  await env.slack.waitForMessages(1, 10_000);
  const row = card.locator('tr', { hasText: 'soc-slack' });
  await card.locator('tr[data-status="dead"]').waitFor({ state: 'detached', timeout: 15_000 });
  await expect(row.getAttribute('data-status')).resolves.toBe('delivered');
  expect(String(env.slack.messages[0]!.args.text)).toContain('Root console login without MFA');
  await expect(row.getByRole('link', { name: 'open message' }).getAttribute('href')).resolves.toMatch(/^https:\/\/slack\.com\/archives\/C0123456789\/p/);
  await shot('2-ledger-resent');
});

it('previews the stored alert as the fakes received it, and changes the preview as the template is edited', async () => {
  await page.locator('article.alert-card', { hasText: 'Root console login without MFA' }).getByRole('button', { name: 'Open in playground' }).click();
  await page.getByRole('heading', { name: 'Template playground' }).waitFor();
  const slackHeader = page.locator('[data-testid="slack-message"] .s-header');
  await slackHeader.waitFor();
  const posted = env.slack.messages[0]!.args as { blocks: { type: string; text?: { text: string } }[] };
  await expect(slackHeader.textContent()).resolves.toBe(posted.blocks.find((b) => b.type === 'header')!.text!.text);
  const discordBody = env.discord.messagesFor('1100000000000000001').find((m) => !m.webhookId)!.body as { embeds: { title: string }[] };
  const discordTitle = page.locator('[data-testid="discord-message"] .d-title');
  await expect(discordTitle.textContent()).resolves.toBe(discordBody.embeds[0]!.title.replace(/\\(.)/g, '$1'));
  await expect(page.locator('tr[data-route="page-high"]').getAttribute('data-verdict')).resolves.toBe('matched');
  // The raw JSON the preview shows is the body the fake Slack received.
  const raw = JSON.parse((await page.locator('[data-testid="slack-json"]').textContent())!) as { blocks: unknown };
  expect(raw.blocks).toEqual(posted.blocks);
  await shot('3-playground-stored-alert');

  const editor = page.getByLabel('Slack template source');
  const source = await editor.inputValue();
  expect(source).toContain('"type": "header"');
  await editor.fill(edited(source));
  // (No waitForFunction: the console's CSP forbids the eval it uses, as it should.)
  await page.locator('[data-testid="slack-message"] .s-header', { hasText: 'EDITED · ' }).waitFor({ timeout: 10_000 });
  await expect(slackHeader.textContent()).resolves.toBe('EDITED · Root console login without MFA');
  await shot('4-playground-template-edited');
});

it('shows a hostile payload inert, with every neutralisation listed, and explains the routes it misses', async () => {
  const hostile = makeAlertPayload({
    severity: 'MEDIUM',
    title: 'Hi <!channel> <@U0123ABCD> @everyone <@&123456789012345678> <script>alert(1)</script><img src=x onerror=alert(2)>',
    description: '**urgent** [click me](https://evil.example/steal) <!here> <#C0123456789>',
  });
  const payload = page.getByLabel('Payload (Panther, Alertmanager or Grafana JSON)');
  await payload.fill(JSON.stringify(hostile, null, 2));
  const slackMessage = page.locator('[data-testid="slack-message"]');
  await page.locator('[data-testid="slack-message"]', { hasText: '<script>alert(1)</script>' }).waitFor({ timeout: 10_000 });
  // The markup is text: nothing became an element, and no mention would ping anyone.
  await expect(page.locator('main script, main img').count()).resolves.toBe(0);
  await expect(page.locator('.preview .mention.live').count()).resolves.toBe(0);
  await expect(slackMessage.textContent()).resolves.toContain('<!channel>');
  const discordText = (await page.locator('[data-testid="discord-message"]').textContent())!;
  expect(discordText).toContain('@\u200beveryone');
  await expect(page.locator('[data-testid="discord-message"] a[href^="https://evil.example"]').count()).resolves.toBe(0);
  const slackWarnings = (await page.locator('.preview.slack .warnings').textContent())!;
  expect(slackWarnings).toContain('escaped a broadcast mention in alert text ("<!channel>")');
  expect(slackWarnings).toContain('user/channel mention');
  const discordWarnings = (await page.locator('.preview.discord .warnings').textContent())!;
  expect(discordWarnings).toContain('broadcast mention');
  expect(discordWarnings).toContain('masked link');
  await expect(page.locator('tr[data-route="page-high"] td').last().textContent()).resolves.toBe('severity MEDIUM is below the minimum HIGH');
  await shot('5-playground-hostile');

  await payload.fill('{ "severity": "SEVERE" }');
  await page.locator('#payload-issues li', { hasText: 'nothing to show' }).waitFor();
  await expect(payload.getAttribute('aria-invalid')).resolves.toBe('true');
  await shot('6-playground-invalid-payload');
});

it('works at phone width and with the keyboard', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${env.bridge.url}/console/#/ledger`);
  await page.locator('article.alert-card').first().waitFor();
  // The view takes focus when it opens; the next Tab reaches the first filter, with a visible focus ring.
  await page.keyboard.press('Tab');
  await expect(page.evaluate('document.activeElement.tagName + ":" + document.activeElement.labels[0].textContent')).resolves.toBe('SELECT:Source');
  await expect(page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).resolves.toBe('solid');
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  expect(overflow).toBeLessThanOrEqual(0);
  await shot('7-ledger-phone');
  writeFileSync(path.join(SHOTS, 'fake-chat.json'), JSON.stringify({ slack: env.slack.messages.map((m) => m.args), discord: env.discord.messages.map((m) => m.body) }, null, 2));
  expect(problems).toEqual([]);
});
