/**
 * Write-back to Panther: a click on Slack or Discord also updates the alert through Panther's GraphQL API (a
 * loopback fake), in click order, with the API key header. A failing API never blocks the chat action: the
 * messages say "Not synced to Panther: …" until a retry succeeds, and the line disappears again.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, postAlert, startHarnessBridge } from '../helpers/bridge-harness';
import { discordClick, discordKeys, send, signSlack, slackClick, startFakePanther, until, SLACK_SIGNING_SECRET, type FakePanther } from '../helpers/interactions';
import type { RunningBridge } from '../../src/bridge';
import { countInStore } from '../helpers/store-query';

jest.setTimeout(30_000);

const keys = discordKeys();
let slack: FakeSlack;
let discord: FakeDiscord;
let panther: FakePanther;
let bridge: RunningBridge | undefined;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  panther = await startFakePanther();
});
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  await Promise.all([slack.close(), discord.close(), panther.close()]);
});

async function start() {
  bridge = await startHarnessBridge(
    harnessConfig({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl: discord.webhookUrl(),
      slackSigningSecret: SLACK_SIGNING_SECRET,
      discordPublicKey: keys.publicKeyHex,
      routesYaml: 'routes:\n  - name: soc\n    to: [soc-slack, soc-discord]\n    digest: off',
      extraYaml: `panther:
  api: { url: "${panther.url}", token: "\${PANTHER_API_TOKEN}" }
  users: { "discord:1400000000000000001": "panther-user-bob" }`,
    }, { PANTHER_API_TOKEN: 'panther-api-key-0001' }),
  );
  expect((await postAlert(bridge, makeAlertPayload({ alertId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' }))).status).toBe(200);
  await until(() => bridge!.store!.counts().pending === 0 && slack.messages.length === 1, 5000, 'delivery');
  return bridge;
}

function slackButton(action: string) {
  const post = slack.messages[0]!;
  const blocks = post.args.blocks as { type: string; elements?: { action_id: string; value: string }[] }[];
  const button = blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === `triage_${action}`)!;
  return slackClick({ actionId: button.action_id, value: button.value, channel: post.channel, messageTs: post.ts });
}
const syncedOrDead = () => countInStore(bridge!, `SELECT COUNT(*) AS n FROM panther_sync WHERE status = 'pending'`) === 0;

describe('Panther write-back', () => {
  it('acknowledge, resolve and assign reach Panther in order with X-API-Key; Slack users are found by email', async () => {
    slack.userEmails.set('U0ALICE01', 'Alice@Example.com');
    panther.users.push({ id: 'panther-user-alice', email: 'alice@example.com' });
    const b = await start();
    expect((await send(`${b.url}/slack/events`, signSlack(slackButton('acknowledge')))).status).toBe(200);
    await until(() => panther.requests.length >= 1, 5000, 'status write-back');
    expect((await send(`${b.url}/slack/events`, signSlack(slackButton('assign')))).status).toBe(200);
    const created = discord.messages[0]!;
    const resolveId = (created.body.components as { components: { custom_id?: string }[] }[])[0]!.components.find((c) => c.custom_id?.startsWith('cb:resolve:'))!.custom_id!;
    await send(`${b.url}/discord/interactions`, keys.sign(discordClick({ customId: resolveId, channelId: created.channelId, messageId: created.messageId })));
    await until(() => syncedOrDead() && panther.requests.filter((r) => /mutation/.test(r.query)).length === 3, 5000, 'all write-backs');

    const mutations = panther.requests.filter((r) => /mutation/.test(r.query));
    expect(mutations.map((r) => r.variables.input)).toEqual([
      { ids: ['a1b2c3d4e5f60718293a4b5c6d7e8f90'], status: 'TRIAGED' },
      { ids: ['a1b2c3d4e5f60718293a4b5c6d7e8f90'], assigneeId: 'panther-user-alice' },
      { ids: ['a1b2c3d4e5f60718293a4b5c6d7e8f90'], status: 'RESOLVED' },
    ]);
    expect(mutations.map((r) => /updateAlertStatusById|updateAlertsAssigneeById/.exec(r.query)![0])).toEqual(['updateAlertStatusById', 'updateAlertsAssigneeById', 'updateAlertStatusById']);
    expect(panther.requests.every((r) => r.apiKey === 'panther-api-key-0001')).toBe(true);
  });

  it('shows a failure in every message, retries, and clears it once Panther answers', async () => {
    panther.failWith = 503;
    const b = await start();
    expect((await send(`${b.url}/slack/events`, signSlack(slackButton('acknowledge')))).status).toBe(200);
    const slackShows = (text: string) => JSON.stringify(slack.stored(slack.messages[0]!.channel, slack.messages[0]!.ts)!.blocks).includes(text);
    await until(() => slackShows('Not synced to Panther: Panther API answered HTTP 503'), 5000, 'failure shown on Slack');
    await until(() => JSON.stringify(discord.messages.filter((m) => m.kind === 'edit').at(-1)?.body.embeds ?? '').includes('Not synced to Panther'), 5000, 'failure shown on Discord');
    // The chat action itself went through at once.
    expect(slackShows('Acknowledged by @alice')).toBe(true);
    panther.failWith = undefined;
    await until(() => syncedOrDead(), 5000, 'retry succeeded');
    await until(() => !slackShows('Not synced to Panther') && slackShows('Acknowledged by @alice'), 5000, 'failure line cleared');
    // Nothing secret reaches the message.
    expect(JSON.stringify(slack.messages)).not.toContain('panther-api-key-0001');
  });

  it('says which user mapping is missing instead of guessing', async () => {
    const b = await start();
    const created = discord.messages[0]!;
    const assignId = (created.body.components as { components: { custom_id?: string }[] }[])[0]!.components.find((c) => c.custom_id?.startsWith('cb:assign:'))!.custom_id!;
    await send(`${b.url}/discord/interactions`, keys.sign(discordClick({ customId: assignId, channelId: created.channelId, messageId: created.messageId, userId: '1400000000000000777', username: 'eve' })));
    await until(() => syncedOrDead(), 5000, 'write-back given up');
    await until(() => JSON.stringify(slack.stored(slack.messages[0]!.channel, slack.messages[0]!.ts)!.blocks).includes('no Panther user is mapped for @eve'), 5000, 'reason shown');
  });
});
