/**
 * Nothing is answered 2xx before it is on disk (README, "Nothing accepted is lost"), checked on the built `serve`
 * from the outside: it runs under strace while ~30 Panther alerts arrive a few at a time (so POSTs share commits and
 * a commit lands while another one's sync runs) and deliveries to the fake Slack write their bookkeeping beside them.
 * For every 200 answer, the WAL frame that committed its alert must have been written, then the `-wal` file synced
 * (fdatasync or fsync, on any thread), and only then the answer's first byte written to its socket.
 *
 * Per alert, not "after the last write to the log": a commit of the next batch, or of a delivery, may land while an
 * earlier batch's sync runs; that batch is then answered with newer, not yet synced frames in the log, which is
 * right: nothing was promised about them.
 *
 * Skips (saying why) where strace cannot trace (no ptrace permission).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { until } from '../helpers/interactions';
import { commitOf, hexOf, httpAnswers, parseStrace, syncsOf } from '../helpers/strace-log';

jest.setTimeout(120_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const STRACE = '/usr/bin/strace';
const ALERTS = 30;
const LANES = 6;

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
let strace: ChildProcess | undefined;
beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterAll(async () => {
  if (strace && strace.exitCode === null) {
    strace.kill('SIGKILL');
    await new Promise((r) => strace!.once('exit', r));
  }
  await slack?.close();
  await discord?.close();
});

/** The pid of strace's child (the traced `serve`). */
function tracedPid(stracePid: number): number {
  const children = readFileSync(`/proc/${stracePid}/task/${stracePid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

describe('accepts under strace', () => {
  traced('every 200 is written after an fdatasync or fsync of the -wal that began after its commit frame was written', async () => {
    const storePath = tempStorePath();
    const dir = path.dirname(storePath);
    const configFile = path.join(dir, 'bridge.yaml');
    const traceFile = path.join(dir, 'strace.txt');
    const webhookUrl = discord.webhookUrl();
    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, routesYaml: 'routes:\n  - name: all\n    to: [soc-slack]\n    digest: off' }));
    const env = { ...process.env, PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl, LOG_LEVEL: 'info' };
    const args = ['-f', '-tt', '-T', '-y', '-xx', '-s', '4096', '-e', 'trace=pwrite64,fdatasync,fsync,write,writev,sendto,sendmsg', '-o', traceFile];
    strace = spawn(STRACE, [...args, process.execPath, MAIN, 'serve', '--config', configFile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    strace.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => strace!.once('exit', (code) => resolve(code)));
    const port = () => /"port":(\d+).*"msg":"chatops-bridge listening"/.exec(stderr)?.[1];
    await until(() => port() !== undefined || strace!.exitCode !== null, 60_000, 'serve listening under strace');
    if (!port()) throw new Error(`serve did not start under strace: ${stderr.slice(-2000)}`);
    const url = `http://127.0.0.1:${port()}/webhooks/panther`;

    const payloads = Array.from({ length: ALERTS }, (_, i) => makeAlertPayload({ title: `Durable ${i}` }));
    const answers: { alertId: string; status: number; body: any }[] = [];
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let i = lane; i < ALERTS; i += LANES) {
          const payload = payloads[i]!;
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(payload) });
          answers.push({ alertId: payload.alertId!, status: res.status, body: await res.json() });
        }
      }),
    );
    await slack.waitFor(() => slack.messages.length >= ALERTS, 30_000, 'every alert delivered');
    process.kill(tracedPid(strace.pid!), 'SIGTERM');
    expect(await exited).toBe(0);

    expect(answers.map((a) => a.status)).toEqual(Array(ALERTS).fill(200));
    expect(answers.every((a) => a.body.status === 'accepted')).toBe(true);

    const walFile = `${realpathSync(storePath)}-wal`;
    const calls = parseStrace(traceFile);
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
});
