/**
 * `serve` keeps its heap as measured however it was started (issue 17, memory): started as `node dist/main.js serve`,
 * without the heap flags `npm start` passes, its main thread's young generation stays at its first size (two
 * semi-spaces of 1 MB) through a burst, where V8's default grew it to 16 MB semi-spaces and never gave the pages
 * back (about 230 MB of peak RSS in the throughput bench, against about 146).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';

jest.setTimeout(120_000);

const ALERTS = 600;
const IN_FLIGHT = 8;
/** Two semi-spaces of 1 MB, with room for V8's own rounding; the default grows past 8 MB in such a burst. */
const NEW_SPACE_MAX = 4 * 1024 * 1024;

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

/** The main thread's new space as /metrics reports it (prom-client's per-space heap gauge). */
async function newSpaceBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^chatops_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(text);
  if (!m) throw new Error(`no new-space gauge in /metrics:\n${text.slice(0, 2000)}`);
  return Number(m[1]);
}

it('started as node dist/main.js serve, the main thread keeps a small young generation through a burst', async () => {
  const storePath = tempStorePath();
  const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
  const webhookUrl = discord.webhookUrl();
  writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, routesYaml: 'routes:\n  - name: everything\n    to: [soc-slack]\n    digest: off' }));
  serve = await startServe(configFile, { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl, NODE_OPTIONS: '' });
  expect(serve.child.spawnargs.filter((arg) => arg.includes('semi-space') || arg.includes('heap-growing'))).toEqual([]);

  // Alerts with some context each (about 20 KB of JSON), eight in flight, as a sender's retry burst would come.
  const context = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, `value ${i} `.repeat(50)]));
  let next = 0;
  const statuses: number[] = [];
  const sender = async () => {
    while (next < ALERTS) {
      next++;
      const res = await fetch(`${serve!.url}/webhooks/panther`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN },
        body: JSON.stringify(makeAlertPayload({ alertContext: context })),
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  expect(statuses.filter((s) => s !== 200)).toEqual([]);

  expect(await newSpaceBytes(serve.url)).toBeLessThanOrEqual(NEW_SPACE_MAX);
});
