/**
 * Issue 17 point 3: `serve` loads only the chat SDKs its config uses. Bolt (with @slack/web-api, OAuth and
 * socket-mode) and discord.js (with @discordjs/rest, undici, ws) are tens of MB of heap each; a config without a
 * platform must not pay for its SDK. Read from the built bridge's own module table (a test-side preload writes it
 * on SIGUSR2), after start-up, when every client and destination of the config exists.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const PRELOAD = path.join(__dirname, '..', 'helpers', 'loaded-modules.cjs');

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Packages (by node_modules directory) loaded by `serve` with these config lines, once it listens: in all, and by
 * its main thread alone (beside the delivery thread, which holds the platform clients).
 */
async function packagesLoaded(platforms: string): Promise<Set<string> & { main: Set<string>; thread: Set<string>; files: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-sdks-'));
  // Unreachable APIs: the token checks at start fail, which is all the better (their error paths run too).
  writeFileSync(
    path.join(dir, 'bridge.yaml'),
    `server: { port: 0, host: 127.0.0.1 }
store: { path: "${dir}/outbox.db" }
sources: { panther: { auth: { tokens: ["t"] } } }
${platforms}
routes:
  - name: all
    to: [out]
`,
  );
  const file = path.join(dir, 'modules.json');
  const child = spawn(process.execPath, ['-r', PRELOAD, MAIN, 'serve', '--config', path.join(dir, 'bridge.yaml')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', LOADED_MODULES_FILE: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  for (let i = 0; !log.includes('chatops-bridge listening'); i++) {
    if (child.exitCode !== null || i > 300) throw new Error(`serve did not listen: ${log}`);
    await sleep(50);
  }
  // The template check (sample renders through every formatter) runs right after "listening": let it finish, so
  // the main thread's list includes what it loads.
  await sleep(1500);
  child.kill('SIGUSR2');
  // Each list is written in one synchronous write, but another process can see the file between its creation and
  // that write (empty), and the delivery thread runs at a lower priority: wait until both read as whole lists.
  const whole = (list: string) => {
    try {
      return Array.isArray(JSON.parse(readFileSync(list, 'utf8')));
    } catch {
      return false;
    }
  };
  for (let i = 0; !whole(file) || !whole(`${file}.thread`); i++) {
    if (i > 200) throw new Error('no module list written');
    await sleep(50);
  }
  child.kill('SIGTERM');
  const packages = (list: string) => new Set((JSON.parse(readFileSync(list, 'utf8')) as string[]).flatMap((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1] ?? []));
  const main = packages(file);
  const thread = packages(`${file}.thread`);
  const files = [file, `${file}.thread`].flatMap((list) => JSON.parse(readFileSync(list, 'utf8')) as string[]);
  return Object.assign(new Set([...main, ...thread]), { main, thread, files });
}

const SLACK = 'slack: { token: xoxb-test, apiUrl: "http://127.0.0.1:9/api/", botId: B1, botUserId: U1, signingSecret: s3cret }';
const DISCORD = 'discord: { token: discord-test, apiUrl: "http://127.0.0.1:9/api", publicKey: "' + 'ab'.repeat(32) + '" }';

describe('serve loads only the platform SDKs its config uses', () => {
  it('a Discord-only config (bot channel and webhook, interactions on) never loads Bolt or the Slack Web API', async () => {
    const loaded = await packagesLoaded(`${DISCORD}
destinations:
  out: { type: discord, channel: "112233445566778899" }
  hook: { type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/abcdefghijklmnop" }`);
    expect(loaded.has('discord.js')).toBe(true);
    expect([...loaded].filter((p) => p.startsWith('@slack/'))).toEqual([]);
    // The main thread only receives: Discord's interactions need no SDK, and the clients live in the delivery thread.
    expect([...loaded.main].filter((p) => p.startsWith('@slack/') || p === '@discordjs/rest' || p === '@discordjs/ws' || p === 'discord.js')).toEqual([]);
  });

  it('a Discord bot-only config sends with @discordjs/rest, never loading the whole of discord.js', async () => {
    const loaded = await packagesLoaded(`${DISCORD}
destinations:
  out: { type: discord, channel: "112233445566778899" }`);
    expect(loaded.has('@discordjs/rest')).toBe(true);
    // discord.js (gateway client, builders, its own undici) is only for webhook destinations.
    expect([...loaded].filter((p) => p === 'discord.js' || p === '@discordjs/ws' || p === '@discordjs/builders')).toEqual([]);
  });

  it('a Slack-only config (interactivity on) never loads discord.js or @discordjs/rest', async () => {
    const loaded = await packagesLoaded(`${SLACK}
destinations:
  out: { type: slack, channel: C0123456789 }`);
    expect(loaded.has('@slack/web-api')).toBe(true);
    // Sending needs the Web API client alone: Bolt (its receivers, OAuth, socket-mode, Express) comes with the
    // first click, in the main thread.
    expect([...loaded].filter((p) => p === '@slack/bolt' || p === '@slack/socket-mode' || p === '@slack/oauth')).toEqual([]);
    expect([...loaded].filter((p) => p === 'discord.js' || p === 'discord-api-types' || p === '@discordjs/rest' || p === '@discordjs/ws')).toEqual([]);
    // Beside the delivery thread, the main thread renders (the template check) without the SDK; Bolt comes with
    // the first click.
    expect([...loaded.main].filter((p) => p.startsWith('@slack/'))).toEqual([]);
  });

  it('a console-only config loads neither SDK, and a SQLite store never loads node-postgres', async () => {
    const loaded = await packagesLoaded(`destinations:
  out: { type: console }`);
    expect([...loaded].filter((p) => p.startsWith('@slack/') || p === 'discord.js' || p === '@discordjs/rest')).toEqual([]);
    expect([...loaded].filter((p) => p === 'pg' || p.startsWith('pg-'))).toEqual([]);
    // Nor the bridge's own PostgreSQL engine; and the delivery thread parses no payload, so it never loads zod.
    expect(loaded.files.filter((f) => /dist\/delivery\/postgres\/(postgres-engine|pg-claims|pg-accept)\.js$/.test(f))).toEqual([]);
    expect(loaded.thread.has('zod')).toBe(false);
    // Its metrics are forwarded to the main thread's registry: the metrics library stays out of it.
    expect(loaded.thread.has('prom-client')).toBe(false);
  });
});
