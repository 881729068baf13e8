/**
 * `serve --role receiver` and `serve --role worker` on one PostgreSQL (issue 17, point 1): the receiver stores what
 * arrives and delivers nothing, the worker delivers and serves only its probes, and the worker learns of new work by
 * LISTEN/NOTIFY rather than at its next poll. Built replicas (`node dist/main.js serve`) against the loopback fakes.
 *
 * How the wake-up is told from the poll without a bound on the bridge's speed: the worker's idle poll is set to two
 * minutes (`delivery.idlePollMs`), and each alert is posted only once the previous one is recorded as delivered
 * and the worker has gone back to sleep. A worker that only polled would deliver none of them within the test's
 * waits; woken by NOTIFY it delivers each (the log line gives the times, a few tens of milliseconds here).
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, tempStorePath } from '../helpers/bridge-harness';
import { discordKeys, send, signSlack, slackClick, SLACK_SIGNING_SECRET } from '../helpers/interactions';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { eventually, getText, postPanther, queryDb, Replica, replicaEnv, writeReplicaConfig } from '../helpers/replicas';

jest.setTimeout(120_000);

const keys = discordKeys();
let slack: FakeSlack;
let discord: FakeDiscord;
let db: TestDatabase;
const running: Replica[] = [];

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
beforeEach(async () => {
  db = await createTestDatabase();
  slack.reset();
  discord.reset();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.kill()));
  await db.drop();
});
afterAll(async () => {
  await slack?.close();
  await discord?.close();
});

function config(routesYaml?: string, storePath?: string, idlePollMs?: number): { file: string; env: Record<string, string> } {
  const webhookUrl = discord.webhookUrl();
  let yaml = harnessYaml({
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl,
    ...(storePath ? { storePath } : { storeUrl: db.url }),
    slackSigningSecret: SLACK_SIGNING_SECRET,
    discordPublicKey: keys.publicKeyHex,
    ...(routesYaml ? { routesYaml } : {}),
  });
  if (idlePollMs !== undefined) yaml = yaml.replace('leaseMs: 5000', `leaseMs: 5000\n  idlePollMs: ${idlePollMs}`);
  return { file: writeReplicaConfig(yaml), env: replicaEnv(webhookUrl) };
}

async function start(name: string, c: { file: string; env: Record<string, string> }, role: string): Promise<Replica> {
  const replica = new Replica(name, c.file, c.env, ['--role', role]);
  running.push(replica);
  await replica.listening();
  return replica;
}

const posts = () => slack.messages.filter((m) => m.method === 'chat.postMessage');
const updates = () => slack.messages.filter((m) => m.method === 'chat.update');
const discordCreates = () => discord.messages.filter((m) => m.kind === 'create');
const discordEdits = () => discord.messages.filter((m) => m.kind === 'edit');

/** The sum of a counter's series in a replica's /metrics whose labels contain `labels`. */
async function counter(replica: Replica, name: string, labels = ''): Promise<number> {
  const text = (await getText(replica.url!, '/metrics')).text;
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m && m[1]!.includes(labels)) sum += Number(m[2]);
  }
  return sum;
}

const roleOf = async (replica: Replica) => /^chatops_instance_info\{[^}]*role="([^"]+)"[^}]*\} 1$/m.exec((await getText(replica.url!, '/metrics')).text)?.[1];
const readyChecks = async (replica: Replica) => {
  const ready = await getText(replica.url!, '/readyz');
  return { status: ready.status, checks: (JSON.parse(ready.text) as { checks: { name: string }[] }).checks.map((c) => c.name) };
};
const deliveredRows = async () => (await queryDb<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM deliveries WHERE status = 'delivered'`))[0]!.n;

/**
 * Posts `count` alerts to `receiver` one at a time, each once the one before is recorded as delivered and the
 * worker's loop had 150 ms to go idle again, and returns each one's time from the POST to the Slack post at the fake.
 */
async function deliveryTimes(receiver: Replica, count: number, label: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const before = posts().length;
    const recorded = await deliveredRows();
    await new Promise((r) => setTimeout(r, 150));
    const sentAt = Date.now();
    expect((await postPanther(receiver.url!, makeAlertPayload({ title: `${label} ${i}` }))).status).toBe(200);
    await eventually(() => posts().length > before, 10_000, `alert ${i} posted`);
    times.push(posts()[before]!.receivedAt - sentAt);
    await eventually(async () => (await deliveredRows()) > recorded, 10_000, `alert ${i} recorded`);
  }
  return times;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const SLACK_ONLY = 'routes:\n  - name: slack-only\n    to: [soc-slack]\n    digest: off';

describe('serve --role receiver and --role worker on one PostgreSQL', () => {
  it('the receiver stores and delivers nothing; the worker delivers it and serves only its probes', async () => {
    const c = config();
    const worker = await start('W', c, 'worker');
    const receiver = await start('R', c, 'receiver');

    for (let i = 0; i < 5; i++) expect((await postPanther(receiver.url!, makeAlertPayload({ title: `Split roles ${i}` }))).status).toBe(200);
    await eventually(() => posts().length === 5 && discordCreates().length === 10, 15_000, 'five alerts in Slack, the Discord channel and the Discord webhook');
    await eventually(async () => (await deliveredRows()) === 15, 5000, 'the fifteen deliveries recorded');

    expect(await roleOf(receiver)).toBe('receiver');
    expect(await roleOf(worker)).toBe('worker');
    expect(await counter(worker, 'chatops_deliveries_total', 'outcome="delivered"')).toBe(15);
    expect(await counter(receiver, 'chatops_deliveries_total', 'outcome="delivered"')).toBe(0);
    expect(await counter(receiver, 'chatops_alerts_received_total')).toBe(5);

    // Each one's /readyz checks what it runs: the receiver has no worker and checks no platform token.
    expect(await readyChecks(receiver)).toEqual({ status: 200, checks: ['store', 'templates'] });
    expect(await readyChecks(worker)).toEqual({ status: 200, checks: ['store', 'worker', 'templates', 'slack_token', 'discord_token'] });

    // A worker receives nothing: a webhook, a click, the console and the admin API are 404 with the reason.
    const misrouted = await postPanther(worker.url!, makeAlertPayload({ title: 'Sent to a worker' }));
    expect(misrouted.status).toBe(404);
    expect(misrouted.body).toEqual({ error: 'not_found', message: expect.stringContaining('serve --role worker') });
    for (const path of ['/slack/events', '/discord/interactions', '/console/', '/admin/outbox']) expect((await getText(worker.url!, path)).status).toBe(404);
    expect((await getText(worker.url!, '/healthz')).status).toBe(200);
    expect(posts().length).toBe(5);
    expect([...slack.violations, ...discord.violations]).toEqual([]);
  });

  it('a click on the receiver edits every copy: the worker, told by NOTIFY, makes the edits', async () => {
    const c = config('routes:\n  - name: soc\n    to: [soc-slack, soc-discord]\n    digest: off');
    const worker = await start('W', c, 'worker');
    const receiver = await start('R', c, 'receiver');
    expect((await postPanther(receiver.url!, makeAlertPayload({ title: 'Clicked on a receiver' }))).status).toBe(200);
    await eventually(() => posts().length === 1 && discordCreates().length === 1, 10_000, 'the copies posted');
    await eventually(async () => (await deliveredRows()) === 2, 5000, 'the copies recorded');

    const first = posts()[0]!;
    const blocks = (first.args.blocks ?? []) as { type: string; block_id?: string; elements?: { action_id: string; value: string }[] }[];
    const ack = blocks.filter((b) => b.type === 'actions' && b.block_id?.startsWith('triage')).flatMap((b) => b.elements ?? []).find((x) => x.action_id === 'triage_acknowledge')!;
    const clicked = await send(`${receiver.url}/slack/events`, signSlack(slackClick({ actionId: ack.action_id, value: ack.value, channel: first.channel, messageTs: first.ts })));
    expect(clicked.status).toBe(200);
    await eventually(() => updates().length === 1 && discordEdits().length === 1, 10_000, 'both copies edited', () => JSON.stringify({ updates: updates().length, discordEdits: discordEdits().length }));
    expect(JSON.stringify(slack.stored(first.channel, first.ts)?.blocks)).toMatch(/Acknowledged by @alice/);
    expect(JSON.stringify(discord.stored(discordCreates()[0]!.messageId)?.embeds)).toMatch(/Acknowledged by @alice/);
    // Counted once the worker has the platforms' answers (a moment after the fakes saw the edits).
    await eventually(async () => (await counter(worker, 'chatops_message_edits_total', 'outcome="edited"')) === 2, 5000, 'the worker counting both edits');
    expect(await counter(receiver, 'chatops_message_edits_total', 'outcome="edited"')).toBe(0);
    expect(await counter(receiver, 'chatops_interactions_total', 'outcome="applied"')).toBe(1);
  });

  it('wakes the worker by NOTIFY: alerts posted to the receiver are delivered though the worker polls only every two minutes, also after its LISTEN connection was terminated', async () => {
    const c = config(SLACK_ONLY, undefined, 120_000);
    const worker = await start('W', c, 'worker');
    const receiver = await start('R', c, 'receiver');
    const listenPids = async () =>
      (await queryDb<{ pid: number }>(db.url, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, [`chatops-bridge listen ${worker.instanceId}`])).map((r) => r.pid);
    await eventually(async () => (await listenPids()).length === 1, 10_000, 'the worker listening');

    const first = await deliveryTimes(receiver, 10, 'Woken');

    // The worker's LISTEN connection is terminated: it reconnects (one new backend) and is woken again.
    const [killed] = await listenPids();
    await queryDb(db.url, 'SELECT pg_terminate_backend($1)', [killed]);
    await eventually(async () => {
      const pids = await listenPids();
      return pids.length === 1 && pids[0] !== killed;
    }, 15_000, 'the LISTEN connection back');
    expect(worker.stderr()).toMatch(/store wake-ups: the LISTEN connection was lost/);
    const after = await deliveryTimes(receiver, 10, 'Woken again');

    console.log(`receiver → worker, one at a time with the worker idle: median ${median(first)} ms (each: ${first.join(', ')}); after the LISTEN connection was terminated: median ${median(after)} ms (each: ${after.join(', ')})`);
    // Every one was delivered (deliveryTimes waits for each): with the receiver's NOTIFY turned off, the first
    // already waits for the worker's two-minute poll and the test fails there.
    expect([first.length, after.length]).toEqual([10, 10]);
    expect(await counter(receiver, 'chatops_deliveries_total', 'outcome="delivered"')).toBe(0);
  });
});

describe('serve --role on SQLite, and an unknown role', () => {
  it('an unknown role is a usage error: exit 2 naming the roles, before any config is read', async () => {
    const replica = new Replica('bogus', '/nonexistent/bridge.yaml', {}, ['--role', 'both']);
    running.push(replica);
    expect(await replica.exited).toBe(2);
    await eventually(() => replica.stderr().includes('Allowed choices'), 5000, 'the usage message', () => replica.stderr());
    expect(replica.stderr()).toContain("error: option '--role <role>' argument 'both' is invalid. Allowed choices are all, receiver, worker.");
    expect(replica.stderr()).toContain('Usage: chatops-bridge serve [options]');
  });

  it('receiver or worker is refused: exit 1 naming the reason (one process serves a SQLite store)', async () => {
    const c = config(undefined, tempStorePath());
    for (const role of ['receiver', 'worker']) {
      const replica = new Replica(`sqlite-${role}`, c.file, c.env, ['--role', role]);
      running.push(replica);
      expect(await replica.exited).toBe(1);
      await eventually(() => replica.stderr().includes('cannot start'), 5000, 'the reason on stderr', () => replica.stderr());
      expect(replica.stderr()).toContain(`cannot start: role "${role}" needs a PostgreSQL store (store.url)`);
      expect(replica.url).toBeUndefined();
    }
  });
});
