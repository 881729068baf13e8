/**
 * The playground draws a Components V2 message (`layout: v2`) from the exact body the fake Discord received: the
 * container with its accent bar in the severity colour, the title heading with the link button beside it, the
 * separators, the text displays and the triage buttons. A screenshot goes to artifacts/screenshots/ for a human to
 * compare with the JSON the fake received (written beside it).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeAlertPayload } from '../helpers/fixtures';
import { postAlert } from '../helpers/bridge-harness';
import { discordKeys } from '../helpers/interactions';
import { ADMIN_TOKEN, settle, startConsoleEnv, type ConsoleEnv } from '../console/console-harness';

const SHOTS = path.resolve(__dirname, '..', '..', 'artifacts', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const V2_CHANNEL = '1100000000000000002';

let env: ConsoleEnv;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  env = await startConsoleEnv({
    discordPublicKey: discordKeys().publicKeyHex,
    extraDestinations: `  v2-discord: { type: discord, channel: "${V2_CHANNEL}", layout: v2, pace: { limit: 50, windowMs: 100 } }`,
    routesYaml: 'routes:\n  - name: page-soc\n    to: [soc-slack, v2-discord]\n    digest: off\n    mentions: { discord: { roles: ["223344556677889900"] } }',
  });
  context = await chromium.launchPersistentContext(mkdtempSync(path.join(os.tmpdir(), 'cb-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 1100 },
    httpCredentials: { username: 'admin', password: ADMIN_TOKEN },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
});

afterAll(async () => {
  await context?.close();
  await env?.close();
});

it('draws the V2 message the fake Discord received: accent bar, heading with the link button beside it, separators, text, buttons', async () => {
  // The fake records every live ping as a violation; the route's own role ping is wanted here: record, don't refuse.
  env.discord.rejectViolations = false;
  await postAlert(env.bridge, makeAlertPayload({ severity: 'HIGH', title: 'Root console login without MFA' }));
  await settle(() => env.discord.messagesFor(V2_CHANNEL).length === 1 && env.bridge.store!.counts().delivered === 2);
  const received = env.discord.messagesFor(V2_CHANNEL)[0]!.body as { flags: number; components: Record<string, any>[] };
  expect(received.flags).toBe(1 << 15);
  expect(env.discord.violations).toEqual([expect.stringMatching(/would ping: <@&223344556677889900>$/)]);

  await page.goto(`${env.bridge.url}/console/`);
  await page.locator('article.alert-card', { hasText: 'Root console login without MFA' }).getByRole('button', { name: 'Open in playground' }).click();
  const message = page.locator('[data-testid="discord-message"]');
  const container = message.locator('.d-container');
  await container.waitFor();
  // The JSON the preview draws is the body the fake received.
  const raw = JSON.parse((await page.locator('[data-testid="discord-json"]').textContent())!) as { components: unknown };
  expect(raw.components).toEqual(received.components);

  const accent = received.components.find((c) => c.type === 17)!.accent_color as number;
  const rgb = [16, 8, 0].map((shift) => (accent >> shift) & 0xff).join(', ');
  // The accent bar is the container's left border, drawn in the accent colour.
  await expect(container.evaluate((el) => (el as unknown as { style: { borderLeftColor: string } }).style.borderLeftColor)).resolves.toBe(`rgb(${rgb})`);
  await expect(container.locator('.d-section .d-h3').textContent()).resolves.toBe('🔴 Root console login without MFA');
  const beside = container.locator('.d-section .d-accessory a');
  await expect(beside.textContent()).resolves.toBe('View in Panther ↗');
  await expect(beside.getAttribute('href')).resolves.toMatch(/^https:\/\/acme\.runpanther\.net\/alerts\//);
  // The button sits to the right of the heading, on its line.
  const [heading, button] = await Promise.all([container.locator('.d-section .d-h3').boundingBox(), beside.boundingBox()]);
  expect(button!.x).toBeGreaterThan(heading!.x + heading!.width - 1);
  expect(Math.abs(button!.y - heading!.y)).toBeLessThan(heading!.height);
  await expect(container.locator('.d-separator').count()).resolves.toBeGreaterThanOrEqual(2);
  await expect(container.locator('.d-text', { hasText: 'Severity: 🔴 High' }).count()).resolves.toBe(1);
  await expect(container.locator('.d-subtext').last().textContent()).resolves.toMatch(/^Panther · Rule match · route page-soc · /);
  await expect(container.locator('.d-row .d-button').allTextContents()).resolves.toEqual(['Acknowledge', 'Resolve', 'Assign to me', 'Runbook ↗']);
  // The route's role mention is the first text display, above the container, live (it pings).
  await expect(message.locator('.d-v2 > .d-text .mention.live').textContent()).resolves.toBe('@role 223344556677889900');
  await expect(container.locator('.mention.live').count()).resolves.toBe(0);
  await message.screenshot({ path: path.join(SHOTS, 'v2-discord-preview.png') });
  await page.screenshot({ path: path.join(SHOTS, 'v2-playground.png'), fullPage: true });
  writeFileSync(path.join(SHOTS, 'v2-fake-discord.json'), JSON.stringify(received, null, 2));
  expect(problems).toEqual([]);
});
