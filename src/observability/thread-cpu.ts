import { readFileSync, readlinkSync } from 'node:fs';
import { Counter, type Registry } from 'prom-client';

/**
 * The kernel's unit for the times in /proc/<pid>/task/<tid>/stat (USER_HZ). Node cannot ask sysconf(_SC_CLK_TCK),
 * and Linux fixes USER_HZ at 100 on every architecture it exports these times for.
 */
const USER_HZ = 100;

/** The calling thread's kernel id (Linux: from /proc/thread-self), or undefined where there is none. */
export function ownThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of thread `tid` of this process so far, or undefined (gone, or not Linux). */
export function threadCpuSeconds(tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The fields after the command name, which is in parentheses and may itself hold spaces or parentheses:
    // [0] is field 3 (state), so utime (field 14) is [11] and stime (field 15) is [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * `chatops_thread_cpu_seconds_total{thread}`: the CPU time of the bridge's own threads, read from /proc at each
 * scrape. It says which side a CPU limit is spent on: `main` (webhooks, clicks, the console, and deliveries too
 * when they run in the main thread) or `delivery` (the delivery thread: rendering, sending, recording). What the
 * process's rate of CPU has beyond these two is V8's compiler and garbage-collector helpers and libuv's threads.
 * A restarted delivery thread's time is added on: the counter never goes down. Absent where /proc is not (not Linux).
 */
export class ThreadCpu {
  private readonly threads = new Map<string, { tid: number; counted: number }>();

  constructor(registry: Registry) {
    const threads = this.threads;
    new Counter({
      name: 'chatops_thread_cpu_seconds_total',
      help: "CPU time (user + system) of the bridge's main thread and its delivery thread",
      labelNames: ['thread'],
      registers: [registry],
      collect() {
        for (const [name, thread] of threads) {
          const now = threadCpuSeconds(thread.tid);
          // Gone (a thread that died before its successor reported): counted up to its last read.
          if (now === undefined || now <= thread.counted) continue;
          this.inc({ thread: name }, now - thread.counted);
          thread.counted = now;
        }
      },
    });
  }

  /** Counts thread `tid` under `name` from now on (its time so far included), replacing an earlier thread of that name. */
  track(name: string, tid: number | undefined): void {
    if (tid !== undefined) this.threads.set(name, { tid, counted: 0 });
  }
}
