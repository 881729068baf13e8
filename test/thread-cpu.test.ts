/**
 * ThreadCpu (chatops_thread_cpu_seconds_total) over real threads and the real /proc: a thread that burned CPU
 * and died keeps the time read before it died, and its successor's time is added on, never reset.
 */
import { Worker } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { ThreadCpu } from '../src/observability/thread-cpu';
import { ownThreadId, threadCpuSeconds } from '../src/observability/thread-id';

const linux = process.platform === 'linux';

/** A worker thread that reports its kernel id, then burns `burnMs` of CPU when told, then exits when told. */
function burner(): Promise<{ tid: number; burn: (ms: number) => Promise<void>; exit: () => Promise<void> }> {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
     parentPort.postMessage(tid);
     parentPort.on('message', (ms) => {
       if (ms === 'exit') return process.exit(0);
       const until = Date.now() + ms; let x = 0; while (Date.now() < until) x++;
       parentPort.postMessage('burned');
     });`,
    { eval: true },
  );
  const next = () => new Promise<unknown>((resolve) => worker.once('message', resolve));
  return next().then((tid) => ({
    tid: tid as number,
    burn: async (ms) => {
      const done = next();
      worker.postMessage(ms);
      await done;
    },
    exit: async () => {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('exit');
      await exited;
    },
  }));
}

async function counted(registry: Registry): Promise<Record<string, number>> {
  const text = await registry.metrics();
  return Object.fromEntries([...text.matchAll(/^chatops_thread_cpu_seconds_total\{thread="(\w+)"\} ([\d.e+-]+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

(linux ? it : it.skip)('counts a dead thread up to its last refresh, and adds its successor on', async () => {
  const registry = new Registry();
  const threads = new ThreadCpu(registry);
  const first = await burner();
  threads.track('delivery', first.tid);
  await first.burn(300);
  // The kernel's own figure for the thread (10 ms ticks), read just before its owner's read.
  const burned = threadCpuSeconds(first.tid)!;
  expect(burned).toBeGreaterThan(0);
  // What the delivery thread's owner does at each metrics batch: read it while it still exists.
  threads.refresh();
  await first.exit();
  expect(threadCpuSeconds(first.tid)).toBeUndefined();
  const afterDeath = (await counted(registry)).delivery!;
  expect(afterDeath).toBeGreaterThanOrEqual(burned - 1e-9);

  const second = await burner();
  threads.track('delivery', second.tid);
  await second.burn(200);
  const secondBurned = threadCpuSeconds(second.tid)!;
  expect(secondBurned).toBeGreaterThan(0);
  const withSecond = (await counted(registry)).delivery!;
  expect(withSecond).toBeGreaterThanOrEqual(afterDeath + secondBurned - 1e-9);
  await second.exit();
  // Nothing new read: the counter stays where it was (never goes down).
  expect((await counted(registry)).delivery).toBe(withSecond);
});

(linux ? it : it.skip)("reads the calling thread's own time", () => {
  const tid = ownThreadId()!;
  const before = threadCpuSeconds(tid)!;
  const until = Date.now() + 100;
  let x = 0;
  while (Date.now() < until) x++;
  expect(x).toBeGreaterThan(0);
  expect(threadCpuSeconds(tid)!).toBeGreaterThan(before);
  expect(threadCpuSeconds(2 ** 30)).toBeUndefined();
});
