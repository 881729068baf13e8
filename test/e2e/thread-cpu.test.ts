/**
 * `chatops_thread_cpu_seconds_total{thread}` (issue 17, what bounds the CPU goals): a running `serve` reports the
 * CPU time of its main thread and of its delivery thread, read from /proc. Checked against the kernel's own
 * figures for the process: each thread's count grows with the work that thread does (the delivery thread's with
 * deliveries), and the two together never exceed the whole process's CPU time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { until } from '../helpers/interactions';

jest.setTimeout(60_000);

const ALERTS = 200;

let slack: FakeSlack;
let discord: FakeDiscord;
let serve: ServeProcess | undefined;
beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterAll(async () => {
  await serve?.stop('SIGKILL');
  await slack.close();
  await discord.close();
});

async function threadSeconds(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^chatops_thread_cpu_seconds_total\{thread="(\w+)"\} ([\d.e+-]+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** utime + stime of the whole process, in seconds (every thread, as the kernel counts them). */
function processSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

it('reports the main and delivery threads’ CPU, growing with their work and within the process’s own', async () => {
  const storePath = tempStorePath();
  const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
  writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), storePath, routesYaml: 'routes:\n  - name: everything\n    to: [soc-slack]\n    digest: off' }));
  serve = await startServe(configFile, { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: discord.webhookUrl() });
  const url = serve.url;
  // The delivery thread reports itself once it runs, which may be after serve listens.
  let before = await threadSeconds(url);
  for (let tries = 0; before.delivery === undefined && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    before = await threadSeconds(url);
  }
  expect(Object.keys(before).sort()).toEqual(['delivery', 'main']);

  let next = 0;
  const sender = async () => {
    while (next < ALERTS) {
      next++;
      const res = await fetch(`${url}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(makeAlertPayload()) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 4 }, sender));
  await until(() => slack.messages.length >= ALERTS, 30_000);

  const after = await threadSeconds(url);
  const whole = processSeconds(serve.child.pid!);
  expect(after.main!).toBeGreaterThan(before.main!);
  // Rendering, sending and recording 200 messages: well over the 10 ms the kernel counts in.
  expect(after.delivery!).toBeGreaterThan(before.delivery! + 0.01);
  expect(after.main! + after.delivery!).toBeLessThanOrEqual(whole);
});
