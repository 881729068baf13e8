/**
 * Escalation reminders with two replicas of the built bridge on one PostgreSQL database (issue 18, point 2): both run
 * the reminder loop, and each reminder of each message is sent once, by whichever replica leased it; the schedule
 * goes on when the replica that sent the first reminder is killed.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml } from '../helpers/bridge-harness';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { eventually, postPanther, Replica, replicaEnv, writeReplicaConfig } from '../helpers/replicas';
import { EscalationView, steps } from '../helpers/escalation-view';

jest.setTimeout(120_000);

let slack: FakeSlack;
let discord: FakeDiscord;
let db: TestDatabase;
const running: Replica[] = [];

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  // The reminders' mentions are live on purpose (recorded, not refused; the escalation test checks them).
  slack.rejectViolations = false;
  discord.rejectViolations = false;
  db = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.kill()));
  await db.drop();
  await slack.close();
  await discord.close();
});

/** The lines of a replica's log that record a reminder sent, as their steps. */
const sentSteps = (r: Replica) =>
  r
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"msg":"escalation reminder"') && l.includes('"outcome":"sent"'))
    .map((l) => Number(/"step":(\d+)/.exec(l)?.[1]));

describe('escalation with two replicas on PostgreSQL', () => {
  it('sends each reminder once across the replicas, and goes on when the one that sent the first is killed', async () => {
    const webhookUrl = discord.webhookUrl();
    const file = writeReplicaConfig(
      harnessYaml({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl,
        storeUrl: db.url,
        routesYaml: `routes:
  - name: soc
    to: [soc-slack, soc-discord]
    digest: off
    threads: on
    escalate: { after: 2s, repeat: 3s, times: 3, label: "@secops-leads", mentions: { slack: { groups: [S0ESCALATE] }, discord: { roles: ["1500000000000000001"] } } }`,
      }),
    );
    const env = replicaEnv(webhookUrl);
    const replicas = [new Replica('a', file, env), new Replica('b', file, env)];
    running.push(...replicas);
    await Promise.all(replicas.map((r) => r.listening()));
    const view = new EscalationView(slack, discord);
    const titles = ['Escalation one', 'Escalation two', 'Escalation three'];
    for (const [i, title] of titles.entries()) expect((await postPanther((await replicas[i % 2]!.listening())!, makeAlertPayload({ title, id: `Detection.${i}` }))).status).toBe(200);

    await eventually(() => titles.every((t) => view.allShow(t, 'Escalated 1/3')()), 30_000, 'every first reminder recorded', view.describe);
    // The replica that sent most of the first reminders dies without a word; the other takes the schedule over.
    const [victim, survivor] = sentSteps(replicas[0]!).length >= sentSteps(replicas[1]!).length ? [replicas[0]!, replicas[1]!] : [replicas[1]!, replicas[0]!];
    await victim.kill();
    await eventually(() => titles.every((t) => view.allShow(t, 'Escalated 3/3 to @secops-leads')()), 60_000, 'every last reminder recorded', view.describe);

    for (const title of titles) {
      expect(steps(view.slackReminders(title))).toEqual([1, 2, 3]);
      expect(steps(view.discordReminders(title))).toEqual([1, 2, 3]);
    }
    // Six messages, three reminders each: eighteen sends, none of them twice, logged by the replica that made it.
    expect([...sentSteps(victim), ...sentSteps(survivor)].sort()).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
    expect(sentSteps(survivor).filter((s) => s > 1).length).toBeGreaterThan(0);
  });
});
