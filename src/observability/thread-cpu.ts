import { Counter, type Registry } from 'prom-client';
import { threadCpuSeconds } from './thread-id';

/**
 * `chatops_thread_cpu_seconds_total{thread}`: the CPU time of the bridge's own threads, read from /proc. It says
 * which side a CPU limit is spent on: `main` (webhooks, clicks, the console, and deliveries too when they run in the
 * main thread) or `delivery` (the delivery thread: claims, rendering, sending, records, and the store's log
 * checkpoints, which run there). What the process's rate of CPU has beyond these two is V8's compiler and
 * garbage-collector helpers, libuv's threads, and the checkpoint thread where there is one (`delivery.thread:
 * false`). A restarted delivery thread's time is added on: the counter never goes down, and a thread that dies
 * loses at most what it spent since its last read ({@link ThreadCpu.refresh}). Absent where /proc is not (not Linux).
 */
export class ThreadCpu {
  /** Per name: the thread read now, and how much of its time is already counted. */
  private readonly threads = new Map<string, { tid: number; counted: number }>();
  private readonly counter: Counter<'thread'>;

  constructor(registry: Registry) {
    const refresh = () => this.refresh();
    this.counter = new Counter({
      name: 'chatops_thread_cpu_seconds_total',
      help: "CPU time (user + system) of the bridge's main thread and its delivery thread",
      labelNames: ['thread'],
      registers: [registry],
      collect: refresh,
    });
  }

  /** Counts thread `tid` under `name` from now on (its time so far included), after the earlier thread of that name. */
  track(name: string, tid: number | undefined): void {
    if (tid !== undefined) this.threads.set(name, { tid, counted: 0 });
  }

  /**
   * Adds each thread's time since its last read. Called at each scrape, and by the delivery thread's owner whenever
   * the thread reports, so the time of a thread that dies is counted up to its last report, not only its last scrape.
   */
  refresh(): void {
    for (const [name, thread] of this.threads) {
      const now = threadCpuSeconds(thread.tid);
      // Gone (a thread that died before its successor reported): counted up to its last read.
      if (now === undefined || now <= thread.counted) continue;
      this.counter.inc({ thread: name }, now - thread.counted);
      thread.counted = now;
    }
  }
}
