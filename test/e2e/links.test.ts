/**
 * Links from alert content through `serve` (issue 14 point 8): a user template that puts alert data into Slack
 * attachment `title_link`/`author_link`/`author_icon`/`image_url`/`thumb_url`/`footer_icon` and Discord embed
 * `url`/`thumbnail.url`/`image.url`/`author.url`/`author.icon_url`/`footer.icon_url` sends none of them to the
 * platforms; URLs in alert text arrive defanged, except on a route with `defang: false`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, postAlert, startHarnessBridge } from '../helpers/bridge-harness';
import { makeAlertPayload } from '../helpers/fixtures';
import { send, signSlack, slackClick, until, SLACK_SIGNING_SECRET } from '../helpers/interactions';
import type { RunningBridge } from '../../src/bridge';

jest.setTimeout(30_000);

const EVIL = 'https://evil.example/login?next=%2F';
const SLACK_TEMPLATE = JSON.stringify({
  text: '{{alert.title}} · {{alert.description}}',
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '{{alert.description}}' } }],
  attachments: [
    {
      fallback: '{{alert.title}}',
      title: 'Details',
      title_link: '{{alert.context.url}}',
      author_name: 'Source',
      author_link: '{{alert.context.url}}',
      author_icon: '{{{alert.context.url}}}',
      image_url: '{{alert.context.url}}',
      thumb_url: '{{alert.context.url}}',
      footer: 'Footer',
      footer_icon: '{{alert.context.url}}',
      text: 'Attacker host: {{alert.context.url}}',
    },
  ],
});
const DISCORD_TEMPLATE = JSON.stringify({
  content: '{{alert.title}}',
  embeds: [
    {
      title: 'Details',
      description: '{{alert.description}}',
      url: '{{alert.context.url}}',
      thumbnail: { url: '{{alert.context.url}}' },
      image: { url: '{{{alert.context.url}}}' },
      author: { name: 'Source', url: '{{alert.context.url}}', icon_url: '{{alert.context.url}}' },
      footer: { text: 'Footer', icon_url: '{{alert.context.url}}' },
    },
  ],
  components: [{ type: 1, components: [{ type: 2, style: 5, label: 'Open', url: '@@OWN_LINK@@' }] }],
  allowed_mentions: { parse: [] },
}).replace('"@@OWN_LINK@@"', '{{url alert.link}} '); // {{url}} writes the JSON string itself; the space keeps "}}}" apart

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-e2e-links-'));
  writeFileSync(path.join(dir, 'links.slack.hbs'), SLACK_TEMPLATE);
  writeFileSync(path.join(dir, 'links.discord.hbs'), DISCORD_TEMPLATE);
  const routesYaml = `routes:
  - name: live-links
    match: { tags: { any: [live-links] } }
    to: [soc-slack, soc-discord, lab-hook]
    template: links
    defang: false
    digest: off
  - name: everything
    to: [soc-slack, soc-discord, lab-hook]
    template: links
    digest: off`;
  bridge = await startHarnessBridge(
    harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), routesYaml, extraYaml: `templates: { dir: "${dir}" }`, slackSigningSecret: SLACK_SIGNING_SECRET }),
  );
});

afterAll(async () => {
  await bridge?.stop();
  await slack?.close();
  await discord?.close();
});

const URL_KEYS_SENT = /"(?:url|title_link|author_link|author_icon|image_url|thumb_url|footer_icon|icon_url)":"https:\/\/evil/;

async function deliver(tags: string[]) {
  const before = { slack: slack.messages.length, discord: discord.messages.length };
  const payload = makeAlertPayload({ title: 'Phishing page reported', description: `Credential form at ${EVIL} was visited`, alertContext: { url: EVIL }, tags });
  const res = await postAlert(bridge, payload);
  expect([res.status, res.body.status]).toEqual([200, 'accepted']);
  await slack.waitForMessages(before.slack + 1);
  await discord.waitForMessages(before.discord + 2);
  expect(slack.violations).toEqual([]);
  expect(discord.violations).toEqual([]);
  // The user template rendered (a fallback to the built-in one would prove nothing about it).
  expect(JSON.stringify([...slack.messages, ...discord.messages].slice(-1))).not.toContain('Template error');
  return { payload, slackArgs: slack.messages.at(-1)!.args, discordBodies: discord.messages.slice(before.discord).map((m) => m.body as Record<string, any>) };
}

describe('links from alert content through serve', () => {
  it('defangs alert URLs on both platforms and sends no URL key filled from alert data; the own link button works', async () => {
    const { payload, slackArgs, discordBodies } = await deliver(['AWS']);
    const slackText = JSON.stringify(slackArgs);
    expect(slackText).not.toContain('https://evil.example');
    expect(slackText).not.toMatch(URL_KEYS_SENT);
    expect(String(slackArgs.text)).toContain('Credential form at hxxps://evil[.]example/login?next=%2F was visited');
    const attachment = (slackArgs.attachments as Record<string, unknown>[])[0]!;
    expect(attachment).toMatchObject({ title: 'Details', author_name: 'Source', footer: 'Footer', text: 'Attacker host: hxxps://evil[.]example/login?next=%2F' });
    for (const key of ['title_link', 'author_link', 'author_icon', 'image_url', 'thumb_url', 'footer_icon']) expect(attachment).not.toHaveProperty(key);
    expect(discordBodies).toHaveLength(2);
    for (const body of discordBodies) {
      const sent = JSON.stringify(body);
      expect(sent).not.toContain('https://evil.example');
      expect(sent).not.toMatch(URL_KEYS_SENT);
      const embed = body.embeds[0];
      expect(embed.description).toContain('Credential form at hxxps://evil\\[.]example/login?next=%2F was visited');
      for (const key of ['url', 'thumbnail', 'image']) expect(embed).not.toHaveProperty(key);
      expect(embed.author).toEqual({ name: 'Source' });
      expect(embed.footer).toEqual({ text: 'Footer' });
      expect(body.components[0].components[0].url).toBe(payload.link);
    }
  });

  it('a triage click re-renders each message as its route says: defanged, or live on a defang: false route', async () => {
    for (const [tags, expected] of [
      [['AWS'], 'Credential form at hxxps://evil[.]example/login?next=%2F was visited'],
      [['live-links'], `Credential form at ${EVIL} was visited`],
    ] as const) {
      await deliver([...tags]);
      const post = slack.messages.at(-1)!;
      const ack = ((post.args.blocks ?? []) as { type: string; elements?: { action_id: string; value: string }[] }[])
        .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
        .find((e) => e.action_id === 'triage_acknowledge')!;
      const updates = () => slack.messages.filter((m) => m.method === 'chat.update' && m.ts === post.ts);
      expect((await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: ack.action_id, value: ack.value, channel: post.channel, messageTs: post.ts })))).status).toBe(200);
      await until(() => updates().length === 1, 5000, 'the edit');
      const edited = updates()[0]!.args;
      expect(JSON.stringify(edited.blocks)).toMatch(/Acknowledged by/);
      expect(String(edited.text)).toContain(expected);
      expect(JSON.stringify(edited)).not.toMatch(URL_KEYS_SENT);
    }
  });

  it('a route with defang: false shows alert URLs live, and still sends no URL key filled from alert data', async () => {
    const { slackArgs, discordBodies } = await deliver(['live-links']);
    expect(String(slackArgs.text)).toContain(`Credential form at ${EVIL} was visited`);
    expect(JSON.stringify(slackArgs)).not.toMatch(URL_KEYS_SENT);
    for (const body of discordBodies) {
      expect(body.embeds[0].description).toContain(`Credential form at ${EVIL} was visited`);
      expect(JSON.stringify(body)).not.toMatch(URL_KEYS_SENT);
    }
  });
});
