import { readFileSync, readlinkSync } from 'node:fs';

/**
 * The kernel's unit for the times in /proc/<pid>/task/<tid>/stat (USER_HZ). Node cannot ask sysconf(_SC_CLK_TCK);
 * Linux fixes USER_HZ at 100 on every architecture Node runs on.
 */
const USER_HZ = 100;

/**
 * The calling thread's kernel id (Linux: from /proc/thread-self), or why there is none (another OS, no /proc, a
 * seccomp filter). Its own module without prom-client: the delivery thread reads it and must not load the metrics
 * library for that.
 */
export function readOwnThreadId(): { tid: number } | { error: string } {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? { tid } : { error: 'no thread id in /proc/thread-self' };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The calling thread's kernel id, or undefined where there is none (see {@link readOwnThreadId}). */
export function ownThreadId(): number | undefined {
  const own = readOwnThreadId();
  return 'tid' in own ? own.tid : undefined;
}

/** User + system CPU seconds of thread `tid` of this process so far, or undefined (gone, unreadable, not Linux). */
export function threadCpuSeconds(tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The fields after the command name, which is in parentheses and may itself hold spaces or parentheses:
    // [0] is field 3 (state), so utime (field 14) is [11] and stime (field 15) is [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
    return Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
}
