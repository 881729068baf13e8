import { getPriority, setPriority } from 'node:os';
import { readOwnThreadId } from '../observability/thread-id';

/**
 * How much lower than the process the delivery thread runs (a nice increment). At 5 the kernel gives a busy
 * delivery thread about a third of the CPU time of the receiving thread when both want a core (weights 335 and
 * 1024): the receiver keeps the core it needs to answer a burst of webhooks, and deliveries take what is left,
 * catching up as soon as the burst is over. Not higher: a lower-priority thread that holds the store's write lock
 * makes the receiver's commit wait for it (the waits are short and bounded, see group-commit.ts), and a much
 * smaller share would stretch those waits.
 */
export const DELIVERY_THREAD_NICE_INCREMENT = 5;

/**
 * Lowers the calling thread's scheduling priority by `increment` nice steps, relative to the process. Linux only:
 * there the nice value is a per-thread attribute, and `setpriority(PRIO_PROCESS, tid)` on the thread's own id
 * (read from `/proc/thread-self`) changes that thread alone; raising one's own nice value needs no privilege.
 * Returns the thread's new nice value, or an error saying why it was left alone (another OS, no /proc, a
 * seccomp filter); the caller logs it, and the thread then simply shares the CPU as an equal.
 */
export function lowerThreadPriority(increment: number): { nice: number } | { error: string } {
  try {
    const own = readOwnThreadId();
    if ('error' in own) return own;
    const { tid } = own;
    // Relative to the process (the main thread's value), so a process started under `nice` keeps its own level.
    const nice = Math.min(19, getPriority(process.pid) + increment);
    setPriority(tid, nice);
    return { nice: getPriority(tid) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
