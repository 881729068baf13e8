/**
 * The acceptance path, end to end: every fixture of the corpus is POSTed to the real bridge, which must deliver
 * each valid alert exactly once to every routed destination through the real SDKs, with a link button to the
 * alert and without a single limit breach or live mention; invalid payloads get 4xx and post nothing.
 */
import { invalidFixtures, loadFixture, validFixtures, bytesVariants } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, postAlert, startHarnessBridge } from '../helpers/bridge-harness';
import type { RunningBridge } from '../../src/bridge';
import { encodeAngleBrackets } from '../../src/templates/helpers';
import { isHttpUrl } from '../../src/templates/escape';

jest.setTimeout(60_000);

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  const webhookUrl = discord.webhookUrl();
  bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl }));
});

afterAll(async () => {
  await bridge?.stop();
  await slack?.close();
  await discord?.close();
});

const buttonsOfSlack = (args: Record<string, unknown>) =>
  ((args.blocks as { type: string; elements?: { url?: string }[] }[]) ?? []).filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);
const buttonsOfDiscord = (body: Record<string, unknown>) =>
  ((body.components as { components?: { url?: string }[] }[]) ?? []).flatMap((row) => row.components ?? []);

describe('the fixture corpus through serve', () => {
  const valid = Object.entries(validFixtures());
  const invalid = Object.entries(invalidFixtures());

  it('rejects every invalid payload with 400 and posts nothing', async () => {
    for (const [name, fixture] of invalid) {
      const res = await postAlert(bridge, fixture.raw);
      expect([name, res.status]).toEqual([name, 400]);
      expect(res.body.error).toBe('invalid_payload');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.messages).toHaveLength(0);
    expect(discord.messages).toHaveLength(0);
  });

  it('delivers every valid payload exactly once per destination, within limits, with a link button', async () => {
    for (const [name, payload] of valid) {
      const res = await postAlert(bridge, payload);
      expect([name, res.status, res.body.status]).toEqual([name, 200, 'accepted']);
    }
    await slack.waitForMessages(valid.length, 45_000);
    await discord.waitForMessages(valid.length * 2, 45_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.violations).toEqual([]);
    expect(discord.violations).toEqual([]);
    expect(slack.messages).toHaveLength(valid.length);
    expect(discord.messages).toHaveLength(valid.length * 2);
    expect(bridge.store!.counts()).toEqual({ pending: 0, delivered: valid.length * 3, dead: 0 });

    // Every message carries a button to its own alert (Discord link buttons are capped at 512 characters), except
    // the defaulted payloads whose link is missing or no http(s) URL: those get no button at all.
    const slackLinks = slack.messages.map((m) => buttonsOfSlack(m.args)[0]?.url);
    const discordLinks = discord.messages.map((m) => buttonsOfDiscord(m.body as Record<string, unknown>)[0]?.url);
    // `<` and `>` (Slack control characters) are percent-encoded in URLs; every other link is sent as received.
    for (const [name, payload] of valid) {
      if (name.startsWith('defaulted/') && !isHttpUrl(payload.link)) continue;
      const link = encodeAngleBrackets(payload.link);
      expect(slackLinks).toContain(link);
      if (link.length <= 512) expect(discordLinks.filter((l) => l === link).length).toBeGreaterThanOrEqual(2);
    }
    // Plain webhooks get link buttons only, and only with with_components=true.
    for (const message of discord.messages.filter((m) => m.webhookId)) expect(message.withComponents).toBe(true);
  });

  it('answers duplicate for every byte variant of one alert and posts it once', async () => {
    const before = { slack: slack.messages.length, discord: discord.messages.length };
    const statuses: string[] = [];
    for (const raw of Object.values(bytesVariants())) statuses.push((await postAlert(bridge, raw)).body.status);
    expect(statuses[0]).toBe('accepted');
    expect(new Set(statuses.slice(1))).toEqual(new Set(['duplicate']));
    await slack.waitForMessages(before.slack + 1);
    await discord.waitForMessages(before.discord + 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.messages.length - before.slack).toBe(1);
    expect(discord.messages.length - before.discord).toBe(2);
  });
});

describe('a Panther System Error through serve', () => {
  let ownSlack: FakeSlack;
  let ownDiscord: FakeDiscord;
  let ownBridge: RunningBridge;

  beforeAll(async () => {
    ownSlack = await startFakeSlack();
    ownDiscord = await startFakeDiscord();
    ownBridge = await startHarnessBridge(harnessConfig({ slackUrl: ownSlack.url, discordApi: ownDiscord.api, webhookUrl: ownDiscord.webhookUrl() }));
  });

  afterAll(async () => {
    await ownBridge?.stop();
    await ownSlack?.close();
    await ownDiscord?.close();
  });

  it('is accepted (empty detection id, no name, version or tags), delivered once to Slack and Discord, and counted', async () => {
    const payload = loadFixture('valid/system-error/system-error-empty-id.json');
    expect(payload).toMatchObject({ id: '', name: null, version: null, tags: [], type: 'SYSTEM_ERROR' });
    const first = await postAlert(ownBridge, payload);
    expect([first.status, first.body.status]).toEqual([200, 'accepted']);
    // Panther retries what it thinks failed: the same alert again is a duplicate, nothing is posted twice.
    const retry = await postAlert(ownBridge, payload);
    expect([retry.status, retry.body.status]).toEqual([200, 'duplicate']);
    await ownSlack.waitForMessages(1);
    await ownDiscord.waitForMessages(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(ownSlack.violations).toEqual([]);
    expect(ownDiscord.violations).toEqual([]);
    expect(ownSlack.messages).toHaveLength(1);
    expect(ownDiscord.messages).toHaveLength(2);
    for (const sent of [JSON.stringify(ownSlack.messages[0]!.args), ...ownDiscord.messages.map((m) => JSON.stringify(m.body))]) {
      expect(sent).toContain('CloudTrail prod');
      expect(sent).toContain('Panther.SystemError');
      expect(sent).toContain(payload.link);
    }
    const metrics = await (await fetch(`${ownBridge.url}/metrics`)).text();
    // Counted per payload received (the retry too): drift shows however often Panther sends it.
    expect(metrics).toContain('chatops_payload_defaults_total{source="panther",field="id"} 2');
    expect(metrics).toContain('chatops_payload_defaults_total{source="panther",field="title"} 0');
    expect(metrics).toContain('chatops_alerts_rejected_total{source="panther",reason="invalid_payload"} 0');
  });
});
