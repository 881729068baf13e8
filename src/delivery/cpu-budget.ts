import { performance } from 'node:perf_hooks';

/**
 * The share of a CPU limit the process keeps to while the delivery thread starts work (a backlog draining). Under a
 * CFS quota (a container's CPU limit) the kernel stops every thread of the process for the rest of a 100 ms period
 * once the quota is spent: a lower priority (thread-priority.ts) only orders threads within the quota. A delivery
 * thread that spent it all kept each webhook arriving in such a period waiting up to the period's end (p99 about
 * 100 ms at 250 millicores, `npm run bench -- --only accept --cpu-limit 250`). Half leaves the other half free for
 * the receiving thread; a backlog then drains at about half the speed the limit would allow.
 */
export const DELIVERY_SHARE_OF_CPU_LIMIT = 0.5;

/** The CFS period container runtimes use (100 ms): the budget lets the thread spend at most one period's share at once. */
const PERIOD_MS = 100;

/**
 * A token bucket on the process's CPU time (`process.cpuUsage()`, every thread's, which is what a quota counts): it
 * earns `cores` ms per ms of wall time, up to one period's worth, and spends the CPU time the process used. The
 * delivery loop asks {@link waitMs} before it claims more work and waits that long while the process is over its
 * share: during a burst of webhooks the receiving thread's own work keeps deliveries waiting (they catch up once
 * it is answered), and a draining backlog leaves the rest of the limit free for the next webhook. Not this thread's
 * event-loop busy time: it counts a synchronous wait for the store's lock, and the time the kernel held the whole
 * process at its quota, as work, which starved deliveries during a burst.
 */
export class CpuBudget {
  private lastCpuMs: number;
  private lastAt: number;
  private balanceMs: number;
  private readonly capMs: number;

  /**
   * `cores`: the process's share while deliveries run (0.125 for half of a 250 millicore limit). `clock`: where wall
   * time (monotonic) and the process's CPU time come from, both in ms.
   */
  constructor(
    private readonly cores: number,
    private readonly clock: { wallMs(): number; cpuMs(): number } = { wallMs: () => performance.now(), cpuMs: processCpuMs },
  ) {
    this.capMs = cores * PERIOD_MS;
    this.balanceMs = this.capMs;
    this.lastAt = clock.wallMs();
    this.lastCpuMs = clock.cpuMs();
  }

  /** Milliseconds to wait before starting more work (at most one period, 100 ms): 0 while the process is within the share. */
  waitMs(): number {
    const now = this.clock.wallMs();
    const used = this.clock.cpuMs();
    // Bounded below too: a quota is per period, so a long burst's overdraft is not paid back after it (deliveries
    // would wait as long as the burst lasted); a wait is at most one period.
    this.balanceMs = Math.max(-this.capMs, Math.min(this.capMs, this.balanceMs + (now - this.lastAt) * this.cores - (used - this.lastCpuMs)));
    this.lastAt = now;
    this.lastCpuMs = used;
    return this.balanceMs >= 0 ? 0 : Math.ceil(-this.balanceMs / this.cores);
  }
}

/** CPU time (user and system) of the whole process so far, every thread's, in ms. */
function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
