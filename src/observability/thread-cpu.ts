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
  /** Per name: the thread read now, its seconds counted so far, and the name's total over every thread it named. */
  private readonly threads = new Map<string, { tid: number; counted: number; total: number; reported: number }>();

  constructor(registry: Registry) {
    const refresh = () => this.refresh();
    const threads = this.threads;
    new Counter({
      name: 'chatops_thread_cpu_seconds_total',
      help: "CPU time (user + system) of the bridge's main thread and its delivery thread",
      labelNames: ['thread'],
      registers: [registry],
      collect() {
        refresh();
        for (const [name, thread] of threads) {
          if (thread.total > thread.reported) this.inc({ thread: name }, thread.total - thread.reported);
          thread.reported = thread.total;
        }
      },
    });
  }

  /** Counts thread `tid` under `name` from now on (its time so far included), after the earlier thread of that name. */
  track(name: string, tid: number | undefined): void {
    if (tid === undefined) return;
    const earlier = this.threads.get(name);
    this.threads.set(name, { tid, counted: 0, total: earlier?.total ?? 0, reported: earlier?.reported ?? 0 });
  }

  /**
   * Reads each thread's time now. Called at each scrape, and by the delivery thread's owner whenever the thread
   * reports, so the time of a thread that dies is counted up to its last report, not only up to the last scrape.
   */
  refresh(): void {
    for (const thread of this.threads.values()) {
      const now = threadCpuSeconds(thread.tid);
      // Gone (a thread that died before its successor reported): counted up to its last read.
      if (now === undefined || now <= thread.counted) continue;
      thread.total += now - thread.counted;
      thread.counted = now;
    }
  }
}
