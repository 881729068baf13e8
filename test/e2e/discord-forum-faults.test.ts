/**
 * Discord forum channels when things go wrong: the built `serve` with the real discord.js against the fake
 * Discord's forums (fake-discord-forum.ts). A moment's failure while finding out that the channel is a forum, a
 * post Discord made only after its request timed out, a resolution arriving while a post's answer was lost, a
 * post made for an alert already resolved, a repeat's message inside an archived post, and tag names a forum
 * no longer has: none of them may lose an alert, post it twice, or leave a post showing the wrong state.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import type { ServeProcess } from '../helpers/serve-process';
import { until } from '../helpers/interactions';
import { alertmanagerFixture, deliveries, postWebhook, startForumServe, type ForumServeOptions } from '../helpers/forum-serve';

jest.setTimeout(60_000);

const FORUM = '1100000000000000009';
const STRICT = '1100000000000000008';
const TAGS = [
  { id: '2200000000000000001', name: 'critical' },
  { id: '2200000000000000002', name: 'high' },
  { id: '2200000000000000005', name: 'alert' },
];
const ARCHIVING = `forum: { tags: { severity: { CRITICAL: critical, HIGH: high } }, archiveOnResolve: true }`;

let slack: FakeSlack;
let discord: FakeDiscord;
let serve: ServeProcess | undefined;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord({
    forums: [
      { id: FORUM, name: 'alerts-forum', tags: TAGS },
      { id: STRICT, name: 'strict-forum', requireTag: true, tags: [TAGS[2]!] },
    ],
  });
});
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await slack.close();
  await discord.close();
});

async function start(options: Partial<ForumServeOptions> = {}): Promise<string> {
  const started = await startForumServe(slack, discord, { forumId: FORUM, forum: ARCHIVING, ...options });
  serve = started.serve;
  return started.storePath;
}

const post = (source: 'panther' | 'alertmanager', body: unknown) => postWebhook(serve!, source, body);
const posts = () => [...discord.forums.posts.values()];
const threadRequests = () => discord.requests.filter((r) => r.route === 'POST /channels/:id/threads');
const editsOf = (id: string) => discord.messages.filter((m) => m.kind === 'edit' && m.messageId === id);
const settled = (storePath: string, n: number) => () => deliveries(storePath).length === n && deliveries(storePath).every((d) => d.status !== 'pending');

/** Alertmanager's firing notification of api-1 alone, and the resolution of api-1 or api-2 (the fixtures' alerts). */
function firingApi1() {
  const body = alertmanagerFixture('v0.25-firing-two.json');
  body.alerts = [body.alerts[0]];
  return body;
}
function resolved(instance: 'api-1' | 'api-2') {
  const body = alertmanagerFixture('v0.25-resolved-one.json');
  if (instance === 'api-2') {
    const firing = alertmanagerFixture('v0.25-firing-two.json').alerts[1];
    body.alerts = [{ ...firing, status: 'resolved', endsAt: '2024-05-02T10:32:00Z' }];
  }
  return body;
}

describe('Discord forum channels: faults', () => {
  it('posts the alert when reading the channel, after its first message was refused there, fails for a moment', async () => {
    discord.failNext(1, 503, (r) => r.route === 'GET /channels/:id' && r.path.endsWith(`/${FORUM}`));
    const storePath = await start();
    await post('panther', makeAlertPayload({ title: 'Seen after a 503' }));
    await until(settled(storePath, 1), 15_000, 'the delivery settled');
    expect(deliveries(storePath)[0]).toMatchObject({ status: 'delivered' });
    expect(posts().map((p) => p.name)).toEqual(['Seen after a 503']);
    expect(discord.violations).toEqual([]);
  });


  it('never makes a second post when Discord made the first only after its request timed out, and another post came between', async () => {
    discord.latePosts = 1;
    const storePath = await start({ threads: 'off' });
    await post('panther', makeAlertPayload({ title: 'Made late' }));
    await until(() => threadRequests().length === 1, 10_000, 'the first post requested (no answer)');
    await post('panther', makeAlertPayload({ title: 'Another alert' }));
    await until(settled(storePath, 2), 20_000, 'both deliveries settled');
    expect(deliveries(storePath).map((d) => d.status)).toEqual(['delivered', 'delivered']);
    expect(posts().map((p) => p.name).sort()).toEqual(['Another alert', 'Made late']);
    const made = posts().find((p) => p.name === 'Made late')!;
    expect(JSON.parse(deliveries(storePath)[0]!.message_ref!)).toEqual({ channelId: made.id, messageId: made.id });
    expect(discord.violations).toEqual([]);
  });


  it('makes one post when the source resolves the alert while the answer to its post is lost: that post shows the resolution', async () => {
    discord.losePostAnswers = 1;
    const storePath = await start({ threads: 'off' });
    await post('alertmanager', firingApi1());
    await until(() => posts().length === 1, 10_000, 'the post made, its answer lost');
    await post('alertmanager', resolved('api-1'));
    await until(settled(storePath, 1), 15_000, 'the delivery settled');
    expect(deliveries(storePath)[0]).toMatchObject({ status: 'delivered' });
    expect(posts()).toHaveLength(1);
    const [thread] = posts();
    expect(JSON.stringify(discord.stored(thread!.id)!.embeds)).toContain('Resolved');
    expect(thread!.archived).toBe(true);
    expect(discord.violations).toEqual([]);
  });


  it('archives a post made for an alert already resolved when it is posted (no firing message to edit)', async () => {
    const storePath = await start({ threads: 'off' });
    await post('alertmanager', resolved('api-1'));
    await until(settled(storePath, 1), 10_000, 'the delivery settled');
    expect(deliveries(storePath)[0]).toMatchObject({ status: 'delivered' });
    const [thread] = posts();
    expect(JSON.stringify(discord.stored(thread!.id)!.embeds)).toContain('Resolved');
    expect(thread!.archived).toBe(true);
    expect(discord.violations).toEqual([]);
  });


  it('edits a repeat inside a post that was archived when its first alert resolved, and leaves the post archived', async () => {
    const storePath = await start({ threads: 'on' });
    await post('alertmanager', alertmanagerFixture('v0.25-firing-two.json'));
    await until(settled(storePath, 2), 10_000, 'both alerts delivered');
    expect(posts()).toHaveLength(1);
    const thread = posts()[0]!;
    const repeat = discord.messages.find((m) => m.route === 'POST /channels/:id/messages' && m.channelId === thread.id)!;
    expect(repeat).toBeDefined();
    await post('alertmanager', resolved('api-1'));
    await until(() => thread.archived, 10_000, 'the post archived');
    await post('alertmanager', resolved('api-2'));
    await until(() => editsOf(repeat.messageId).some((e) => JSON.stringify(e.body.embeds).includes('Resolved')), 10_000, 'the repeat shown resolved');
    await until(() => thread.archived, 10_000, 'the post archived again');
    // Refused once while archived (50083), then made between an unarchive and an archive.
    const refused = discord.requests.filter((r) => r.route === 'PATCH /channels/:id/messages/:mid' && r.status === 400);
    expect(refused.map((r) => [r.path.endsWith(`/${repeat.messageId}`), (r.responseBody as { code: number }).code])).toEqual([[true, 50083]]);
    expect(discord.violations).toEqual([]);
  });


  it('with onResolved: post and threads on, posts the resolution into the firing alert’s post, not into a post of its own', async () => {
    const storePath = await start({ threads: 'on', onResolved: 'post' });
    await post('alertmanager', firingApi1());
    await until(settled(storePath, 1), 10_000, 'the firing alert delivered');
    await post('alertmanager', resolved('api-1'));
    await until(settled(storePath, 2), 10_000, 'the resolution delivered');
    expect(posts()).toHaveLength(1);
    const notice = discord.messages.find((m) => m.route === 'POST /channels/:id/messages' && m.channelId === posts()[0]!.id);
    expect(JSON.stringify(notice?.body.embeds)).toContain('Resolved');
    expect(discord.violations).toEqual([]);
  });

  it('applies forum.tags.default when the tags the alert maps to are not among the forum’s (a forum that requires one)', async () => {
    const storePath = await start({ forumId: STRICT, forum: 'forum: { tags: { severity: { HIGH: high }, default: alert } }' });
    await post('panther', makeAlertPayload({ severity: 'HIGH', title: 'Tag renamed on the forum' }));
    await until(settled(storePath, 1), 10_000, 'the delivery settled');
    expect(deliveries(storePath)[0]).toMatchObject({ status: 'delivered' });
    expect(posts()).toMatchObject([{ name: 'Tag renamed on the forum', appliedTags: [TAGS[2]!.id] }]);
  });
});
