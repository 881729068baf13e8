/**
 * The real bridge with the web console on, against the loopback fakes: an admin (token), a viewer (username and
 * password) and a temporary templates directory, so saving templates never touches the shipped ones.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningBridge } from '../../src/bridge';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { harnessConfig, startHarnessBridge, tempStorePath, type HarnessOptions } from '../helpers/bridge-harness';
import type { Config } from '../../src/config/schema';

export const ADMIN_TOKEN = 'console-admin-token-0123456789abcdef';
export const VIEWER = { username: 'viewer', password: 'viewer-password-0123456789' };

export interface ConsoleEnv {
  slack: FakeSlack;
  discord: FakeDiscord;
  bridge: RunningBridge;
  config: Config;
  templatesDir: string;
  close(): Promise<void>;
}

export const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const viewerAuth = { authorization: `Basic ${Buffer.from(`${VIEWER.username}:${VIEWER.password}`).toString('base64')}` };
/** What the console's own script sends with every change. */
export const csrf = { 'x-console-request': '1', 'content-type': 'application/json' };

export async function startConsoleEnv(options: Partial<HarnessOptions> = {}, consoleYaml = ''): Promise<ConsoleEnv> {
  const slack = await startFakeSlack();
  const discord = await startFakeDiscord();
  const templatesDir = mkdtempSync(path.join(os.tmpdir(), 'cb-console-templates-'));
  const harness: HarnessOptions = {
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl: discord.webhookUrl(),
    storePath: tempStorePath(),
    ...options,
    extraYaml: `${options.extraYaml ?? ''}
templates: { dir: "${templatesDir}" }
console:
  enabled: true
  users:
    - { token: "\${CONSOLE_ADMIN_TOKEN}", role: admin }
    - { username: ${VIEWER.username}, password: "\${CONSOLE_VIEWER_PASSWORD}", role: viewer }
${consoleYaml}`,
  };
  const config = harnessConfig(harness, { CONSOLE_ADMIN_TOKEN: ADMIN_TOKEN, CONSOLE_VIEWER_PASSWORD: VIEWER.password });
  const bridge = await startHarnessBridge(config);
  return {
    slack,
    discord,
    bridge,
    config,
    templatesDir,
    async close() {
      await bridge.stop();
      await slack.close();
      await discord.close();
    },
  };
}

/** Polls until `predicate` holds (10 s at most), then asserts it. */
export async function settle(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(predicate()).toBe(true);
}
