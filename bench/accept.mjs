/**
 * The accept scenario (issue 17: "accept latency must not move while a 3,000-alert delivery backlog drains"): how
 * long a webhook POST takes to be answered, 100 POSTs one after the other 20 ms apart, first on an idle bridge and
 * then right after 3,000 alerts were accepted (8 in flight), while their 6,000 messages drain. Measured for the
 * default bridge (delivery in a thread of its own) and for one delivering on its main event loop
 * (`delivery.thread: false`), each run on fresh processes, the two alternating in the same run.
 */
import { percentile } from './stats.mjs';

const PROBES = 100;
const GAP_MS = 20;
const BACKLOG = 3000;

/**
 * Runs the scenario `runs` times per configuration and returns, per configuration name, the runs'
 * { idleP50, idleP99, drainP50, drainP99, backlogLeft, throttledPeriods, periods } (ms; backlogLeft: messages still
 * undelivered when the probes ended, which shows they ran during the drain; under --cpu-limit, of the CFS periods
 * the draining probes spanned, those in which the quota ran out).
 */
export async function acceptScenario({ fake, load, startBridge, throttling, bridgeOptions, runs, tag, sleep, delivered }) {
  const configs = [
    { name: 'thread', options: { ...bridgeOptions } },
    { name: 'event loop', options: { ...bridgeOptions, thread: false } },
  ];
  const out = Object.fromEntries(configs.map((c) => [c.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const config of configs) {
      const bridge = await startBridge(config.options);
      try {
        await fake.ask({ cmd: 'reset' });
        await sleep(500);
        const probe = () => load.ask({ ...bridge.job, runTag: tag(), ids: [0, PROBES], mode: 'serial', gapMs: GAP_MS });
        const idle = await probe();
        await load.ask({ ...bridge.job, runTag: tag(), ids: [0, BACKLOG], mode: 'concurrent', concurrency: 8 });
        // Under --cpu-limit: the CFS periods in which the quota ran out while the probes ran (the whole process
        // waits for the next period then, its receiving thread included).
        const before = throttling(bridge.pids);
        const draining = await probe();
        const after = throttling(bridge.pids);
        const s = await fake.ask({ cmd: 'stats' });
        out[config.name].push({
          idleP50: percentile(idle.answerMs, 50),
          idleP99: percentile(idle.answerMs, 99),
          drainP50: percentile(draining.answerMs, 50),
          drainP99: percentile(draining.answerMs, 99),
          backlogLeft: (BACKLOG + 2 * PROBES) * 2 - delivered(s),
          throttledPeriods: after.throttled - before.throttled,
          periods: after.periods - before.periods,
        });
      } finally {
        await bridge.stop();
      }
    }
  }
  return out;
}
