/**
 * Reminders that escalate (issue 18, point 2), end to end through the built CLI (`node dist/main.js serve`) against
 * the Slack and Discord fakes with the real SDKs: an alert nobody acknowledged gets its reminders in its thread, at
 * the configured steps, mentioning the escalation targets only; its messages say so and keep saying where the
 * schedule stands; the schedule survives SIGTERM and SIGKILL restarts without a reminder twice; an acknowledgement
 * from another copy, or the source's resolution, stops them for every copy; alerts below `minSeverity` never
 * escalate. Durations are seconds here; nothing asserts how fast anything went, only what was sent, in which order,
 * and not before it was due.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { AM_TOKEN, harnessYaml, PANTHER_TOKEN, peakInWindow, tempStorePath } from '../helpers/bridge-harness';
import { discordClick, discordKeys, send, startFakePanther } from '../helpers/interactions';
import { MAIN, startServe, untilLogged, type ServeProcess } from '../helpers/serve-process';
import { metricsOnceForwarded } from '../helpers/metrics-wait';
import { eventually } from '../helpers/replicas';
import { discordText, EscalationView, shows, slackText, steps } from '../helpers/escalation-view';

jest.setTimeout(120_000);

const keys = discordKeys();
const ROLE = '1500000000000000001';
const GROUP = 'S0ESCALATE';
let slack: FakeSlack;
let discord: FakeDiscord;
let view: EscalationView;
const running: ServeProcess[] = [];

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  // The reminders' mentions are live on purpose: the fakes record them as violations instead of refusing them, and
  // each test checks that the escalation targets' mentions in reminders are the only ones.
  slack.rejectViolations = false;
  discord.rejectViolations = false;
  view = new EscalationView(slack, discord);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
  await slack.close();
  await discord.close();
});

/** A route escalating HIGH and up; the route's own mention (a user) must never be in a reminder. */
function routes(escalate: string, extra = ''): string {
  return `routes:
  - name: soc
    to: [soc-slack, soc-discord${extra}]
    digest: off
    threads: on
    mentions: { slack: { users: [U0ONCALL1] }, discord: { users: ["1600000000000000001"] } }
    escalate: ${escalate}`;
}

const ESCALATE = `{ after: 2s, repeat: 2s, times: 3, minSeverity: HIGH, label: "@secops-leads", mentions: { slack: { groups: [${GROUP}] }, discord: { roles: ["${ROLE}"] } } }`;

/** A config file for serve on a SQLite store of its own (or `storeUrl`), and the environment it reads. */
function writeConfig(routesYaml: string, options: { storePath?: string; extraDestinations?: string; extraYaml?: string } = {}): { file: string; env: Record<string, string> } {
  const storePath = options.storePath ?? tempStorePath();
  const webhookUrl = discord.webhookUrl();
  const file = path.join(path.dirname(storePath), 'bridge.yaml');
  writeFileSync(
    file,
    harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, discordPublicKey: keys.publicKeyHex, routesYaml, ...(options.extraDestinations ? { extraDestinations: options.extraDestinations } : {}), ...(options.extraYaml ? { extraYaml: options.extraYaml } : {}) }),
  );
  return { file, env: { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl } };
}

async function serve(config: { file: string; env: Record<string, string> }): Promise<ServeProcess> {
  const s = await startServe(config.file, config.env);
  running.push(s);
  return s;
}

async function stop(s: ServeProcess, signal: NodeJS.Signals): Promise<number | null> {
  running.splice(running.indexOf(s), 1);
  return s.stop(signal);
}

/** Every Discord message (bot and webhook) first posted for the alert `title` (not its reminders). */
const discordCreatesOf = (title: string) => view.discordCreates().filter((m) => !String(m.body.content ?? '').includes('Reminder') && discordText(m).includes(title));

async function postPanther(s: ServeProcess, payload: unknown): Promise<void> {
  const res = await fetch(`${s.url}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(payload) });
  expect(res.status).toBe(200);
}

describe('escalation reminders', () => {
  it('replies in the thread at each step, mentioning the escalation targets only, and the message line follows the schedule; lower severities never escalate', async () => {
    const s = await serve(writeConfig(routes(ESCALATE)));
    await postPanther(s, makeAlertPayload({ title: 'Escalating root login', severity: 'HIGH' }));
    await postPanther(s, makeAlertPayload({ title: 'Quiet medium finding', severity: 'MEDIUM', id: 'Other.Detection' }));
    await eventually(() => view.slackReminders('Escalating root login').length === 3 && view.discordReminders('Escalating root login').length === 3, 30_000, 'three reminders on each platform', view.describe);
    await eventually(view.allShow('Escalating root login', 'Escalated 3/3 to @secops-leads'), 15_000, 'the line after the last reminder', view.describe);

    // The first posts: the line names the targets as text; the route's own mention pings, the targets do not.
    const post = view.slackAlert('Escalating root login')!;
    expect(slackText(post)).toMatch(/Escalates to @secops-leads in 2 s \(\d\d:\d\d UTC\) unless acknowledged/);
    expect(slackText(post)).toContain('<@U0ONCALL1>');
    expect(slackText(post)).not.toContain(`subteam^${GROUP}`);
    const created = view.discordAlert('Escalating root login')!;
    expect(JSON.stringify(created.body.embeds)).toMatch(/Escalates to @secops-leads in 2 s/);
    expect(created.body.allowed_mentions).toEqual({ parse: [], users: ['1600000000000000001'] });

    // Reminders: steps 1, 2, 3, in the thread, pinging the escalation targets and nobody else, none before due.
    const slackSent = view.slackReminders('Escalating root login');
    expect(steps(slackSent)).toEqual([1, 2, 3]);
    for (const r of slackSent) {
      expect(r.args.thread_ts).toBe(post.ts);
      expect(r.channel).toBe(post.channel);
      expect(slackText(r)).toContain(`<!subteam^${GROUP}>`);
      expect(slackText(r)).not.toContain('U0ONCALL1');
      expect(r.args.link_names).toBeUndefined();
    }
    const discordSent = view.discordReminders('Escalating root login');
    expect(steps(discordSent)).toEqual([1, 2, 3]);
    const thread = discord.threads.get(created.messageId);
    expect(thread?.parentId).toBe(created.channelId);
    for (const r of discordSent) {
      expect(r.channelId).toBe(created.messageId); // the thread started from the alert's message
      expect(r.body.allowed_mentions).toEqual({ parse: [], roles: [ROLE], replied_user: false });
      expect(String(r.body.content)).toContain(`<@&${ROLE}>`);
      expect(String(r.body.content)).not.toContain('1600000000000000001');
    }
    for (const sent of [slackSent, discordSent]) {
      const times = sent.map((r) => r.receivedAt);
      const postedAt = sent === slackSent ? post.receivedAt : created.receivedAt;
      // Never before due: the first 2 s after the post was made, then one every 2 s of the schedule.
      times.forEach((at, k) => expect(at - postedAt).toBeGreaterThanOrEqual(2000 * (k + 1)));
    }
    // The only live mentions the fakes saw: the route's on the alert posts, the escalation targets' on reminders.
    expect(slack.violations.filter((v) => !/<@U0ONCALL1>|subteam\^S0ESCALATE/.test(v))).toEqual([]);
    expect(discord.violations.filter((v) => !/would ping: <@(1600000000000000001|&1500000000000000001)>/.test(v))).toEqual([]);
    // Edits along the way, never pinging: "Escalated 1/3 …; next in 2 s", then 2/3, then 3/3.
    expect(view.slackUpdates().some((u) => /Escalated 1\/3 to @secops-leads; next in 2 s \(\d\d:\d\d UTC\)/.test(slackText(u)))).toBe(true);
    expect(view.slackUpdates().every((u) => !/<@U0ONCALL1>|subteam/.test(slackText(u)))).toBe(true);
    expect(view.discordEdits().every((e) => JSON.stringify(e.body.allowed_mentions) === JSON.stringify({ parse: [] }))).toBe(true);

    // Counted where /metrics is served, though the reminders were sent from the delivery thread.
    const sent = ['soc-slack', 'soc-discord'].map((d) => `chatops_escalation_reminders_total{destination="${d}",outcome="sent"} 3`);
    // Those two lines only: lab-hook's series (0) would keep a wait for "no count below 3" waiting its whole 5 s.
    const metrics = await metricsOnceForwarded(s.url, (text) => sent.every((line) => text.includes(line)));
    for (const line of sent) expect(metrics).toContain(line);
    // Below minSeverity: no line, no reminder (the HIGH alert's three reminders took longer than any of its would).
    expect(view.slackReminders('Quiet medium finding')).toEqual([]);
    expect(view.discordReminders('Quiet medium finding')).toEqual([]);
    expect(slackText(view.slackAlert('Quiet medium finding')!)).not.toContain('Escalat');
    expect(discordText(view.discordAlert('Quiet medium finding')!)).not.toContain('Escalat');
  });

  it('keeps the schedule through a SIGTERM and a SIGKILL restart between reminders, sending each reminder once', async () => {
    // 4 s between reminders: each restart (well under that) falls between two of them.
    const config = writeConfig(routes(ESCALATE.replace('repeat: 2s', 'repeat: 4s')));
    const title = 'Escalating through restarts';
    const first = await serve(config);
    await postPanther(first, makeAlertPayload({ title, severity: 'CRITICAL' }));
    // Each restart comes once the reminder before it is recorded: its line shows on both platforms (edited after the record).
    await eventually(view.allShow(title, 'Escalated 1/3'), 30_000, 'the first reminder recorded', view.describe);
    expect(await stop(first, 'SIGTERM')).toBe(0);
    const second = await serve(config);
    await eventually(view.allShow(title, 'Escalated 2/3'), 30_000, 'the second reminder after the graceful restart', view.describe);
    await stop(second, 'SIGKILL');
    const third = await serve(config);
    await eventually(view.allShow(title, 'Escalated 3/3 to @secops-leads'), 30_000, 'the third reminder after the kill', view.describe);
    // Each process sent the reminders of its turn, on both platforms.
    const sentSteps = (p: ServeProcess) => p.stderr().split('\n').filter((l) => l.includes('"msg":"escalation reminder"') && l.includes('"outcome":"sent"')).map((l) => Number(/"step":(\d+)/.exec(l)?.[1]));
    expect(sentSteps(first)).toEqual([1, 1]);
    expect(sentSteps(second)).toEqual([2, 2]);
    expect(sentSteps(third)).toEqual([3, 3]);
    // Recorded as the last: nothing more is due, so these are all the reminders there will be.
    expect(steps(view.slackReminders(title))).toEqual([1, 2, 3]);
    expect(steps(view.discordReminders(title))).toEqual([1, 2, 3]);
    const post = view.slackAlert(title)!;
    const created = view.discordAlert(title)!;
    for (const r of view.slackReminders(title)) expect(r.args.thread_ts).toBe(post.ts);
    // The thread started by the first reminder is reused after both restarts.
    for (const r of view.discordReminders(title)) expect(r.channelId).toBe(created.messageId);
  });

  it('an acknowledgement from another copy stops the reminders of every copy, and the lines say who stopped them', async () => {
    const config = writeConfig(routes(ESCALATE.replace('repeat: 2s', 'repeat: 5s').replace('times: 3', 'times: 2'), ', soc-slack-2'), {
      extraDestinations: '  soc-slack-2: { type: slack, channel: C0SECOND01, pace: { limit: 50, windowMs: 100 } }',
    });
    const s = await serve(config);
    await postPanther(s, makeAlertPayload({ title: 'Acknowledged after one reminder', severity: 'HIGH' }));
    // A sentinel of the same route nobody acknowledges: once its last reminder is out, any reminder the other would
    // still have got would have been due long before.
    await postPanther(s, makeAlertPayload({ title: 'Sentinel left alone', severity: 'HIGH', id: 'Other.Detection' }));
    const title = 'Acknowledged after one reminder';
    await eventually(() => view.slackReminders(title).length === 2 && view.discordReminders(title).length === 1, 30_000, 'the first reminder on the three copies', view.describe);
    const created = view.discordAlert(title)!;
    const ack = (created.body.components as { components: { custom_id?: string }[] }[])[0]!.components.find((c) => c.custom_id?.startsWith('cb:acknowledge:'))!;
    const click = await send(`${s.url}/discord/interactions`, keys.sign(discordClick({ customId: ack.custom_id!, channelId: created.channelId, messageId: created.messageId, username: 'bob' })));
    expect(click).toEqual({ status: 200, body: { type: 6 } });
    const stopped = 'Escalation stopped: acknowledged by @bob';
    await eventually(view.allShow(title, stopped), 15_000, 'every copy showing the stop', view.describe);
    await eventually(view.allShow('Sentinel left alone', 'Escalated 2/2'), 30_000, "the sentinel's last reminder", view.describe);
    expect(view.slackAlerts(title)).toHaveLength(2);
    expect(steps(view.slackReminders(title))).toEqual([1, 1]);
    expect(steps(view.discordReminders(title))).toEqual([1]);
    expect(new Set(view.slackReminders(title).map((r) => r.channel))).toEqual(new Set(['C0123456789', 'C0SECOND01']));
  });

  it("a resolution from the source stops the reminders (Alertmanager's resolved notification), whether it edits the message or posts anew", async () => {
    const escalate = ESCALATE.replace('repeat: 2s', 'repeat: 5s').replace('times: 3', 'times: 2');
    const config = writeConfig(`routes:
  - name: posted-resolutions
    match: { labels: { alertname: QueueStuck } }
    to: [soc-slack, soc-discord]
    digest: off
    threads: on
    onResolved: post
    escalate: ${escalate}
${routes(escalate).replace('routes:\n', '')}`);
    const s = await serve(config);
    const group = (name: string, status: 'firing' | 'resolved') => ({
      version: '4',
      groupKey: `{}:{alertname="${name}"}`,
      truncatedAlerts: 0,
      status,
      receiver: 'bridge',
      groupLabels: { alertname: name },
      commonLabels: { alertname: name, severity: 'critical' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example:9093',
      alerts: [
        {
          status,
          labels: { alertname: name, severity: 'critical', instance: 'db-1' },
          annotations: { summary: `${name} on db-1` },
          startsAt: '2026-12-01T10:00:00Z',
          endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example:9090/graph',
          fingerprint: `f${name.length}${name}`.slice(0, 16).padEnd(16, '0'),
        },
      ],
    });
    const postGroup = async (body: unknown) => {
      const res = await fetch(`${s.url}/webhooks/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${AM_TOKEN}` }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
    };
    await postGroup(group('DiskFull', 'firing'));
    await postGroup(group('QueueStuck', 'firing'));
    await postGroup(group('Sentinel', 'firing'));
    const firstReminders = (name: string) => view.slackReminders(name).length === 1 && view.discordReminders(name).length === 1;
    await eventually(() => firstReminders('DiskFull') && firstReminders('QueueStuck'), 30_000, 'the first reminders', view.describe);
    await postGroup(group('DiskFull', 'resolved'));
    await postGroup(group('QueueStuck', 'resolved'));
    // Edited to the resolution: the resolved alert says it. Resolution posted anew: the firing message's line says it.
    await eventually(view.allShow('DiskFull on db-1', 'Escalation stopped: resolved (by Alertmanager)'), 15_000, 'the stop on the edited messages', view.describe);
    // (The resolution posted anew is a message of its own, in the channel: the firing ones carry the line.)
    const firingShows = (t: string, text: string) => () => shows(view.slackNow(t), text) && shows(view.discordNow(t), text);
    await eventually(firingShows('QueueStuck on db-1', 'Escalation stopped: resolved at the source'), 15_000, 'the stop on the firing messages', view.describe);
    await eventually(view.allShow('Sentinel', 'Escalated 2/2'), 30_000, "the sentinel's last reminder", view.describe);
    for (const name of ['DiskFull', 'QueueStuck']) {
      expect(steps(view.slackReminders(name))).toEqual([1]);
      expect(steps(view.discordReminders(name))).toEqual([1]);
    }
  });

  it('check warns, with the line, where reminders reach nobody; doctor says where each route\'s reminders go', async () => {
    const cli = (args: string[], env: Record<string, string>) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const good = writeConfig(routes(ESCALATE));
    const checked = await cli(['check', '--config', good.file], good.env);
    expect(checked.status).toBe(0);
    expect(checked.stdout + checked.stderr).not.toMatch(/escalat/);
    const doctor = await cli(['doctor', '--json', '--config', good.file], good.env);
    expect(JSON.parse(doctor.stdout)).toContainEqual({ check: 'escalation of route soc', ok: true, detail: 'reminders in the thread of soc-slack, soc-discord' });
    expect(doctor.status).toBe(0);

    const nobody = writeConfig(`routes:
  - name: soc
    to: [soc-slack, lab-hook]
    digest: off
    continue: true
    escalate: { after: 1m, mentions: { discord: { roles: ["${ROLE}"] } } }
  - name: quiet
    to: [soc-discord]
    digest: off
    escalate: { after: 1m, mentions: { slack: { groups: [${GROUP}] } } }`);
    const warned = await cli(['check', '--config', nobody.file], nobody.env);
    expect(warned.status).toBe(0);
    const text = warned.stdout + warned.stderr;
    expect(text).toMatch(/bridge\.yaml:\d+ warning: routes\[0\]\.to\[0\]: destination "soc-slack" gets no escalation reminders: escalate\.mentions names nobody on Slack/);
    expect(text).toMatch(/bridge\.yaml:\d+ warning: routes\[1\]\.escalate: no destination of this route gets escalation reminders/);
    const failing = await cli(['doctor', '--json', '--config', nobody.file], nobody.env);
    expect(failing.status).toBe(1);
    const checks = JSON.parse(failing.stdout) as { check: string; ok: boolean; detail?: string; fix?: string }[];
    expect(checks).toContainEqual({ check: 'escalation of route soc', ok: true, detail: 'reminders in the channel of lab-hook; none on soc-slack (escalate.mentions names nobody on Slack (add escalate.mentions.slack))' });
    expect(checks).toContainEqual(expect.objectContaining({ check: 'escalation of route quiet', ok: false, fix: expect.stringMatching(/escalate\.mentions/) }));
  });

  it('an alert triaged in Panther itself (seen through the write-back API) stops escalating; while Panther cannot say, reminders go on', async () => {
    const panther = await startFakePanther();
    try {
      const config = writeConfig(routes(ESCALATE.replace('repeat: 2s', 'repeat: 4s').replace('times: 3', 'times: 2')), {
        extraYaml: `panther:\n  api: { url: "${panther.url}", token: "panther-api-key-0001" }`,
      });
      const s = await serve(config);
      const triaged = makeAlertPayload({ title: 'Triaged in Panther', severity: 'HIGH' });
      await postPanther(s, triaged);
      await postPanther(s, makeAlertPayload({ title: 'Still open in Panther', severity: 'HIGH', id: 'Other.Detection' }));
      // Panther is down for the first reminders: they are sent anyway.
      panther.failWith = 503;
      await eventually(() => view.allShow('Triaged in Panther', 'Escalated 1/2')() && view.allShow('Still open in Panther', 'Escalated 1/2')(), 30_000, 'the first reminders', view.describe);
      panther.failWith = undefined;
      panther.alertStatuses[String(triaged.alertId)] = 'TRIAGED';
      await eventually(view.allShow('Triaged in Panther', 'Escalation stopped: triaged in Panther'), 30_000, 'the stop', view.describe);
      await eventually(view.allShow('Still open in Panther', 'Escalated 2/2'), 30_000, "the open alert's last reminder", view.describe);
      expect(steps(view.slackReminders('Triaged in Panther'))).toEqual([1]);
      expect(steps(view.discordReminders('Triaged in Panther'))).toEqual([1]);
      const asked = panther.requests.filter((r) => /\balert\s*\(/.test(r.query)).map((r) => r.variables.id);
      expect(asked).toContain(triaged.alertId);
      expect(panther.requests.every((r) => r.apiKey === 'panther-api-key-0001')).toBe(true);
      expect(s.stderr()).toContain("could not read the alert's status in Panther; sending the reminder");
      expect(s.stderr()).not.toContain('panther-api-key-0001');
    } finally {
      await panther.close();
    }
  });

  it('an acknowledgement that lands while a reminder is being prepared (a slow Panther status look-up) stops that reminder too', async () => {
    const panther = await startFakePanther();
    let release!: () => void;
    panther.holdStatus = new Promise<void>((resolve) => (release = resolve));
    try {
      const config = writeConfig(routes(ESCALATE.replace('repeat: 2s', 'repeat: 30s').replace('times: 3', 'times: 2')), {
        extraYaml: `panther:\n  api: { url: "${panther.url}", token: "panther-api-key-0001" }`,
      });
      const s = await serve(config);
      const title = 'Acknowledged while its reminder waited';
      const alert = makeAlertPayload({ title, severity: 'HIGH' });
      await postPanther(s, alert);
      // The loop took the first reminder and asks Panther about the alert; Panther has not answered yet.
      await eventually(() => panther.requests.some((r) => /\balert\s*\(/.test(r.query) && r.variables.id === alert.alertId), 30_000, 'the status look-up', view.describe);
      const created = view.discordAlert(title)!;
      const ack = (created.body.components as { components: { custom_id?: string }[] }[])[0]!.components.find((c) => c.custom_id?.startsWith('cb:acknowledge:'))!;
      const click = await send(`${s.url}/discord/interactions`, keys.sign(discordClick({ customId: ack.custom_id!, channelId: created.channelId, messageId: created.messageId, username: 'bob' })));
      expect(click).toEqual({ status: 200, body: { type: 6 } });
      await eventually(view.allShow(title, 'Escalation stopped: acknowledged by @bob'), 15_000, 'every copy showing the stop', view.describe);
      // A sentinel posted now is reminded after the held reminder was dealt with (one reminder at a time).
      await postPanther(s, makeAlertPayload({ title: 'Sentinel after the click', severity: 'HIGH', id: 'Other.Detection' }));
      release();
      await eventually(() => view.slackReminders('Sentinel after the click').length === 1 && view.discordReminders('Sentinel after the click').length === 1, 30_000, "the sentinel's reminders", view.describe);
      expect(view.slackReminders(title)).toEqual([]);
      expect(view.discordReminders(title)).toEqual([]);
    } finally {
      release();
      await panther.close();
    }
  });

  it.each([
    ['removes escalate from the route', (yaml: string) => yaml.replace(/\n    escalate: .*/, '')],
    ['lowers times to the reminders already sent', (yaml: string) => yaml.replace('times: 3', 'times: 1')],
  ])('a SIGHUP reload that %s: no reminder after it, and the line stays true', async (_what, edit) => {
    const yaml = routes(ESCALATE.replace('repeat: 2s', 'repeat: 4s'));
    const config = writeConfig(yaml);
    const s = await serve(config);
    const title = 'Escalating when the config changed';
    await postPanther(s, makeAlertPayload({ title, severity: 'HIGH' }));
    await eventually(view.allShow(title, 'Escalated 1/3'), 30_000, 'the first reminder', view.describe);
    writeFileSync(config.file, readFileSync(config.file, 'utf8').replace(yaml, edit(yaml)));
    s.child.kill('SIGHUP');
    await untilLogged(s, 'config reloaded');
    // When the second reminder would have been due, the loop stops the escalation and edits the line.
    await eventually(() => !shows(view.slackNow(title), 'Escalated 1/3') && !shows(view.discordNow(title), 'Escalated 1/3'), 30_000, 'the line changing on both copies', view.describe);
    expect(steps(view.slackReminders(title))).toEqual([1]);
    expect(steps(view.discordReminders(title))).toEqual([1]);
    const lines = [view.slackNow(title), view.discordNow(title)].map((m) => JSON.stringify(m).match(/⏰[^"\\]*/g) ?? []);
    expect(lines).toEqual(_what.startsWith('removes') ? [[], []] : [['⏰ Escalated 1/1 to @secops-leads'], ['⏰ Escalated 1/1 to @secops-leads']]);
  });

  it('with threads off, reminders go in the channel: a reply to the alert on Discord, a message naming it on Slack and through a webhook', async () => {
    const config = writeConfig(`routes:
  - name: soc
    to: [soc-slack, soc-discord, lab-hook]
    digest: off
    escalate: { after: 1s, label: "@secops-leads", mentions: { slack: { groups: [${GROUP}] }, discord: { roles: ["${ROLE}"] } } }`);
    const s = await serve(config);
    const title = 'Escalating in the channel';
    await postPanther(s, makeAlertPayload({ title, severity: 'HIGH' }));
    await eventually(() => view.slackReminders(title).length === 1 && view.discordReminders(title).length === 2, 30_000, 'a reminder per copy', view.describe);
    const post = view.slackAlert(title)!;
    const [slackReminder] = view.slackReminders(title);
    expect(slackReminder!.channel).toBe(post.channel);
    expect(slackReminder!.args.thread_ts).toBeUndefined();
    // It names the alert, with its link (the reminder is not next to the message in the channel).
    expect(JSON.stringify(slackReminder!.args.blocks)).toMatch(/<https:\/\/acme\.runpanther\.net\/alerts\/\w+\|Escalating in the channel>/);
    const created = view.discordAlert(title)!;
    const bot = view.discordReminders(title).find((r) => !r.webhookId)!;
    expect(bot.channelId).toBe(created.channelId);
    expect(bot.body.message_reference).toEqual({ message_id: created.messageId, fail_if_not_exists: false });
    expect(bot.body.allowed_mentions).toEqual({ parse: [], roles: [ROLE], replied_user: false });
    const hook = view.discordReminders(title).find((r) => r.webhookId)!;
    expect(hook.body.message_reference).toBeUndefined();
    expect(hook.body.allowed_mentions).toEqual({ parse: [], roles: [ROLE], replied_user: false });
    expect(String(hook.body.content)).toContain(`<@&${ROLE}>`);
    expect(discord.threads.size).toBe(0);
    // One reminder (times defaults to 1), and each copy's line says so.
    const hookMessage = discordCreatesOf(title).find((m) => m.webhookId)!;
    await eventually(() => view.allShow(title, 'Escalated 1/1 to @secops-leads')() && JSON.stringify(discord.stored(hookMessage.messageId)).includes('Escalated 1/1 to @secops-leads'), 15_000, 'every line after the reminder', view.describe);
  });

  it("reminders are paced with the channel's posts and edits: never more than its limit in any window", async () => {
    const pace = { limit: 1, windowMs: 300 };
    const config = writeConfig(`routes:
  - name: soc
    to: [paced-slack]
    digest: off
    threads: on
    escalate: { after: 1s, label: "@secops-leads", mentions: { slack: { groups: [${GROUP}] } } }`, {
      extraDestinations: `  paced-slack: { type: slack, channel: C0SECOND01, pace: { limit: ${pace.limit}, windowMs: ${pace.windowMs} } }`,
    });
    const s = await serve(config);
    const titles = Array.from({ length: 8 }, (_, i) => `Paced escalation ${i}`);
    for (const [i, title] of titles.entries()) await postPanther(s, makeAlertPayload({ title, id: `Paced.${i}` }));
    await eventually(() => titles.every((t) => view.slackReminders(t).length === 1 && shows(view.slackNow(t), 'Escalated 1/1')), 60_000, 'every reminder and its line', view.describe);
    const requests = slack.requests.filter((r) => (r.route === 'chat.postMessage' || r.route === 'chat.update') && (r.body as { channel?: string })?.channel === 'C0SECOND01');
    // 8 posts, 8 reminders, and the edits of the lines: all in one budget.
    expect(requests.length).toBeGreaterThanOrEqual(24);
    expect(peakInWindow(requests.map((r) => r.receivedAt), pace.windowMs)).toBeLessThanOrEqual(pace.limit);
    for (const t of titles) expect(view.slackReminders(t)).toHaveLength(1);
  });

  it('a reminder that fails is retried until it goes out; one the platform refuses for good ends the escalation, and the line says why', async () => {
    const config = writeConfig(routes(ESCALATE.replace('times: 3', 'times: 2')));
    const title = 'Escalating through failures';
    let slackFailures = 0;
    // Slack answers the first two reminder attempts 503; Discord refuses reminders with Missing Access.
    slack.behaviour = (req) => (req.route === 'chat.postMessage' && (req.body as { thread_ts?: string })?.thread_ts !== undefined && slackFailures++ < 2 ? 503 : undefined);
    discord.behaviour = (req) =>
      req.route === 'POST /channels/:id/messages' && String((req.body as { content?: string })?.content ?? '').includes('Reminder') ? { kind: 'error', status: 403, code: 50001, message: 'Missing Access' } : undefined;
    const s = await serve(config);
    await postPanther(s, makeAlertPayload({ title, severity: 'HIGH' }));
    await eventually(() => shows(view.slackNow(title), 'Escalated 2/2 to @secops-leads') && shows(view.discordNow(title), /Escalation failed at reminder 1\/2: /), 30_000, 'both lines', view.describe);
    expect(slackFailures).toBeGreaterThanOrEqual(2);
    expect(steps(view.slackReminders(title))).toEqual([1, 2]);
    expect(view.discordReminders(title)).toEqual([]);
    const lines = s.stderr().split('\n').filter((l) => l.includes('"msg":"escalation reminder"'));
    expect(lines.filter((l) => l.includes('"outcome":"retry"') && l.includes('"destination":"soc-slack"'))).toHaveLength(2);
    expect(lines.filter((l) => l.includes('"outcome":"failed"') && l.includes('"destination":"soc-discord"'))).toHaveLength(1);
  });

  it('in a Discord forum channel, reminders go into the alert\'s post, also with threads off', async () => {
    await discord.close();
    const FORUM = '1100000000000000009';
    discord = await startFakeDiscord({ forums: [{ id: FORUM, name: 'alerts-forum', tags: [] }] });
    discord.rejectViolations = false;
    view = new EscalationView(slack, discord);
    const config = writeConfig(`routes:
  - name: soc
    to: [soc-forum]
    digest: off
    escalate: { after: 1s, repeat: 1s, times: 2, label: "@secops-leads", mentions: { discord: { roles: ["${ROLE}"] } } }`, {
      extraDestinations: `  soc-forum: { type: discord, channel: "${FORUM}", pace: { limit: 50, windowMs: 100 } }`,
    });
    const s = await serve(config);
    const title = 'Escalating in a forum post';
    await postPanther(s, makeAlertPayload({ title, severity: 'HIGH' }));
    await eventually(() => view.discordReminders(title).length === 2, 30_000, 'two reminders', view.describe);
    const posts = [...discord.forums.posts.values()];
    expect(posts).toHaveLength(1);
    const reminders = view.discordReminders(title);
    // Both in the one post (its thread), none a post of its own, none a reply across channels.
    expect(reminders.map((r) => r.channelId)).toEqual([posts[0]!.id, posts[0]!.id]);
    for (const r of reminders) {
      expect(r.body.message_reference).toBeUndefined();
      expect(r.body.allowed_mentions).toEqual({ parse: [], roles: [ROLE], replied_user: false });
    }
    await eventually(() => JSON.stringify(discord.stored(posts[0]!.id)).includes('Escalated 2/2 to @secops-leads'), 15_000, "the starter's line", view.describe);
  });
});
