/**
 * One `serve` per store, also when every bridge is PID 1 (issue 14, point 1). Two built bridges run on one store
 * file, each in its own PID namespace (`unshare --pid --fork --mount-proc`, as in two containers on one volume),
 * with alerts flowing to the loopback fake Slack. The second refuses (exit 1) naming the first; a standby waits,
 * saying for whom, and takes over when the first is killed (SIGKILL of its whole process group), delivering what
 * was left pending. Every alert reaches Slack exactly once. Before, the pid-file lock let a second PID 1 take the
 * store over: it released the first one's leases, and both sent the same deliveries.
 *
 * This machine class (CI included) runs tests as root, where unshare is allowed; where it is not, the test fails
 * saying so rather than skipping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { linkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { until } from '../helpers/interactions';
import { queryStore } from '../helpers/store-query';

jest.setTimeout(90_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const UNSHARE = ['--pid', '--fork', '--mount-proc'];

interface Serve {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

const running: Serve[] = [];

/** `serve` as PID 1 of a new PID namespace, leading its own process group (so the group can be killed whole). */
function startServe(configFile: string, env: Record<string, string>, extra: string[] = []): Serve {
  const child = spawn('unshare', [...UNSHARE, process.execPath, MAIN, 'serve', '--config', configFile, ...extra], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const serve = { child, stderr: () => stderr, exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))) };
  running.push(serve);
  return serve;
}

const killGroup = (serve: Serve, signal: NodeJS.Signals) => {
  try {
    process.kill(-serve.child.pid!, signal);
  } catch {
    /* already gone */
  }
};
const listeningUrl = (serve: Serve) => {
  const m = /"port":(\d+).*"msg":"chatops-bridge listening"/.exec(serve.stderr());
  return m ? `http://127.0.0.1:${m[1]}` : undefined;
};

/** Whichever comes first: the process exits (with its code) or it logs that it listens. */
async function exitOrListening(serve: Serve, timeoutMs = 20_000): Promise<{ exitCode: number | null } | 'listening'> {
  let timer: NodeJS.Timeout | undefined;
  const listening = new Promise<'listening'>((resolve, reject) => {
    const started = Date.now();
    timer = setInterval(() => {
      if (listeningUrl(serve)) resolve('listening');
      else if (Date.now() - started > timeoutMs) reject(new Error(`neither exit nor listening after ${timeoutMs} ms: ${serve.stderr().slice(-1000)}`));
    }, 50);
  });
  try {
    return await Promise.race([serve.exited.then((exitCode) => ({ exitCode })), listening]);
  } finally {
    clearInterval(timer);
  }
}

let slack: FakeSlack;
let discord: FakeDiscord;
beforeAll(async () => {
  const probe = spawnSync('unshare', [...UNSHARE, 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(
      `unshare ${UNSHARE.join(' ')} is not permitted here (${(probe.error?.message ?? probe.stderr).trim()}): this test runs two bridges as PID 1 ` +
        'and needs root (or CAP_SYS_ADMIN); it does not skip',
    );
  }
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterAll(async () => {
  for (const serve of running) {
    killGroup(serve, 'SIGKILL');
    await serve.exited;
  }
  await slack?.close();
  await discord?.close();
});

const titleNumber = (text: unknown) => Number(/Lock test (\d+)\b/.exec(String(text))?.[1] ?? NaN);

describe('one serve per store, PID 1 or not', () => {
  it('refuses a second serve naming the first; a standby takes over after SIGKILL and nothing is posted twice', async () => {
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    const webhookUrl = discord.webhookUrl();
    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, routesYaml: 'routes:\n  - name: all\n    to: [soc-slack]\n    digest: off' }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    // Slack can be taken "down" (503 on every post), so alerts stay pending when the first bridge is killed
    // without a post in flight: then "exactly once" is the lock's doing, not luck.
    let slackDown = false;
    slack.failNext(1_000_000, 503, (r) => slackDown && r.route.startsWith('chat.postMessage'));
    const post = async (url: string, i: number) => {
      const res = await fetch(`${url}/webhooks/panther`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN },
        body: JSON.stringify(makeAlertPayload({ title: `Lock test ${i}` })),
      });
      expect(res.status).toBe(200);
    };

    const first = startServe(configFile, env);
    await until(() => listeningUrl(first) !== undefined || first.child.exitCode !== null, 20_000, 'first serve listening');
    const firstUrl = listeningUrl(first);
    if (!firstUrl) throw new Error(`first serve did not start: ${first.stderr().slice(-2000)}`);
    for (let i = 0; i < 10; i++) await post(firstUrl, i);
    await slack.waitFor(() => slack.messages.length >= 10, 10_000, 'first 10 alerts');

    // A second serve on the same store, also PID 1: refused, naming the first; it never serves.
    const second = startServe(configFile, env);
    expect(await exitOrListening(second)).toEqual({ exitCode: 1 });
    const owner = queryStore<{ instance_id: string; hostname: string; pid: number }>(storePath, 'SELECT instance_id, hostname, pid FROM store_owner')[0];
    expect(owner).toMatchObject({ pid: 1, hostname: os.hostname() });
    expect(second.stderr()).toContain(`is in use by chatops-bridge instance ${owner!.instance_id} on host ${os.hostname()} (pid 1,`);
    expect(second.stderr()).toContain('run serve --standby');

    // A standby says it waits and for whom, and does not listen.
    const standby = startServe(configFile, env, ['--standby']);
    await until(() => standby.stderr().includes('"msg":"standby: store'), 20_000, 'standby waiting');
    expect(standby.stderr()).toContain(`in use by chatops-bridge instance ${owner!.instance_id}`);

    // More alerts reach the first while Slack refuses them: they stay pending in the store.
    slackDown = true;
    for (let i = 10; i < 20; i++) await post(firstUrl, i);
    await until(() => slack.requests.filter((r) => r.route.startsWith('chat.postMessage') && r.status === 503).length >= 10, 10_000, 'failed attempts');
    expect(listeningUrl(standby)).toBeUndefined();

    // The first dies without a word; the standby takes over and delivers what was pending.
    killGroup(first, 'SIGKILL');
    await first.exited;
    slackDown = false;
    await until(() => listeningUrl(standby) !== undefined, 20_000, 'standby takes over');
    expect(standby.stderr()).toContain('standby: the store is free; taking over');
    await slack.waitFor(() => new Set(slack.messages.map((m) => titleNumber(m.args.text))).size === 20, 30_000, 'all 20 alerts');
    await new Promise((r) => setTimeout(r, 1000));

    const counts = new Map<number, number>();
    for (const m of slack.messages) counts.set(titleNumber(m.args.text), (counts.get(titleNumber(m.args.text)) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(queryStore<{ instance_id: string; pid: number }>(storePath, 'SELECT instance_id, pid FROM store_owner')).toEqual([
      { instance_id: expect.not.stringMatching(owner!.instance_id), pid: 1 },
    ]);

    // Stopped gracefully, the standby-turned-owner removes its row and frees the store.
    killGroup(standby, 'SIGTERM');
    expect(await standby.exited).toBe(0);
    expect(queryStore(storePath, 'SELECT * FROM store_owner')).toEqual([]);
  });

  it('refuses a second serve that reaches the store by another path or after its lock file was deleted; waits for a held write lock at start', async () => {
    const storePath = tempStorePath();
    const dir = path.dirname(storePath);
    const webhookUrl = discord.webhookUrl();
    const configFor = (file: string, store: string) => {
      writeFileSync(file, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath: store, routesYaml: 'routes:\n  - name: all\n    to: [soc-slack]\n    digest: off' }));
      return file;
    };
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const first = startServe(configFor(path.join(dir, 'a.yaml'), storePath), env);
    await until(() => listeningUrl(first) !== undefined || first.child.exitCode !== null, 20_000, 'first serve listening');
    expect(listeningUrl(first)).toBeDefined();

    // The same database through a symbolic link: SQLite follows it, so the lock must too.
    symlinkSync(path.basename(storePath), path.join(dir, 'alias.db'));
    const viaLink = startServe(configFor(path.join(dir, 'b.yaml'), path.join(dir, 'alias.db')), env);
    expect(await exitOrListening(viaLink)).toEqual({ exitCode: 1 });
    expect(viaLink.stderr()).toMatch(/is in use by chatops-bridge instance [0-9a-f-]+ on host/);

    // A hard link is a second name SQLite would give its own -wal and -shm: refused outright.
    linkSync(storePath, path.join(dir, 'hard.db'));
    const viaHardLink = startServe(configFor(path.join(dir, 'h.yaml'), path.join(dir, 'hard.db')), env);
    expect(await exitOrListening(viaHardLink)).toEqual({ exitCode: 1 });
    expect(viaHardLink.stderr()).toContain('has 2 names (hard links)');
    rmSync(path.join(dir, 'hard.db'));

    // The lock file deleted under the running holder: its heartbeat in the store still keeps a second one out.
    rmSync(`${storePath}-owner`);
    const afterDelete = startServe(configFor(path.join(dir, 'c.yaml'), storePath), env);
    expect(await exitOrListening(afterDelete, 40_000)).toEqual({ exitCode: 1 });
    expect(afterDelete.stderr()).toMatch(/heartbeat in the store is live: was that file deleted, or is the store reached under another path\?/);

    // Stopped, the holder removes its row; a new serve meeting a write lock held elsewhere (an outbox command)
    // waits for it instead of failing its start after one busy timeout.
    killGroup(first, 'SIGTERM');
    expect(await first.exited).toBe(0);
    const holder = new Database(storePath);
    holder.exec('BEGIN IMMEDIATE');
    const waiting = startServe(configFor(path.join(dir, 'd.yaml'), storePath), env);
    await until(() => waiting.stderr().includes("the store's write lock is held by another connection"), 20_000, 'waiting for the write lock');
    await new Promise((r) => setTimeout(r, 6000)); // longer than the connection's 5 s busy timeout
    expect(waiting.child.exitCode).toBeNull();
    holder.exec('ROLLBACK');
    holder.close();
    expect(await exitOrListening(waiting)).toBe('listening');

    // Should another process record itself as the owner anyway (this one frozen past the stale time with its lock
    // file gone), this one stops at once instead of serving beside it.
    const other = new Database(storePath);
    other.prepare(`UPDATE store_owner SET instance_id = 'another-instance'`).run();
    other.close();
    expect(await waiting.exited).toBe(1);
    expect(waiting.stderr()).toContain('another process has taken over this store; stopping at once');
  });
});
