/**
 * Issue 17 point 1: the receiver never waits for delivery CPU. On Linux the delivery thread lowers its own
 * scheduling priority (nice +5 relative to the process), so when both threads want a core the webhooks' thread gets
 * it. Read from the kernel's view of the spawned `serve`: /proc/<pid>/task/<tid>/stat, field 19 (nice).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServe, type ServeProcess } from '../helpers/serve-process';

jest.setTimeout(60_000);

const running: ServeProcess[] = [];
afterEach(async () => {
  for (const serve of running.splice(0)) await serve.stop('SIGKILL');
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nice value of each thread of `pid`, by thread id. */
function threadNice(pid: number): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // After the command name (in parentheses): field 3 (state) is index 0, field 19 (nice) index 16.
    nice.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return nice;
}

/** Starts `serve` (under `nice -n <processNice>`) with these config lines and returns its threads' nice values once it listens. */
async function servedThreads(extra: string, processNice = 0): Promise<{ pid: number; nice: Map<number, number> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-nice-'));
  writeFileSync(
    path.join(dir, 'bridge.yaml'),
    `server: { port: 0, host: 127.0.0.1 }
store: { path: "${dir}/outbox.db" }
sources: { panther: { auth: { tokens: ["t"] } } }
${extra}
destinations:
  out: { type: console }
routes:
  - name: all
    to: [out]
`,
  );
  const serve = await startServe(path.join(dir, 'bridge.yaml'), { LOG_FORMAT: 'json' }, [], ['nice', '-n', String(processNice)]);
  running.push(serve);
  await sleep(500); // the delivery thread starts beside the listening socket
  const pid = serve.child.pid!;
  const nice = threadNice(pid);
  await serve.stop();
  return { pid, nice };
}

const linux = process.platform === 'linux' ? describe : describe.skip;
/** The test runner's own nice value: `serve` inherits it (CI may run the suite under `nice`). */
const BASE = os.getPriority();

linux('the delivery thread runs below the receiving thread', () => {
  it('one thread, the delivery thread, is 5 nice steps below the process; the receiving thread keeps its level', async () => {
    const { pid, nice } = await servedThreads('');
    expect(nice.get(pid)).toBe(BASE);
    const lowered = [...nice].filter(([, value]) => value !== BASE);
    expect(lowered).toEqual([[expect.any(Number), BASE + 5]]);
  });

  it('relative to the process: serve started 3 steps lower runs its delivery thread 8 steps lower', async () => {
    const { pid, nice } = await servedThreads('', 3);
    expect(nice.get(pid)).toBe(BASE + 3);
    expect([...nice.values()].filter((value) => value !== BASE + 3)).toEqual([BASE + 8]);
  });

  it('with delivery.thread: false nothing is lowered (there is no delivery thread)', async () => {
    const { nice } = await servedThreads('delivery: { thread: false }');
    expect(new Set(nice.values())).toEqual(new Set([BASE]));
  });
});
