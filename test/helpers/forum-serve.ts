/**
 * The built `serve` (dist/main.js) with one Discord forum destination on one route, against the fake Slack and
 * the fake Discord (its forums modelled in fake-discord-forum.ts): what the forum end-to-end tests share.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FakeDiscord } from './fake-discord';
import type { FakeSlack } from './fake-slack';
import { AM_TOKEN, harnessYaml, PANTHER_TOKEN, tempStorePath } from './bridge-harness';
import { startServe, type ServeProcess } from './serve-process';
import { queryStore } from './store-query';

export interface ForumServeOptions {
  /** The forum channel's id (a forum of the fake). */
  forumId: string;
  /** The destination's `forum:` option, as a YAML flow mapping entry (`forum: { … }`), or '' for none. */
  forum: string;
  /** The route's `threads:` (default on). */
  threads?: 'on' | 'off';
  /** The route's `onResolved:` (default: unset, i.e. update). */
  onResolved?: 'update' | 'post' | 'ignore';
  storePath?: string;
}

export interface ForumServe {
  serve: ServeProcess;
  storePath: string;
  configFile: string;
  env: Record<string, string>;
}

/** Writes the config (destination `soc-forum` on route `forum`) and starts the built serve on it. */
export async function startForumServe(slack: FakeSlack, discord: FakeDiscord, options: ForumServeOptions): Promise<ForumServe> {
  const storePath = options.storePath ?? tempStorePath();
  const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
  const webhookUrl = discord.webhookUrl();
  const onResolved = options.onResolved ? `\n    onResolved: ${options.onResolved}` : '';
  writeFileSync(
    configFile,
    harnessYaml({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl,
      storePath,
      extraDestinations: `  soc-forum: { type: discord, channel: "${options.forumId}", pace: { limit: 50, windowMs: 100 }${options.forum ? `, ${options.forum}` : ''} }`,
      routesYaml: `routes:\n  - name: forum\n    to: [soc-forum]\n    digest: off\n    threads: ${options.threads ?? 'on'}${onResolved}`,
    }),
  );
  const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
  return { serve: await startServe(configFile, env), storePath, configFile, env };
}

/** POSTs a webhook to serve's Panther or Alertmanager endpoint and expects it accepted. */
export async function postWebhook(serve: ServeProcess, source: 'panther' | 'alertmanager', body: unknown): Promise<void> {
  const headers: Record<string, string> = source === 'panther' ? { 'x-panther-token': PANTHER_TOKEN } : { authorization: `Bearer ${AM_TOKEN}` };
  const res = await fetch(`${serve.url}/webhooks/${source}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
}

/** An Alertmanager webhook fixture (test/fixtures/alertmanager). */
export const alertmanagerFixture = (file: string) => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'alertmanager', file), 'utf8'));

/** Every delivery's status and message reference, in order. */
export const deliveries = (storePath: string) =>
  queryStore<{ status: string; message_ref: string | null; last_reason: string | null }>(storePath, `SELECT status, message_ref, last_reason FROM deliveries ORDER BY id`);
