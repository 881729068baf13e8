/**
 * Delivery off the receiving event loop (issue 17): the built `serve` on a SQLite file delivers in a worker thread
 * with its own store connection. Behaviour must be what it was on one loop: order per channel, the platforms' pace,
 * burst digests, SIGTERM draining the sends in flight, SIGKILL while the thread holds claims, and a thread that dies
 * is started again with its claims freed. (SIGHUP reaching both sides: restart.test.ts, which runs the same build.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, PANTHER_TOKEN, peakInWindow, tempStorePath } from '../helpers/bridge-harness';
import { startServe, untilLogged, type ServeProcess } from '../helpers/serve-process';
import { countInStore, queryStore } from '../helpers/store-query';
import { metricsOnceForwarded } from '../helpers/metrics-wait';

jest.setTimeout(90_000);

const CRASH_PRELOAD = path.resolve(__dirname, '..', 'helpers', 'thread-crash.cjs');

let slack: FakeSlack;
let discord: FakeDiscord;
let serve: ServeProcess | undefined;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterEach(async () => {
  await serve?.stop('SIGKILL');
  serve = undefined;
  await slack.close();
  await discord.close();
});

const titleNumber = (text: unknown) => Number(/Burst (\d+)/.exec(String(text))?.[1] ?? NaN);

/**
 * The alerts a destination posted one by one (not in a digest), in the order the bridge accepted them (delivery row
 * ids). Eight concurrent senders make the accept order differ from the order of the numbers in the titles.
 */
const acceptOrder = (storePath: string, destination: string) =>
  queryStore<{ title: string }>(storePath, `SELECT a.title FROM deliveries d JOIN alerts a ON a.id = d.alert_row WHERE d.destination = ? AND d.via = 'message' ORDER BY d.id`, destination).map((r) => titleNumber(r.title));

/** Writes the config beside a fresh store and returns what serve needs. */
function setUp(options: { realPace?: boolean; routesYaml?: string; leaseMs?: number; extraYaml?: string } = {}) {
  const storePath = tempStorePath();
  const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
  const webhookUrl = discord.webhookUrl();
  const yaml = harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, ...options });
  writeFileSync(configFile, options.leaseMs ? yaml.replace('leaseMs: 5000', `leaseMs: ${options.leaseMs}`) : yaml);
  const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
  return { storePath, configFile, env };
}

async function post(url: string, i: number): Promise<void> {
  const res = await fetch(`${url}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(makeAlertPayload({ title: `Burst ${i}` })) });
  expect(res.status).toBe(200);
}

const pending = (storePath: string) => countInStore(storePath, `SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'`);

async function untilDrained(storePath: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (pending(storePath) > 0) {
    if (Date.now() > end) throw new Error(`${pending(storePath)} deliveries still pending`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Holds every Slack chat.postMessage until `release()`; `held` counts the requests waiting. */
function holdSlackPosts(): { held: () => number; release: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let held = 0;
  slack.gate = (req) => {
    if (req.route !== 'chat.postMessage') return undefined;
    held++;
    return gate;
  };
  return {
    held: () => held,
    release: () => {
      slack.gate = undefined;
      open();
    },
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('delivery in a thread of its own', () => {
  it('delivers in order per channel, at the platforms’ pace, with burst digests', async () => {
    slack.setRateLimit({ perChannel: 1, windowMs: 1000 });
    discord.setRateLimit(true);
    const { storePath, configFile, env } = setUp({ realPace: true, routesYaml: 'routes:\n  - name: r\n    to: [soc-slack, soc-discord]' });
    serve = await startServe(configFile, env);
    expect(serve.stderr()).toContain('"delivery":"thread"');
    const total = 40;
    let next = 0;
    const sender = async () => {
      while (next < total) await post(serve!.url, next++);
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await untilDrained(storePath);

    // Every alert visible: posted on its own, or counted by the channel's digest.
    const slackPosts = slack.messages.filter((m) => m.method === 'chat.postMessage');
    const slackDigest = slackPosts.find((m) => /Alert burst/.test(String(m.args.text)));
    const slackSingles = slackPosts.filter((m) => m !== slackDigest).map((m) => titleNumber(m.args.text));
    const digestCount = slackDigest ? Number(/Alert burst: (\d+) alerts/.exec(JSON.stringify(slack.stored('C0123456789', slackDigest.ts)))![1]) : 0;
    expect(slackSingles.length + digestCount).toBe(total);
    // In accept order on the channel, and never faster than the channel allows.
    expect(slackSingles).toEqual(acceptOrder(storePath, 'soc-slack'));
    expect(peakInWindow(slack.requests.filter((r) => r.route.startsWith('chat.')).map((r) => r.receivedAt), 1000)).toBeLessThanOrEqual(1);
    expect(slack.requests.filter((r) => r.status === 429)).toHaveLength(0);

    const creates = discord.messages.filter((m) => m.kind === 'create' && !m.webhookId);
    const discordSingles = creates.filter((m) => !/Alert burst/.test(JSON.stringify(m.body))).map((m) => titleNumber((m.body as any).embeds[0].title));
    expect(discordSingles).toEqual(acceptOrder(storePath, 'soc-discord'));
    expect(peakInWindow(creates.map((m) => m.receivedAt), 5000)).toBeLessThanOrEqual(5);
    expect([...slack.violations, ...discord.violations]).toEqual([]);
    // The deliveries were made and logged by the thread, and counted in the main thread's /metrics.
    expect(serve.stderr()).toMatch(/"thread":"delivery".*"outcome":"delivered"/);
    const delivered = (text: string) => Number(/chatops_deliveries_total\{destination="soc-slack",outcome="delivered",reason=""\} (\d+)/.exec(text)?.[1]);
    const digests = (text: string) => Number(/chatops_digests_total\{destination="soc-slack",action="posted"\} (\d+)/.exec(text)?.[1] ?? 0);
    // Both counts: the digest's can come in a later batch than the last single's.
    const metrics = await metricsOnceForwarded(serve.url, (text) => delivered(text) >= slackSingles.length && digests(text) >= (slackDigest ? 1 : 0));
    expect(delivered(metrics)).toBe(slackSingles.length);
    expect(digests(metrics)).toBe(slackDigest ? 1 : 0);
  });

  it('a burst of webhooks beside the thread’s deliveries costs no loop error: each connection waits for the other’s lock', async () => {
    const { storePath, configFile, env } = setUp({ routesYaml: 'routes:\n  - name: r\n    to: [soc-slack, soc-discord, lab-hook]\n    digest: off' });
    serve = await startServe(configFile, env);
    // Large alerts: each batch of accepts holds the write lock long enough to meet the thread's claims.
    const padding = 'x'.repeat(400_000);
    const total = 120;
    let next = 0;
    const sender = async () => {
      while (next < total) {
        const i = next++;
        const res = await fetch(`${serve!.url}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(makeAlertPayload({ title: `Burst ${i}`, description: `${padding}${i}` })) });
        expect(res.status).toBe(200);
        await res.text();
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await untilDrained(storePath);
    expect(serve.stderr()).not.toContain('background loop failed');
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    expect(metrics).toContain('chatops_loop_errors_total{loop="delivery"} 0');
    expect(slack.messages).toHaveLength(total);
  });

  it('SIGTERM lets the thread finish the send in flight and record it; nothing is sent again after the restart', async () => {
    const { storePath, configFile, env } = setUp({ routesYaml: 'routes:\n  - name: r\n    to: [soc-slack]\n    digest: off' });
    serve = await startServe(configFile, env);
    const hold = holdSlackPosts();
    await post(serve.url, 1);
    await until(() => hold.held() === 1, 'the Slack send held');
    const exit = serve.stop('SIGTERM');
    await untilLogged(serve, 'stopping: no new webhooks');
    setTimeout(hold.release, 300);
    expect(await exit).toBe(0);
    expect(pending(storePath)).toBe(0);

    serve = await startServe(configFile, env);
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.requests.filter((r) => r.route === 'chat.postMessage')).toHaveLength(1);
  });

  it('SIGKILL while the thread holds claims: every acknowledged alert arrives after the restart', async () => {
    const { storePath, configFile, env } = setUp({ routesYaml: 'routes:\n  - name: r\n    to: [soc-slack, soc-discord]\n    digest: off' });
    serve = await startServe(configFile, env);
    const hold = holdSlackPosts();
    const total = 5;
    for (let i = 0; i < total; i++) await post(serve.url, i);
    await until(() => hold.held() === 1, 'the Slack send held');
    expect(countInStore(storePath, `SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending' AND lease_until > 0`)).toBeGreaterThan(0);
    await serve.stop('SIGKILL');
    hold.release();

    // (The restart waits up to 15 s to be sure the killed owner is gone: store-owner.ts.)
    serve = await startServe(configFile, env);
    await untilDrained(storePath);
    const slackTitles = slack.messages.map((m) => titleNumber(m.args.text));
    expect([...new Set(slackTitles)].sort()).toEqual([0, 1, 2, 3, 4]);
    // Only the send held at the kill can repeat.
    expect(slackTitles.length - total).toBeLessThanOrEqual(1);
    expect(discord.messages.filter((m) => !m.webhookId).map((m) => titleNumber((m.body as any).embeds[0].title)).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('a restarted thread compiles the templates the running config accepted, not a file broken on disk since', async () => {
    const templatesDir = path.join(path.dirname(tempStorePath()), 'tpl');
    mkdirSync(templatesDir);
    const template = path.join(templatesDir, 'default.slack.hbs');
    writeFileSync(template, '{ "text": "RUNNING {{alert.title}}" }');
    const { storePath, configFile, env } = setUp({ routesYaml: 'routes:\n  - name: r\n    to: [soc-slack]\n    digest: off', extraYaml: `templates: { dir: "${templatesDir}" }` });
    const crashFile = path.join(path.dirname(storePath), 'crash-now');
    serve = await startServe(configFile, { ...env, CRASH_DELIVERY_THREAD_FILE: crashFile }, ['-r', CRASH_PRELOAD]);
    await post(serve.url, 0);
    await untilDrained(storePath);

    // An edit with a typo: the reload is rejected and the running templates stay.
    writeFileSync(template, '{ "text": "{{#if x}}" }');
    serve.child.kill('SIGHUP');
    await untilLogged(serve, 'config reload rejected');
    // Then the thread dies (a bug, an out-of-memory): its successor must deliver with the running templates.
    writeFileSync(crashFile, '');
    await untilLogged(serve, 'the delivery thread stopped unexpectedly');
    await post(serve.url, 1);
    await untilDrained(storePath, 20_000);
    expect(slack.messages.map((m) => m.args.text)).toEqual(['RUNNING Burst 0', 'RUNNING Burst 1']);
    // Its successor started at once, not after dying on the broken file again and again.
    expect(serve.stderr().match(/the delivery thread stopped unexpectedly/g)).toHaveLength(1);
  });

  it('SIGHUP adding a Discord webhook whose URL the config accepts: the thread sends to it, nothing is dead-lettered', async () => {
    // The token of this URL has a dot and is short: the config's URL pattern accepts it (config.test.ts), so the main
    // thread accepts the reload and routes to it; the thread must be able to build it too, or what is routed there
    // dies as "no longer configured" (and a restarted thread could not start at all).
    const { storePath, configFile, env } = setUp({ routesYaml: 'routes:\n  - name: r\n    to: [soc-slack]\n    digest: off' });
    serve = await startServe(configFile, env);
    const hookUrl = discord.webhookUrl(undefined, 'a-B_c.d');
    const yaml = harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), storePath, routesYaml: 'routes:\n  - name: r\n    to: [soc-slack, dotted-hook]\n    digest: off', extraDestinations: `  dotted-hook: { type: discord-webhook, url: "${hookUrl}" }` });
    writeFileSync(configFile, yaml);
    serve.child.kill('SIGHUP');
    await untilLogged(serve, 'config reloaded');
    await post(serve.url, 0);
    await untilDrained(storePath);
    expect(countInStore(storePath, `SELECT COUNT(*) AS n FROM deliveries WHERE status = 'dead'`)).toBe(0);
    expect(discord.messages.filter((m) => m.webhookId).map((m) => titleNumber((m.body as any).embeds[0].title))).toEqual([0]);
    expect(serve.stderr()).not.toContain('the delivery thread rejected the reloaded config');
  });

  it('a delivery thread that dies is started again, and what it had claimed is delivered', async () => {
    // A lease far longer than the test: only freeing the dead thread's claims can let its successor send alert 0.
    const { storePath, configFile, env } = setUp({ routesYaml: 'routes:\n  - name: r\n    to: [soc-slack]\n    digest: off', leaseMs: 600_000 });
    const crashFile = path.join(path.dirname(storePath), 'crash-now');
    serve = await startServe(configFile, { ...env, CRASH_DELIVERY_THREAD_FILE: crashFile }, ['-r', CRASH_PRELOAD]);
    const hold = holdSlackPosts();
    await post(serve.url, 0);
    await until(() => hold.held() === 1, 'the Slack send held');

    writeFileSync(crashFile, '');
    await untilLogged(serve, 'the delivery thread stopped unexpectedly');
    expect(serve.stderr()).toContain('injected crash of the delivery thread');
    // The answer to the dead thread's request arrives when nobody waits for it any more.
    hold.release();
    await untilLogged(serve, '"outcome":"delivered"');
    for (let i = 1; i < 4; i++) await post(serve.url, i);
    await untilDrained(storePath, 20_000);

    const titles = slack.messages.map((m) => titleNumber(m.args.text));
    expect([...new Set(titles)].sort()).toEqual([0, 1, 2, 3]);
    // The claim of the dead thread was sent once more, by its successor: the only repeat.
    expect(titles.filter((t) => t === 0)).toHaveLength(2);
    expect(titles).toHaveLength(5);
    expect(serve.child.exitCode).toBeNull();
    const ready = (await (await fetch(`${serve.url}/readyz`)).json()) as { status: string };
    expect(ready.status).toBe('ready');
    const metrics = await metricsOnceForwarded(serve.url, (text) => text.includes('chatops_loop_errors_total{loop="delivery"} 1'));
    expect(metrics).toContain('chatops_loop_errors_total{loop="delivery"} 1');
  });

  it('a delivery thread that dies right after a delivery: the delivery is still counted in /metrics', async () => {
    // The thread forwards its counts every 250 ms (FORWARD_EVERY_MS); it dies on the turn after it logged the delivery, before that.
    const { configFile, env } = setUp({ routesYaml: 'routes:\n  - name: r\n    to: [soc-slack]\n    digest: off' });
    serve = await startServe(configFile, { ...env, CRASH_DELIVERY_THREAD_AFTER_LOG: '"outcome":"delivered"' }, ['-r', CRASH_PRELOAD]);
    await post(serve.url, 0);
    await untilLogged(serve, 'the delivery thread stopped unexpectedly');
    expect(serve.stderr()).toContain('injected crash of the delivery thread');
    // The restart's loop error is counted on the main thread: once it shows, whatever the dead thread sent is in too.
    const metrics = await metricsOnceForwarded(serve.url, (text) => text.includes('chatops_loop_errors_total{loop="delivery"} 1'));
    expect(metrics).toContain('chatops_loop_errors_total{loop="delivery"} 1');
    expect(Number(/chatops_deliveries_total\{destination="soc-slack",outcome="delivered"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBe(1);
    expect(slack.messages).toHaveLength(1);
  });
});
