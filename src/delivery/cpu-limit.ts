import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * The CPU limit of this process's cgroup in cores (0.25 for a container limited to 250 millicores), or undefined
 * when there is none, it is no tighter than the machine, or it cannot be read (another OS, no /sys/fs/cgroup).
 * Reads the CFS quota the way container runtimes set it: cgroup v2's `cpu.max` ("25000 100000", or "max …"), else
 * v1's `cpu.cfs_quota_us` and `cpu.cfs_period_us` (-1: none), in the process's own cgroup as /proc/self/cgroup
 * names it (inside a container's cgroup namespace that is usually the root of the mount).
 */
export function cgroupCpuLimit(read: (file: string) => string = (file) => readFileSync(file, 'utf8')): number | undefined {
  let groups: string;
  try {
    groups = read('/proc/self/cgroup');
  } catch {
    return undefined;
  }
  const cores = (quotaUs: number, periodUs: number) => (quotaUs > 0 && periodUs > 0 && quotaUs / periodUs < availableParallelism() ? quotaUs / periodUs : undefined);
  for (const line of groups.split('\n')) {
    const [, controllers, group] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (controllers === undefined || group === undefined) continue;
    try {
      if (controllers === '') {
        // cgroup v2: one hierarchy; a limit on an ancestor group would be in its own cpu.max (not looked up here).
        const [quota, period] = read(`/sys/fs/cgroup${group === '/' ? '' : group}/cpu.max`).trim().split(/\s+/);
        if (quota === undefined || quota === 'max') return undefined;
        return cores(Number(quota), Number(period));
      }
      if (controllers.split(',').includes('cpu')) {
        for (const mount of [`/sys/fs/cgroup/${controllers}`, '/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
          const dir = `${mount}${group === '/' ? '' : group}`;
          let quota: string;
          try {
            quota = read(`${dir}/cpu.cfs_quota_us`);
          } catch {
            continue;
          }
          return cores(Number(quota.trim()), Number(read(`${dir}/cpu.cfs_period_us`).trim()));
        }
      }
    } catch {
      return undefined;
    }
  }
  return undefined;
}
