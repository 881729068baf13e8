/**
 * WAL checkpoints of `serve` on SQLite (issue 17, memory): with a delivery thread, that thread copies the log into
 * the database file, so the process runs two JavaScript threads (V8 isolates), not a third one for checkpoints;
 * without it (`delivery.thread: false`), a checkpoint thread of its own still does. Either way the log is copied
 * after a burst and started over, the event loop does not do it, and a delivery thread that dies and is started
 * again checkpoints again.
 *
 * The bursts' alerts match no route: nothing is delivered, so the delivery thread writes nothing, and its own
 * connection's commits (which checkpoint at SQLite's 1,000 log pages) cannot be what copied the log; the main
 * connection only checkpoints past its backstop of 8,192 pages (32 MB), far above a burst's ~12 MB.
 */
import { spawn, spawnSync } from 'node:child_process';
import { openSync, readSync, closeSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeAlertPayload } from '../helpers/fixtures';
import { harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { startServe, MAIN, untilLogged, type ServeProcess } from '../helpers/serve-process';
import { until } from '../helpers/interactions';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { JS_THREADS_PRELOAD, liveJsThreads, startedJsThreads } from '../helpers/js-threads';
import { parseStrace } from '../helpers/strace-log';

jest.setTimeout(120_000);

const CRASH_PRELOAD = ['-r', path.resolve(__dirname, '..', 'helpers', 'thread-crash.cjs')];
const STRACE = '/usr/bin/strace';
/** A burst: this many alerts of ~360 KB each (eight context strings just under the 50,000 kept whole). */
const BURST_ALERTS = 34;
/**
 * What a burst must have moved into the database file: all but what the log may still hold. A burst slowed down
 * (a loaded machine) lets a checkpoint catch up with it: the log is started over mid-burst, and the checkpoints
 * then leave its tail alone while it is under 1,000 pages (4 MB), by design. So at least the burst (~12.5 MB in
 * pages) less 4 MB is copied; 10 MB failed whenever the tail was over ~2.5 MB.
 */
const COPIED_BYTES = 6_000_000;

/** Why strace cannot trace here, or undefined when it can. */
function straceProblem(): string | undefined {
  const probe = spawnSync(STRACE, ['-f', '--seccomp-bpf', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (probe.error) return probe.error.message;
  return probe.status === 0 ? undefined : probe.stderr.trim() || `exit ${probe.status}`;
}
const problem = straceProblem();
const traced = problem === undefined ? it : it.skip;
if (problem !== undefined) {
  // eslint-disable-next-line no-console
  console.warn(`wal-checkpoints: one test skipped, strace cannot trace here (${problem})`);
}

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

/** A fresh store and config whose one route matches nothing the bursts send (their alerts are HIGH). */
function setUp(deliveryThread?: boolean) {
  const storePath = tempStorePath();
  const dir = path.dirname(storePath);
  const configFile = path.join(dir, 'bridge.yaml');
  const webhookUrl = discord.webhookUrl();
  const routesYaml = 'routes:\n  - name: info-only\n    match: { severity: [INFO] }\n    to: [soc-slack]';
  writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, routesYaml, ...(deliveryThread === undefined ? {} : { deliveryThread }) }));
  const threadsFile = path.join(dir, 'js-threads.txt');
  const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl, JS_THREADS_FILE: threadsFile };
  return { storePath, dir, configFile, threadsFile, env };
}

async function post(url: string, payload: unknown): Promise<void> {
  const res = await fetch(`${url}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(payload) });
  await res.text();
  expect(res.status).toBe(200);
}

/** ~12 MB of alerts, four at a time. */
async function burst(url: string, name: string): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < BURST_ALERTS) {
      const i = next++;
      const alertContext = Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`f${k}`, `${name} ${i} ${k} `.padEnd(45_000, 'x')]));
      await post(url, makeAlertPayload({ title: `${name} ${i}`, alertContext }));
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
}

/** The log's checkpoint sequence number (WAL header, bytes 12-15): SQLite adds one each time it starts the log over. */
function logRestarts(storePath: string): number {
  const fd = openSync(`${storePath}-wal`, 'r');
  try {
    const header = Buffer.alloc(16);
    readSync(fd, header, 0, 16, 0);
    return header.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}

/**
 * Sends a burst, then waits until the log is copied into the database file (it grew by most of the burst) and,
 * after one more commit, started over. Nothing but a checkpoint writes the database file of a store in WAL mode.
 */
async function burstCheckpointed(url: string, storePath: string, name: string): Promise<void> {
  const [size, restarts] = [statSync(storePath).size, logRestarts(storePath)];
  await burst(url, name);
  await until(() => statSync(storePath).size - size > COPIED_BYTES, 20_000, `the ${name} burst copied into the database file`);
  await post(url, makeAlertPayload({ title: `${name} after` }));
  await until(() => logRestarts(storePath) > restarts, 5_000, `the log started over after the ${name} burst`);
}

const roles = (threads: { role: string }[]) => threads.map((t) => t.role).sort();

describe('WAL checkpoints of serve', () => {
  it('with the delivery thread, serve runs two JavaScript threads, and the log is still copied into the database file and started over', async () => {
    const { storePath, configFile, threadsFile, env } = setUp();
    serve = await startServe(configFile, env, JS_THREADS_PRELOAD);
    expect(serve.stderr()).toContain('"delivery":"thread"');
    expect(roles(liveJsThreads(threadsFile, serve.child.pid!))).toEqual(['delivery', 'main']);
    await burstCheckpointed(serve.url, storePath, 'Burst');
    expect(roles(startedJsThreads(threadsFile))).toEqual(['delivery', 'main']); // none came and went meanwhile
    expect(serve.stderr()).not.toContain('WAL checkpoint failed');
  });

  it('with delivery.thread false, a checkpoint thread of its own copies the log', async () => {
    const { storePath, configFile, threadsFile, env } = setUp(false);
    serve = await startServe(configFile, env, JS_THREADS_PRELOAD);
    expect(serve.stderr()).toContain('"delivery":"event loop"');
    expect(roles(liveJsThreads(threadsFile, serve.child.pid!))).toEqual(['main', 'worker']);
    await burstCheckpointed(serve.url, storePath, 'Burst');
    expect(serve.stderr()).not.toContain('WAL checkpoint failed');
  });

  traced('the delivery thread syncs the database file, not the event loop; a thread that died is started again and its successor does', async () => {
    const { storePath, dir, configFile, threadsFile, env } = setUp();
    // Made in WAL mode beforehand: serve's start then writes nothing into the database file itself.
    const made = new Database(storePath);
    made.pragma('journal_mode = WAL');
    made.close();
    const traceFile = path.join(dir, 'strace.txt');
    const crashFile = path.join(dir, 'crash-now');
    const [pid, url] = await traceServe(traceFile, configFile, { ...env, CRASH_DELIVERY_THREAD_FILE: crashFile });
    const [first] = liveJsThreads(threadsFile, pid).filter((t) => t.role === 'delivery');
    expect(first).toBeDefined();
    await burstCheckpointed(url, storePath, 'Before');
    const database = realpathSync(storePath);
    // strace writes as it goes: what it has so far is what happened while the first thread was up.
    const dbSyncs = () => parseStrace(traceFile).filter((c) => (c.name === 'fsync' || c.name === 'fdatasync') && c.path === database);
    const whileUp = dbSyncs();
    expect({ main: whileUp.filter((c) => c.tid === pid).length, first: whileUp.some((c) => c.tid === first!.tid) }).toEqual({ main: 0, first: true });

    // While no thread runs, the store's own connection checkpoints on commit again (SQLite's 1,000 pages, by design):
    // a sync by the event loop then is allowed, so from here on only the successor's syncs are asked for.
    writeFileSync(crashFile, '');
    await untilLogged(serve!, 'the delivery thread stopped unexpectedly');
    // Its successor delivers (and checkpoints) once /readyz says the worker is ready again.
    await until(() => liveJsThreads(threadsFile, pid).filter((t) => t.role === 'delivery').length === 1, 10_000, 'a new delivery thread');
    await waitReady(url);
    const threads = liveJsThreads(threadsFile, pid);
    expect(roles(threads)).toEqual(['delivery', 'main']);
    const second = threads.find((t) => t.role === 'delivery')!;
    expect(second.tid).not.toBe(first!.tid);
    await burstCheckpointed(url, storePath, 'After');
    // The copy is visible (the file grew) before the checkpoint's closing sync of the database file: wait for it.
    await until(() => dbSyncs().some((c) => c.tid === second.tid), 10_000, 'the new delivery thread syncing the database file');

    // Killed: its close would checkpoint the rest on the event loop, as it should.
    await serve!.stop('SIGKILL');
    const syncs = dbSyncs();
    const by = (tid: number) => syncs.filter((c) => c.tid === tid).length;
    expect({ second: by(second.tid) > 0, others: syncs.length - by(pid) - by(first!.tid) - by(second.tid) }).toEqual({ second: true, others: 0 });
  });
});

/** Starts the built serve under strace (syncs only), with both preloads; resolves with its pid and URL. */
async function traceServe(traceFile: string, configFile: string, env: Record<string, string>): Promise<[number, string]> {
  const child = spawn(STRACE, ['-f', '--seccomp-bpf', '-tt', '-T', '-y', '-e', 'trace=fsync,fdatasync', '-o', traceFile, process.execPath, ...CRASH_PRELOAD, ...JS_THREADS_PRELOAD, MAIN, 'serve', '--config', configFile], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const port = () => /"port":(\d+).*"msg":"chatops-bridge listening"/.exec(stderr)?.[1];
  await until(() => port() !== undefined || child.exitCode !== null, 60_000, 'serve listening under strace');
  if (!port()) throw new Error(`serve did not start under strace: ${stderr.slice(-2000)}`);
  // The main thread's id is the process id of serve (strace's child).
  const pid = startedJsThreads(env.JS_THREADS_FILE!).find((t) => t.role === 'main')!.tid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  serve = {
    child,
    url: `http://127.0.0.1:${port()}`,
    stderr: () => stderr,
    // Signals serve itself (strace would only detach from it); resolves once strace has written all and exited.
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, signal);
      await exited;
      return null;
    },
  };
  return [pid, serve.url];
}

async function waitReady(url: string): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { checks: { name: string; ok: boolean }[] };
    if (body.checks.find((c) => c.name === 'worker')?.ok) return;
    if (Date.now() > end) throw new Error(`the worker never got ready again: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
