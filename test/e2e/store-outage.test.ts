/**
 * A store that stops taking writes must not stop `serve` (issue 14, point 2). The built CLI runs against the
 * fakes while alerts flow; the test holds SQLite's write lock from a second connection (BEGIN IMMEDIATE, as
 * `outbox purge` would) for longer than the bridge's 5 s busy timeout, at a moment when a delivery, an edit (a
 * resolved Alertmanager alert), an accepted digest and a digest the platform refuses are all in flight — each
 * then has bookkeeping to write into the locked store. The process must stay up, count the errors in /metrics,
 * and afterwards deliver every alert it answered 2xx exactly once (the sender retries 503s as Panther does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord, type DiscordMessage } from '../helpers/fake-discord';
import { AM_TOKEN, harnessConfig, harnessYaml, PANTHER_TOKEN, postAlert, startHarnessBridge, tempStorePath } from '../helpers/bridge-harness';
import { discordClick, discordKeys, send, signSlack, slackClick, until, SLACK_SIGNING_SECRET } from '../helpers/interactions';
import type { RecordedRequest } from '../helpers/fake-http';

jest.setTimeout(120_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const fixture = (source: string, file: string) => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', source, file), 'utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longer than the bridge's busy_timeout (5 s): every write the bridge tries in this time fails. */
const HOLD_MS = 8000;

const ROUTES = `routes:
  - name: am
    match: { source: alertmanager }
    to: [soc-slack]
    digest: off
  - name: burst
    match: { source: grafana }
    to: [soc-discord, lab-hook]
    digest: { backlog: 2, maxWaitMs: 30000 }
  - name: flow
    to: [flow-slack]
    digest: off`;

let slack: FakeSlack;
let discord: FakeDiscord;
let child: ChildProcess | undefined;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  child = undefined;
  await slack.close();
  await discord.close();
});

/**
 * Ticks every 20 ms on this process's event loop (where in-process bridges run) and, stopped, returns the longest
 * interval between two ticks: a synchronous wait anywhere in the process shows as a long one.
 */
function watchEventLoop(): { stop(): number } {
  let last = Date.now();
  let longest = 0;
  const ticker = setInterval(() => {
    longest = Math.max(longest, Date.now() - last);
    last = Date.now();
  }, 20);
  return {
    stop: () => {
      clearInterval(ticker);
      return longest;
    },
  };
}

/**
 * A bridge with admin and console tokens whose one alert, routed to `to`, left a dead Slack delivery (to resend)
 * and a Discord bot message with triage buttons (to click).
 */
async function bridgeWithDeadSlackPost(to: string) {
  const keys = discordKeys();
  const storePath = tempStorePath();
  const bridge = await startHarnessBridge(
    harnessConfig({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl: discord.webhookUrl(),
      storePath,
      slackSigningSecret: SLACK_SIGNING_SECRET,
      discordPublicKey: keys.publicKeyHex,
      routesYaml: `routes:\n  - name: soc\n    to: [${to}]\n    digest: off`,
      extraYaml: 'admin: { tokens: ["admin-token-0001"] }\nconsole: { enabled: true, users: [{ token: "console-admin-0001", role: admin }] }',
    }),
  );
  slack.failNext(1, { kind: 'error', error: 'channel_not_found' }, 'chat.postMessage');
  expect((await postAlert(bridge, makeAlertPayload())).status).toBe(200);
  const messages = to.split(',').filter((d) => /discord|hook/.test(d)).length;
  await until(() => bridge.store!.counts().pending === 0 && discord.messages.length === messages, 5000, 'delivery');
  const dead = bridge.store!.ledger().list({ status: 'dead' })[0]!;
  const created = discord.messages.find((m) => !m.webhookId)!;
  const customId = JSON.stringify(created.body.components).match(/cb:acknowledge:\d+/)![0];
  return { keys, storePath, bridge, dead, created, customId };
}

/** Starts `serve` and resolves with its base URL once it logs that it listens. */
function startCli(configFile: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn(process.execPath, [MAIN, 'serve', '--config', configFile], { env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /"port":(\d+).*"msg":"chatops-bridge listening"/.exec(stderr);
      if (m) resolve({ child: proc, url: `http://127.0.0.1:${m[1]}`, stderr: () => stderr });
    });
    proc.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

/** A Grafana group of `n` firing alerts, each with its own fingerprint and a findable summary "GB-0i". */
function grafanaBurst(n: number): unknown {
  const group = fixture('grafana', 'v9-unified-docs-example.json');
  const template = group.alerts[0];
  group.alerts = Array.from({ length: n }, (_, i) => ({
    ...template,
    labels: { ...template.labels, alertname: `Burst GB-0${i}`, instance: `host-${i}` },
    annotations: { ...template.annotations, summary: `GB-0${i} burst alert` },
    fingerprint: `feedface0000000${i}`,
  }));
  return group;
}

/** Last version of every Discord message of one channel or webhook (creates, then edits in order). */
function finalDiscordMessages(matches: (m: DiscordMessage) => boolean): string[] {
  const latest = new Map<string, string>();
  for (const m of discord.messages.filter(matches)) latest.set(m.messageId, JSON.stringify(m.body));
  return [...latest.values()];
}
const occurrences = (texts: string[], needle: string) => texts.filter((t) => t.includes(needle)).length;

describe('a held write lock', () => {
  it('keeps serve up and delivers every accepted alert exactly once afterwards', async () => {
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    const webhookUrl = discord.webhookUrl();
    const yaml = harnessYaml({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl,
      storePath,
      routesYaml: ROUTES,
      extraDestinations: '  flow-slack: { type: slack, channel: C0SECOND01, pace: { limit: 50, windowMs: 100 } }',
    });
    writeFileSync(configFile, yaml);
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const started = await startCli(configFile, env);
    child = started.child;
    const pid = child.pid;
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `exit code ${code}, signal ${signal}`));

    const post = async (pathname: string, headers: Record<string, string>, body: unknown) => {
      const res = await fetch(`${started.url}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      await res.text();
      return res.status;
    };
    /** Sends like Panther or Alertmanager: retries a 503 until the bridge answers 2xx (gives up only if it died). */
    const deliverPost = async (pathname: string, headers: Record<string, string>, body: unknown) => {
      for (;;) {
        if (exited) throw new Error(`serve died: ${exited}\n${started.stderr().slice(-3000)}`);
        const status = await post(pathname, headers, body).catch(() => 0);
        if (status === 200) return;
        if (status !== 503 && status !== 0) throw new Error(`unexpected HTTP ${status}`);
        await sleep(200);
      }
    };
    const am = (body: unknown) => deliverPost('/webhooks/alertmanager', { authorization: `Bearer ${AM_TOKEN}` }, body);

    // An Alertmanager alert fires (posted to soc-slack), so that resolving it later is an edit.
    await am(fixture('alertmanager', 'v0.25-firing-two.json'));
    await until(() => slack.messagesFor('C0123456789').length === 2, 10_000, 'firing posts');

    // Alerts flow to flow-slack from now until after the hold, with a pause around the moment the lock is taken, so
    // the gated requests are the ones in flight when it is.
    const accepted: string[] = [];
    let flowing = true;
    let paused: Promise<void> | undefined;
    let pauseAck: (() => void) | undefined;
    const flow = (async () => {
      for (let i = 0; flowing; i++) {
        if (pauseAck) {
          pauseAck();
          pauseAck = undefined;
          await paused;
        }
        const title = `Flow ${String(i).padStart(3, '0')} alert`;
        await deliverPost('/webhooks/panther', { 'x-panther-token': PANTHER_TOKEN }, makeAlertPayload({ title }));
        accepted.push(title);
        await sleep(100);
      }
    })();
    let resume!: () => void;
    const pauseFlow = () => {
      paused = new Promise<void>((r) => (resume = r));
      return new Promise<void>((r) => (pauseAck = r));
    };

    // Hold at the fakes, until the lock is taken: one flow post, the resolved edit, and both digests.
    const inFlight = new Map<string, RecordedRequest>();
    const gates = new Map<string, () => void>();
    const gateWhen = (name: string, rec: RecordedRequest, matches: boolean) => {
      if (!matches || inFlight.has(name)) return undefined;
      inFlight.set(name, rec);
      return new Promise<void>((r) => gates.set(name, r));
    };
    const releaseOne = (name: string) => gates.get(name)!();
    const release = () => [...gates.values()].forEach((open) => open());
    slack.gate = (rec) =>
      gateWhen('edit', rec, rec.route === 'chat.update') ?? gateWhen('post', rec, rec.route === 'chat.postMessage' && rec.rawBody.includes('Flow'));
    discord.gate = (rec) =>
      gateWhen('digest', rec, rec.route.startsWith('POST /channels') && rec.rawBody.includes('Alert burst')) ??
      gateWhen('refused digest', rec, rec.route.startsWith('POST /webhooks') && rec.rawBody.includes('Alert burst'));
    // The webhook refuses its digest's content: those alerts must go out one by one instead.
    discord.failNext(1, { kind: 'error', status: 400, code: 50035, message: 'Invalid Form Body' }, (r) => r.route.startsWith('POST /webhooks') && r.rawBody.includes('Alert burst'));

    await am(fixture('alertmanager', 'v0.25-resolved-one.json'));
    await deliverPost('/webhooks/grafana', { authorization: `Bearer ${AM_TOKEN}` }, grafanaBurst(5));
    await until(() => inFlight.size === 4, 15_000, `requests in flight (have ${[...inFlight.keys()].join(', ')})`);
    await pauseFlow();

    const holder = new Database(storePath);
    holder.exec('BEGIN IMMEDIATE');
    // The refused digest answers first: handing its rows back is the first write the bridge tries under the lock.
    releaseOne('refused digest');
    await sleep(300);
    release();
    await sleep(1000);
    resume(); // alerts keep coming while the lock is held: each is answered 503 until it is gone
    await sleep(HOLD_MS - 1300);
    holder.exec('ROLLBACK');
    holder.close();
    slack.gate = undefined;
    discord.gate = undefined;
    await sleep(1000);
    flowing = false;
    await flow;

    // Everything answered 2xx arrives, once.
    const flowPosts = () => slack.messagesFor('C0SECOND01').filter((m) => m.method === 'chat.postMessage').map((m) => String(m.args.text));
    await until(() => accepted.every((t) => flowPosts().some((p) => p.includes(t))), 30_000, 'every flow alert posted').catch((e) => {
      throw new Error(`${(e as Error).message}; exited: ${exited}\n${started.stderr().slice(-3000)}`);
    });
    const bot = () => finalDiscordMessages((m) => !m.webhookId);
    const hook = () => finalDiscordMessages((m) => Boolean(m.webhookId));
    const alertNames = Array.from({ length: 5 }, (_, i) => `GB-0${i}`);
    await until(() => alertNames.every((n) => occurrences(bot(), n) > 0 && occurrences(hook(), n) > 0), 30_000, 'every burst alert shown');
    const resolvedShown = () => JSON.stringify(slack.stored('C0123456789', slack.messagesFor('C0123456789')[0]!.ts)).includes('Resolved at');
    await until(resolvedShown, 30_000, 'the resolved edit');
    await sleep(1500); // anything posted twice would show up now

    expect(exited).toBeUndefined();
    expect(child.pid).toBe(pid);
    expect((await fetch(`${started.url}/healthz`)).status).toBe(200);
    expect(accepted.length).toBeGreaterThan(5);
    for (const title of accepted) expect([title, flowPosts().filter((p) => p.includes(title)).length]).toEqual([title, 1]);
    for (const name of alertNames) {
      expect([name, occurrences(bot(), name)]).toEqual([name, 1]);
      expect([name, occurrences(hook(), name)]).toEqual([name, 1]);
    }
    expect(slack.messagesFor('C0123456789').filter((m) => m.method === 'chat.postMessage')).toHaveLength(2);

    const db = new Database(storePath, { readonly: true });
    try {
      const counts = db.prepare(`SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status`).all();
      expect(counts).toEqual([{ status: 'delivered', n: accepted.length + 2 + 10 }]);
    } finally {
      db.close();
    }
    const metrics = await (await fetch(`${started.url}/metrics`)).text();
    const errors = Object.fromEntries([...metrics.matchAll(/^chatops_loop_errors_total\{loop="([a-z_]+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]));
    // The record of the flow post, of the accepted digest and of the edit each met the lock at least once.
    expect(errors).toMatchObject({ delivery: expect.any(Number), digest: expect.any(Number), message_editor: expect.any(Number) });
    for (const loop of ['delivery', 'digest', 'message_editor']) expect([loop, errors[loop]! > 0]).toEqual([loop, true]);
    expect(started.stderr()).not.toMatch(/unhandled|uncaught/i);
  });

  it('answers 503 on the console/admin paths when the lock stays held, and tells Slack and Discord clickers to try again', async () => {
    const { keys, storePath, bridge, dead, created, customId } = await bridgeWithDeadSlackPost('soc-slack, soc-discord, lab-hook');
    const holder = new Database(storePath);
    try {
      // A Slack message to click on: the dead Slack row is requeued and posted once the lock is gone (below).

      holder.exec('BEGIN IMMEDIATE');
      const retry = await fetch(`${bridge.url}/admin/outbox/retry`, {
        method: 'POST',
        headers: { authorization: 'Bearer admin-token-0001', 'content-type': 'application/json' },
        body: JSON.stringify({ ids: [dead.id] }),
      });
      expect([retry.status, await retry.json()]).toEqual([503, { error: 'store_unavailable' }]);
      const resend = await fetch(`${bridge.url}/console/api/deliveries/resend-dead`, {
        method: 'POST',
        headers: { authorization: 'Bearer console-admin-0001', 'content-type': 'application/json', 'x-console-request': '1' },
        body: '{}',
      });
      expect([resend.status, await resend.json()]).toEqual([503, { error: 'store_unavailable' }]);
      const click = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId, channelId: created.channelId, messageId: created.messageId })));
      // Within Discord's 3 s, and in words the clicker sees (an error status shows only "This interaction failed").
      expect(click).toEqual({ status: 200, body: { type: 4, data: { content: expect.stringMatching(/could not record this click/), flags: 64, allowed_mentions: { parse: [] } } } });
      holder.exec('ROLLBACK');

      const requeued = await fetch(`${bridge.url}/admin/outbox/retry`, {
        method: 'POST',
        headers: { authorization: 'Bearer admin-token-0001', 'content-type': 'application/json' },
        body: JSON.stringify({ ids: [dead.id] }),
      });
      expect(requeued.status).toBe(200);
      await until(() => slack.messages.length === 1, 5000, 'the Slack post');
      const post = slack.messages[0]!;
      const blocks = post.args.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[];
      const button = blocks.flatMap((b) => (b.type === 'actions' ? b.elements ?? [] : [])).find((e) => e.action_id === 'triage_acknowledge')!;

      holder.exec('BEGIN IMMEDIATE');
      const slackRes = await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: button.action_id!, value: button.value!, channel: post.channel, messageTs: post.ts })));
      expect(slackRes.status).toBe(200); // acknowledged at once, as Slack requires; the record comes after
      await until(() => slack.ephemerals.length === 1, 10_000, 'the ephemeral reply');
      holder.exec('ROLLBACK');
      expect(slack.ephemerals[0]!.text).toMatch(/could not record this click/);
      const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
      expect(metrics).toMatch(/chatops_interactions_total\{platform="slack",action="acknowledge",outcome="failed"\} 1/);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      await bridge.stop();
    }
  });

  it('waits for a lock held briefly elsewhere with the event loop free: clicks and resends then succeed', async () => {
    const { keys, storePath, bridge, dead, created, customId } = await bridgeWithDeadSlackPost('soc-slack, soc-discord');
    const holder = new Database(storePath);
    try {
      // The bridge runs in this process, so a synchronous wait for the lock would stop these ticks too.
      const gaps = watchEventLoop();
      holder.exec('BEGIN IMMEDIATE');
      const click = send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId, channelId: created.channelId, messageId: created.messageId })));
      const resend = fetch(`${bridge.url}/console/api/deliveries/${dead.id}/resend`, {
        method: 'POST',
        headers: { authorization: 'Bearer console-admin-0001', 'content-type': 'application/json', 'x-console-request': '1' },
        body: '{}',
      });
      await sleep(1200); // shorter than the click's 2 s wait
      holder.exec('ROLLBACK');
      expect(await click).toEqual({ status: 200, body: { type: 6 } });
      const resent = await resend;
      expect([resent.status, await resent.json()]).toEqual([200, { requeued: [dead.id], skipped: [] }]);
      const longestGap = gaps.stop();
      // Blocked for the whole hold before (the busy timeout waited synchronously); now only a tick's jitter.
      expect(longestGap).toBeLessThan(600);
      await until(() => slack.messages.length === 1, 5000, 'the resent Slack post');
      await until(() => discord.messages.some((m) => m.kind === 'edit' && m.messageId === created.messageId), 5000, 'the acknowledged message edited');
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      await bridge.stop();
    }
  });

  it('answers /readyz without waiting for a lock held elsewhere, however many poll it', async () => {
    const storePath = tempStorePath();
    const bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), storePath }));
    const holder = new Database(storePath);
    try {
      const gaps = watchEventLoop();
      holder.exec('BEGIN IMMEDIATE');
      // 40 pollers at once, twice: each used to wait 100 ms for the lock on the event loop, one after the other.
      for (let round = 0; round < 2; round++) {
        const answers = await Promise.all(Array.from({ length: 40 }, () => fetch(`${bridge.url}/readyz`).then(async (r) => [r.status, (await r.json()) as { checks: { name: string; ok: boolean }[] }] as const)));
        for (const [status, body] of answers) {
          expect(status).toBe(503);
          expect(body.checks.find((c: { name: string }) => c.name === 'store')).toMatchObject({ ok: false });
        }
        await sleep(1100);
      }
      const longestGap = gaps.stop();
      // 40 x 100 ms = 4 s per round before; now a tick's jitter and the requests' own work.
      expect(longestGap).toBeLessThan(1000);
      holder.exec('ROLLBACK');
      await sleep(1100);
      expect((await fetch(`${bridge.url}/readyz`)).status).toBe(200);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      await bridge.stop();
    }
  });

  it('keeps retrying the record of a finished send through a SIGTERM, so a restart does not post it again', async () => {
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    const webhookUrl = discord.webhookUrl();
    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, routesYaml: 'routes:\n  - name: soc\n    to: [soc-slack]\n    digest: off' }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const first = await startCli(configFile, env);
    child = first.child;
    const exitCode = new Promise<number | null>((resolve) => first.child.once('exit', (code) => resolve(code)));

    // The post reaches Slack and waits there; meanwhile the store's write lock is taken and serve told to stop.
    let answer: (() => void) | undefined;
    const reached = new Promise<void>((resolve) => {
      slack.gate = (rec) => {
        if (rec.route !== 'chat.postMessage' || answer) return undefined;
        resolve();
        return new Promise<void>((open) => (answer = open));
      };
    });
    const res = await fetch(`${first.url}/webhooks/panther`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN },
      body: JSON.stringify(makeAlertPayload({ title: 'Grace alert' })),
    });
    expect(res.status).toBe(200);
    await reached;
    const holder = new Database(storePath);
    holder.exec('BEGIN IMMEDIATE');
    first.child.kill('SIGTERM');
    await sleep(300);
    answer!(); // Slack has the message now; its record meets the lock
    await sleep(1500);
    holder.exec('ROLLBACK');
    holder.close();
    slack.gate = undefined;
    expect(await exitCode).toBe(0);
    expect(first.stderr()).not.toContain('outcome not recorded');
    child = undefined;

    // A second serve on the same store finds nothing left to send.
    const second = await startCli(configFile, env);
    child = second.child;
    await sleep(1500);
    expect(second.stderr()).not.toContain('resuming pending deliveries');
    expect(slack.messagesFor('C0123456789').filter((m) => String(m.args.text).includes('Grace alert'))).toHaveLength(1);
  });
});
