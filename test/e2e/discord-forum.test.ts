/**
 * Discord forum channels end to end: the built `serve` (dist/main.js) with the real discord.js against the fake
 * Discord modelling forum channels by Discord's documentation (fake-discord-forum.ts). A `discord` destination
 * whose channel turns out to be a forum gets one post per alert (titled and tagged from the alert), repeats go
 * into the post with `threads:` on, a resolution edits the starter and archives the post, a hostile title is
 * fitted and pings nobody, a crash after Discord made a post never makes a second one, and `doctor` names the
 * channel's type and what the forum lacks.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { MAIN, startServe, untilLogged, type ServeProcess } from '../helpers/serve-process';
import { discordClick, discordKeys, send, until } from '../helpers/interactions';
import { harnessConfig, startHarnessBridge } from '../helpers/bridge-harness';
import { alertmanagerFixture, deliveries, postWebhook, startForumServe } from '../helpers/forum-serve';

jest.setTimeout(60_000);

const FORUM = '1100000000000000009';
const TAGS = [
  { id: '2200000000000000001', name: 'critical' },
  { id: '2200000000000000002', name: 'high' },
  { id: '2200000000000000003', name: 'AWS' },
  { id: '2200000000000000004', name: 'payments' },
];
const tagId = (name: string) => TAGS.find((t) => t.name === name)!.id;
const FORUM_OPTIONS = `forum: { tags: { severity: { CRITICAL: critical, HIGH: high }, alertTags: { aws: AWS, "team=payments": payments } }, archiveOnResolve: true }`;

let slack: FakeSlack;
let discord: FakeDiscord;
let serve: ServeProcess | undefined;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord({ forums: [{ id: FORUM, name: 'alerts-forum', tags: TAGS }] });
});
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await slack.close();
  await discord.close();
});

/** Starts the built serve with the forum destination on one route. */
async function start(options: { threads?: 'on' | 'off'; forum?: string; storePath?: string } = {}): Promise<{ storePath: string; configFile: string; env: Record<string, string> }> {
  const started = await startForumServe(slack, discord, { forumId: FORUM, forum: options.forum ?? FORUM_OPTIONS, ...(options.threads ? { threads: options.threads } : {}), ...(options.storePath ? { storePath: options.storePath } : {}) });
  serve = started.serve;
  return started;
}

const post = (source: 'panther' | 'alertmanager', body: unknown) => postWebhook(serve!, source, body);
const fixture = alertmanagerFixture;
const posts = () => [...discord.forums.posts.values()];
const postCreates = () => discord.messages.filter((m) => m.route === 'POST /channels/:id/threads');
const threadRequests = () => discord.requests.filter((r) => r.route === 'POST /channels/:id/threads');
const editsOf = (id: string) => discord.messages.filter((m) => m.kind === 'edit' && m.messageId === id);
const delivered = deliveries;

describe('Discord forum channels', () => {
  it('makes one post per alert, titled and tagged from the alert; with threads on a repeat goes into that post', async () => {
    const { storePath } = await start();
    const first = makeAlertPayload({ id: 'AWS.Root', severity: 'HIGH', tags: ['aws', 'Other'], title: 'Root login from 203.0.113.7' });
    await post('panther', first);
    await until(() => posts().length === 1, 10_000, 'the first post');
    const [thread] = posts();
    expect(thread).toMatchObject({ parentId: FORUM, name: 'Root login from 203.0.113.7', appliedTags: [tagId('high'), tagId('AWS')] });
    const starter = postCreates()[0]!;
    expect(starter.messageId).toBe(thread!.id);
    expect(JSON.stringify(starter.body.embeds)).toContain('Root login from 203.0.113.7');
    expect(starter.body.allowed_mentions).toEqual({ parse: [] });
    // The message was first tried as a channel message (refused: 40058), then posted; never sent twice.
    expect(threadRequests()).toHaveLength(1);

    await post('panther', makeAlertPayload({ id: 'AWS.Root', severity: 'HIGH', title: 'Root login from 198.51.100.4' }));
    await until(() => discord.messages.some((m) => m.kind === 'create' && m.channelId === thread!.id && m.route === 'POST /channels/:id/messages'), 10_000, 'the repeat in the post');
    const repeat = discord.messages.find((m) => m.route === 'POST /channels/:id/messages' && m.channelId === thread!.id)!;
    expect(JSON.stringify(repeat.body.embeds)).toContain('198.51.100.4');
    expect(repeat.body.nonce).toEqual(expect.any(String));
    expect(posts()).toHaveLength(1);
    await until(() => editsOf(thread!.id).some((e) => JSON.stringify(e.body.embeds).includes('1 more in thread')), 10_000, 'the counter on the starter');
    await until(() => delivered(storePath).every((d) => d.status === 'delivered'), 10_000, 'both delivered');
    expect(delivered(storePath).map((d) => JSON.parse(d.message_ref!))).toEqual([
      { channelId: thread!.id, messageId: thread!.id },
      { channelId: thread!.id, messageId: repeat.messageId },
    ]);
    expect(discord.violations).toEqual([]);
  });

  it('makes a post for every alert when the route has threads off', async () => {
    await start({ threads: 'off' });
    await post('panther', makeAlertPayload({ id: 'AWS.Root', title: 'First' }));
    await post('panther', makeAlertPayload({ id: 'AWS.Root', title: 'Second' }));
    await until(() => posts().length === 2, 10_000, 'two posts');
    expect(posts().map((p) => p.name).sort()).toEqual(['First', 'Second']);
    expect(discord.messages.filter((m) => m.route === 'POST /channels/:id/messages' && m.channelId !== FORUM)).toEqual([]);
    expect(discord.violations).toEqual([]);
  });

  it('edits the starter when the source resolves the alert, then archives the post', async () => {
    await start({ threads: 'off' });
    await post('alertmanager', fixture('v0.25-firing-two.json'));
    await until(() => posts().length === 2, 10_000, 'two posts');
    const resolvedPost = posts().find((p) => p.name === 'High 5xx rate on api-1')!;
    const otherPost = posts().find((p) => p.name === 'High 5xx rate on api-2')!;
    expect(resolvedPost.appliedTags).toEqual([tagId('critical'), tagId('payments')]);

    await post('alertmanager', fixture('v0.25-resolved-one.json'));
    await until(() => resolvedPost.archived, 10_000, 'the resolved post archived');
    const edit = editsOf(resolvedPost.id).at(-1)!;
    expect(JSON.stringify(edit.body.embeds)).toContain('Resolved');
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    // The edit came before the archive (Discord refuses edits in archived threads).
    const archive = discord.requests.find((r) => r.route === 'PATCH /channels/:id' && r.path.endsWith(`/${resolvedPost.id}`))!;
    expect(archive.body).toEqual({ archived: true });
    expect(archive.receivedAt).toBeGreaterThanOrEqual(edit.receivedAt);
    expect(otherPost.archived).toBe(false);
    expect(discord.violations).toEqual([]);
  });

  it('fits a hostile title of more than 100 characters and pings nobody', async () => {
    await start();
    const title = `@everyone <@&223344556677889900> **urgent** [bank](https://evil.example/login) ${'x'.repeat(150)}`;
    await post('panther', makeAlertPayload({ title }));
    await until(() => posts().length === 1, 10_000, 'the post');
    const name = posts()[0]!.name;
    expect([...name].length).toBeLessThanOrEqual(100);
    expect(name.endsWith('…')).toBe(true);
    expect(name).toContain('@\u200beveryone');
    expect(name).not.toMatch(/@everyone|<@&|\*\*|\]\(/);
    expect(name).toContain('hxxps://evil[.]example');
    const starter = postCreates()[0]!;
    expect(starter.body.allowed_mentions).toEqual({ parse: [] });
    expect(JSON.stringify(starter.body)).not.toMatch(/@everyone|<@&\d/);
    expect(discord.violations).toEqual([]);
  });

  it('honours a 429 on the post: retried after Retry-After, one post', async () => {
    await start();
    discord.failNext(1, { kind: 'rateLimit', retryAfterSec: 1 }, 'POST /channels/:id/threads');
    await post('panther', makeAlertPayload({ title: 'Paced' }));
    await until(() => posts().length === 1, 15_000, 'the post after the 429');
    await untilLogged(serve!, '"outcome":"rate_limited"');
    expect(threadRequests().map((r) => r.status)).toEqual([429, 201]);
  });

  it('never makes a second post when the answer to the first was lost to a timeout', async () => {
    discord.losePostAnswers = 1;
    const { storePath } = await start();
    await post('panther', makeAlertPayload({ title: 'Answer lost' }));
    await until(() => delivered(storePath)[0]?.status === 'delivered', 15_000, 'delivered after the timeout');
    await untilLogged(serve!, '"outcome":"retry"');
    expect(posts()).toHaveLength(1);
    expect(threadRequests()).toHaveLength(1);
    expect(JSON.parse(delivered(storePath)[0]!.message_ref!)).toEqual({ channelId: posts()[0]!.id, messageId: posts()[0]!.id });
    expect(discord.violations).toEqual([]);
  });

  it('never makes a second post after a crash right after Discord made the first', async () => {
    discord.losePostAnswers = 1;
    const { storePath, configFile, env } = await start();
    await post('panther', makeAlertPayload({ title: 'Made once' }));
    await until(() => posts().length === 1, 10_000, 'the post made, its answer lost');
    serve!.child.kill('SIGKILL');
    await new Promise((r) => serve!.child.once('exit', r));
    // The new process waits for the killed one's store lock to lapse (about 15 s), then resumes the delivery.
    serve = await startServe(configFile, env);
    await until(() => delivered(storePath)[0]?.status === 'delivered', 15_000, 'delivered after the restart');
    const [thread] = posts();
    expect(JSON.parse(delivered(storePath)[0]!.message_ref!)).toEqual({ channelId: thread!.id, messageId: thread!.id });
    expect(posts()).toHaveLength(1);
    expect(threadRequests()).toHaveLength(1);
    // The post found was brought up to date instead (its starter edited, no ping).
    expect(editsOf(thread!.id)).toHaveLength(1);
    expect(discord.violations).toEqual([]);
  });
});

describe('Discord forum channels: triage clicks (bridge in-process)', () => {
  it('archives the post on a Resolve click; a later click edits the archived post and archives it again', async () => {
    const keys = discordKeys();
    const bridge = await startHarnessBridge(
      harnessConfig({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl: discord.webhookUrl(),
        discordPublicKey: keys.publicKeyHex,
        extraDestinations: `  soc-forum: { type: discord, channel: "${FORUM}", pace: { limit: 50, windowMs: 100 }, ${FORUM_OPTIONS} }`,
        routesYaml: 'routes:\n  - name: forum\n    to: [soc-forum]\n    digest: off',
      }),
    );
    try {
      expect((await fetch(`${bridge.url}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(makeAlertPayload({ title: 'Clicked' })) })).status).toBe(200);
      await until(() => posts().length === 1, 10_000, 'the post');
      const thread = posts()[0]!;
      const buttons = (postCreates()[0]!.body.components as { components: { custom_id?: string }[] }[]).flatMap((row) => row.components);
      const click = async (action: string) => {
        const customId = buttons.find((b) => b.custom_id?.startsWith(`cb:${action}:`))!.custom_id!;
        expect((await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId, channelId: thread.id, messageId: thread.id })))).body).toEqual({ type: 6 });
      };
      await click('resolve');
      await until(() => thread.archived, 10_000, 'the post archived');
      expect(JSON.stringify(editsOf(thread.id).at(-1)!.body.embeds)).toContain('Resolved by @Bob');
      await click('assign');
      await until(() => editsOf(thread.id).some((e) => JSON.stringify(e.body.embeds).includes('Assigned to @Bob')), 10_000, 'the assignment shown');
      await until(() => thread.archived, 10_000, 'the post archived again');
      // The edit in the archived post was refused once (50083), then made between an unarchive and an archive.
      const archiving = discord.requests.filter((r) => r.route === 'PATCH /channels/:id').map((r) => r.body);
      expect(archiving).toEqual([{ archived: true }, { archived: false }, { archived: true }]);
      expect(discord.requests.filter((r) => r.status === 400).map((r) => (r.responseBody as { code: number }).code)).toEqual([40058, 50083]);
    } finally {
      await bridge.stop();
    }
  });
});

describe('doctor on forum channels', () => {
  const runDoctor = (configFile: string, env: Record<string, string>) =>
    new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN, 'doctor', '--config', configFile], { env: { PATH: process.env.PATH ?? '', ...env } });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (status) => resolve({ status, stdout }));
    });

  it('names the channel type, the tag names the forum lacks, and a forum that requires a tag nothing maps', async () => {
    discord.addForum({ id: '1100000000000000008', name: 'strict-forum', requireTag: true, type: 16, tags: TAGS });
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    const webhookUrl = discord.webhookUrl();
    writeFileSync(
      configFile,
      harnessYaml({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl,
        storePath,
        extraDestinations: [
          `  soc-forum: { type: discord, channel: "${FORUM}", forum: { tags: { severity: { CRITICAL: critical, HIGH: High }, alertTags: { db: Database, k8s: "Kubernetes" } } } }`,
          `  strict: { type: discord, channel: "1100000000000000008" }`,
        ].join('\n'),
      }),
    );
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const result = await runDoctor(configFile, env);
    const checks = JSON.parse(result.stdout) as { check: string; ok: boolean; warn?: boolean; detail?: string; fix?: string }[];
    const byName = (name: string) => checks.find((c) => c.check.startsWith(`destination ${name} `))!;
    expect(result.status).toBe(1);
    expect(byName('soc-discord')).toMatchObject({ ok: true, detail: expect.stringContaining('text channel') });
    // "High" matches the forum's "high" (case-insensitively); the two others are missing.
    expect(byName('soc-forum')).toMatchObject({ ok: false, detail: expect.stringContaining('forum') });
    expect(byName('soc-forum').detail).toContain('"Database", "Kubernetes"');
    expect(byName('soc-forum').detail).not.toContain('"High"');
    expect(byName('soc-forum').fix).toMatch(/tags/i);
    expect(byName('strict')).toMatchObject({ ok: false, detail: expect.stringMatching(/media channel.*requires a tag/) });
    expect(byName('strict').fix).toMatch(/forum\.tags/);
  });
});
