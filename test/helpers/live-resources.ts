/**
 * Counts the process's live handles and timers by type, two ways:
 * - `process.getActiveResourcesInfo()`: what keeps the event loop alive. It does not list unref'd timers, and
 *   discord.js unrefs the two sweeper intervals every REST client starts (so a leak of clients is invisible to it);
 * - an async hook that sees every resource created after {@link trackResources} and drops it when Node destroys
 *   it (a timer when cleared, a socket when closed), ref'd or not. Promises and other per-request objects that
 *   are destroyed only by garbage collection are left out: they are not handles.
 */
import { createHook } from 'node:async_hooks';

/** Resource types that hold something open (a timer, a socket, a server, a DNS channel, a watcher…). */
const HANDLE_TYPES = /^(Timeout|Immediate)$|WRAP$|CHANNEL$/;

export interface ResourceTracker {
  /** Live resources by type: the async hook's handles and timers, and getActiveResourcesInfo's, side by side. */
  snapshot(): { tracked: Record<string, number>; active: Record<string, number> };
  /**
   * Waits `minMs` (longer than any timer a finished request leaves running: its timeout, at most the config's
   * `delivery.requestTimeoutMs`, and Node's 1 s Date-header cache), then snapshots until two in a row 250 ms apart
   * agree (at most `maxMs` in all), so closing and clearing has happened.
   */
  settled(options?: { minMs?: number; maxMs?: number }): Promise<ReturnType<ResourceTracker['snapshot']>>;
  stop(): void;
}

const countBy = (types: Iterable<string>) => {
  const out: Record<string, number> = {};
  for (const type of types) out[type] = (out[type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
};

export function trackResources(): ResourceTracker {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (HANDLE_TYPES.test(type)) live.set(id, type);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  const snapshot = () => ({ tracked: countBy(live.values()), active: countBy(process.getActiveResourcesInfo()) });
  return {
    snapshot,
    async settled({ minMs = 3000, maxMs = 15_000 } = {}) {
      const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const start = Date.now();
      await wait(minMs);
      let previous = JSON.stringify(snapshot());
      while (Date.now() - start < maxMs) {
        await wait(250);
        const next = JSON.stringify(snapshot());
        if (next === previous) break;
        previous = next;
      }
      return snapshot();
    },
    stop: () => hook.disable(),
  };
}
