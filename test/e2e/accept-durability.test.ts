/**
 * Nothing is answered 2xx before it is on disk (README, "Nothing accepted is lost"), checked on the built `serve`
 * from the outside, under strace:
 *
 * - ~30 Panther alerts arrive a few at a time (so POSTs share commits, and a commit lands while another one's sync
 *   runs) while deliveries to the fake Slack write their bookkeeping beside them. For every 200 answer, the WAL frame
 *   that committed its alert must have been written, then the `-wal` file synced (fdatasync or fsync, on any
 *   thread), and only then the answer's first byte written to its socket. Per alert, not "after the last write to
 *   the log": a commit of the next batch, or of a delivery, may land while an earlier batch's sync runs; that batch
 *   is then answered with newer, not yet synced frames in the log, which is right: nothing was promised about them.
 * - A sync of the log that fails (EIO injected by strace into one fdatasync) answers its POST 503, and every later
 *   one too, until a restart: the frames that may not have reached the disk sit before every later commit in the
 *   log, and SQLite's recovery stops at the first frame it cannot read back, so no later sync can make a later
 *   commit durable (nor the failed one, which a retry would otherwise be told is a "duplicate"). /readyz says so.
 * - Alerts arriving one at a time are not synced on the event loop: the log is not started over (which SQLite syncs
 *   on the committing thread) after every quiet tenth of a second.
 *
 * Skips (saying why) where strace cannot trace (no ptrace permission).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload, type PantherPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { until } from '../helpers/interactions';
import { commitOf, hexOf, httpAnswers, parseStrace, syncsOf, type Syscall } from '../helpers/strace-log';

jest.setTimeout(120_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const STRACE = '/usr/bin/strace';
const TRACED = 'trace=pwrite64,fdatasync,fsync,write,writev,sendto,sendmsg';

/** Why strace cannot trace here, or undefined when it can. */
function straceProblem(): string | undefined {
  const probe = spawnSync(STRACE, ['-f', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (probe.error) return probe.error.message;
  return probe.status === 0 ? undefined : probe.stderr.trim() || `exit ${probe.status}`;
}
const problem = straceProblem();
const traced = problem === undefined ? it : it.skip;
if (problem !== undefined) {
  // eslint-disable-next-line no-console
  console.warn(`accept-durability: skipped, strace cannot trace here (${problem}); it needs ptrace (root or CAP_SYS_PTRACE, ptrace_scope <= 1)`);
}

let slack: FakeSlack;
let discord: FakeDiscord;
const running: ChildProcess[] = [];
beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterAll(async () => {
  for (const child of running) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  await slack?.close();
  await discord?.close();
});

interface TracedServe {
  url: string;
  storePath: string;
  /** The pid of `serve` itself, which is also the tid of its main (event-loop) thread. */
  pid: number;
  post(payload: PantherPayload): Promise<{ status: number; body: any }>;
  /** SIGTERM; resolves with serve's exit code and what strace recorded. */
  stop(): Promise<{ code: number | null; calls: Syscall[]; traceFile: string }>;
}

/** The built `serve` under strace (`straceArgs` before `-o`), on a fresh store, routing everything to the fake Slack. */
async function traceServe(straceArgs: string[], env: Record<string, string> = {}): Promise<TracedServe> {
  const storePath = tempStorePath();
  const dir = path.dirname(storePath);
  const configFile = path.join(dir, 'bridge.yaml');
  const traceFile = path.join(dir, 'strace.txt');
  const webhookUrl = discord.webhookUrl();
  writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, routesYaml: 'routes:\n  - name: all\n    to: [soc-slack]\n    digest: off' }));
  const childEnv = { ...process.env, ...env, PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl, LOG_LEVEL: 'info' };
  const child = spawn(STRACE, ['-f', '-tt', '-T', '-y', '-xx', '-s', '4096', ...straceArgs, '-o', traceFile, process.execPath, MAIN, 'serve', '--config', configFile], {
    env: childEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = () => /"port":(\d+).*"msg":"chatops-bridge listening"/.exec(stderr)?.[1];
  await until(() => port() !== undefined || child.exitCode !== null, 60_000, 'serve listening under strace');
  if (!port()) throw new Error(`serve did not start under strace: ${stderr.slice(-2000)}`);
  const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  const base = `http://127.0.0.1:${port()}`;
  return {
    url: base,
    storePath,
    pid,
    post: async (payload) => {
      const res = await fetch(`${base}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(payload) });
      return { status: res.status, body: await res.json() };
    },
    stop: async () => {
      process.kill(pid, 'SIGTERM');
      const code = await exited;
      return { code, calls: parseStrace(traceFile), traceFile };
    },
  };
}

describe('accepts under strace', () => {
  traced('every 200 is written after an fdatasync or fsync of the -wal that began after its commit frame was written', async () => {
    const ALERTS = 30;
    const LANES = 6;
    const serve = await traceServe(['-e', TRACED]);
    const payloads = Array.from({ length: ALERTS }, (_, i) => makeAlertPayload({ title: `Durable ${i}` }));
    const answers: { alertId: string; status: number; body: any }[] = [];
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let i = lane; i < ALERTS; i += LANES) answers.push({ alertId: payloads[i]!.alertId!, ...(await serve.post(payloads[i]!)) });
      }),
    );
    await slack.waitFor(() => slack.messages.filter((m) => /Durable \d+/.test(String(m.args.text))).length >= ALERTS, 30_000, 'every alert delivered');
    const { code, calls, traceFile } = await serve.stop();
    expect(code).toBe(0);

    expect(answers.map((a) => a.status)).toEqual(Array(ALERTS).fill(200));
    expect(answers.every((a) => a.body.status === 'accepted')).toBe(true);

    const walFile = `${realpathSync(serve.storePath)}-wal`;
    const syncs = syncsOf(calls, walFile);
    const http = httpAnswers(calls);
    const problems: string[] = [];
    for (const { alertId } of answers) {
      const answer = http.find((a) => a.text.startsWith('HTTP/1.1 200') && a.text.includes(`"alertId":"${alertId}"`));
      const committed = commitOf(calls, walFile, hexOf(alertId));
      if (!answer || committed === undefined) {
        problems.push(`${alertId}: ${!answer ? 'no 200 answer' : 'no commit frame'} found in the trace`);
        continue;
      }
      const covering = syncs.find((s) => s.start >= committed && s.end <= answer.start);
      if (!covering) {
        const after = syncs.find((s) => s.start >= committed);
        problems.push(
          `${alertId}: answered ${((answer.start - committed) / 1000).toFixed(3)} ms after its commit frame with no -wal sync in between` +
            (after ? ` (the next sync began ${((after.start - answer.start) / 1000).toFixed(3)} ms after the answer)` : ''),
        );
      }
    }
    if (problems.length > 0) throw new Error(`${problems.length} of ${ALERTS} answers not durable (trace: ${traceFile}):\n${problems.join('\n')}`);
  });

  traced('after a failed sync of the log nothing more is answered 2xx, the failed alert not as a duplicate either, and /readyz fails', async () => {
    // strace counts a syscall per thread: with one thread in libuv's pool, "the second fdatasync" is the second
    // sync of the log (SQLite itself syncs with fsync, and nothing else in serve calls fdatasync).
    const serve = await traceServe(['-e', 'trace=fdatasync', '-e', 'inject=fdatasync:error=EIO:when=2'], { UV_THREADPOOL_SIZE: '1' });
    const [a, b, c] = [makeAlertPayload({ title: 'Sync A' }), makeAlertPayload({ title: 'Sync B' }), makeAlertPayload({ title: 'Sync C' })];
    const statuses = [];
    for (const payload of [a, b, c, b]) statuses.push((await serve.post(payload!)).status);
    const ready = await fetch(`${serve.url}/readyz`);
    const readiness = (await ready.json()) as { checks: { name: string; ok: boolean; detail?: string }[] };
    const { code, calls } = await serve.stop();

    expect(code).toBe(0); // SIGTERM still stops it cleanly
    expect(calls.filter((s) => s.name === 'fdatasync' && s.ret < 0).length).toBe(1); // the injected EIO happened
    // A (first sync) is stored durably; B's sync failed; C and B's retry must not be promised either.
    expect(statuses).toEqual([200, 503, 503, 503]);
    expect(ready.status).toBe(503);
    expect(readiness.checks.find((check) => check.name === 'store')).toMatchObject({ ok: false, detail: expect.stringContaining('EIO') });
  });

  traced('alerts arriving one at a time are not synced on the event loop (nor are deliveries recorded with a sync there)', async () => {
    const serve = await traceServe(['-e', TRACED]);
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await serve.post(makeAlertPayload({ title: `Sparse ${i}` }))).status);
      await new Promise((r) => setTimeout(r, 300)); // three checkpoint ticks: the thread catches up each time
    }
    await slack.waitFor(() => slack.messages.filter((m) => /Sparse \d+/.test(String(m.args.text))).length >= 8, 30_000, 'every alert delivered');
    const { calls, traceFile } = await serve.stop();
    expect(statuses).toEqual(Array(8).fill(200));

    const walFile = `${realpathSync(serve.storePath)}-wal`;
    const answers = httpAnswers(calls).filter((a) => a.text.includes('"status":"accepted"'));
    expect(answers).toHaveLength(8);
    const [first, last] = [answers[0]!.start, answers[answers.length - 1]!.start];
    const onLoop = syncsOf(calls, walFile).filter((s) => s.tid === serve.pid && s.start >= first && s.start <= last);
    if (onLoop.length > 0) throw new Error(`${onLoop.length} syncs of the -wal on the event-loop thread between the first and the last answer (trace: ${traceFile})`);
  });
});
