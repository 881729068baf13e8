/**
 * `--cpu-limit <millicores>`: runs each process under test in a cgroup of its own with a CFS quota, as a container
 * with `resources.limits.cpu` runs (Kubernetes sets the same quota: millicores × 100 µs per 100 ms period). Needs
 * root and the cpu controller, cgroup v2 (`cpu.max`) or v1 (`cpu.cfs_quota_us`); the bench stops with an error
 * saying so when neither can be used, rather than measuring without the limit.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PERIOD_US = 100_000;

/** Where a cgroup with a cpu quota can be made here, and how its files are named. */
function hierarchy() {
  const v2 = '/sys/fs/cgroup';
  if (existsSync(path.join(v2, 'cgroup.controllers')) && readFileSync(path.join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) {
    return {
      root: v2,
      setup: (dir, quotaUs) => writeFileSync(path.join(dir, 'cpu.max'), `${quotaUs} ${PERIOD_US}`),
      throttled: (stat) => ({ periods: Number(stat.nr_periods ?? 0), throttled: Number(stat.nr_throttled ?? 0), throttledMs: Number(stat.throttled_usec ?? 0) / 1000 }),
    };
  }
  const v1 = '/sys/fs/cgroup/cpu';
  if (existsSync(path.join(v1, 'cpu.cfs_quota_us'))) {
    return {
      root: v1,
      setup: (dir, quotaUs) => {
        writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(quotaUs));
      },
      throttled: (stat) => ({ periods: Number(stat.nr_periods ?? 0), throttled: Number(stat.nr_throttled ?? 0), throttledMs: Number(stat.throttled_time ?? 0) / 1e6 }),
    };
  }
  return undefined;
}

/** Fails now, before anything is measured, when the limit cannot be applied on this machine. */
export function checkCpuLimit(millicores) {
  if (!Number.isFinite(millicores) || millicores <= 0) throw new Error(`bench: --cpu-limit takes millicores (e.g. 250), not "${millicores}"`);
  if (!hierarchy()) throw new Error('bench: --cpu-limit needs the cgroup cpu controller (v2 cpu.max or v1 cpu.cfs_quota_us) under /sys/fs/cgroup');
}

/**
 * Moves process `pid` (all its threads, and those it starts later) into a new cgroup limited to `millicores`.
 * Returns `stats()`, the cgroup's throttling counters so far, and `remove()`, to call once the process has exited.
 */
export function limitCpu(pid, millicores) {
  const h = hierarchy();
  if (!h) throw new Error('bench: no cgroup cpu controller');
  const dir = path.join(h.root, `chatops-bench-${pid}`);
  mkdirSync(dir);
  h.setup(dir, Math.round((millicores / 1000) * PERIOD_US));
  writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  const stats = () => {
    try {
      const stat = Object.fromEntries(readFileSync(path.join(dir, 'cpu.stat'), 'utf8').trim().split('\n').map((line) => line.split(' ')));
      return h.throttled(stat);
    } catch {
      return { periods: 0, throttled: 0, throttledMs: 0 };
    }
  };
  return {
    stats,
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        /* still has tasks (the process did not exit): left for the machine's next start */
      }
    },
  };
}
