import { availableParallelism } from 'node:os';
import { cgroupCpuLimit } from '../src/delivery/cpu-limit';
import { CpuBudget } from '../src/delivery/cpu-budget';

/** A file system of the given files; any other read fails as a missing file does. */
const files = (entries: Record<string, string>) => (file: string) => {
  const text = entries[file];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
  return text;
};

describe('cgroupCpuLimit', () => {
  it('reads a cgroup v2 quota in cores, from the process own group', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '25000 100000\n' }))).toBe(0.25);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/kubepods/pod1/c1\n', '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '10000 100000\n' }))).toBe(0.1);
  });

  it('answers no limit for "max", a quota at or above the machine, or nothing readable', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
    const machine = `${availableParallelism() * 100000} 100000\n`;
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': machine }))).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n' }))).toBeUndefined();
  });

  it('reads a cgroup v1 quota under the cpu controller mount, whatever it is named', () => {
    const groups = '5:memory:/x\n4:cpu,cpuacct:/docker/abc\n';
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': groups, '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '50000\n', '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n' }))).toBe(0.5);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '4:cpu:/b\n', '/sys/fs/cgroup/cpu/b/cpu.cfs_quota_us': '25000', '/sys/fs/cgroup/cpu/b/cpu.cfs_period_us': '100000' }))).toBe(0.25);
    // -1: no quota.
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '4:cpu:/\n', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBeUndefined();
  });
});

describe('CpuBudget', () => {
  /** Uses the CPU for `ms`. */
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      /* spin */
    }
  };
  const idle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('asks for no wait while the process stays within its share', async () => {
    const budget = new CpuBudget(0.5);
    await idle(20);
    expect(budget.waitMs()).toBe(0);
  });

  it('asks for a wait once the process used more than one period of its share, then none once it earned it back', async () => {
    const budget = new CpuBudget(0.1); // 10 ms per 100 ms period
    busy(60);
    // Over by about 50 ms of CPU; the overdraft counts up to one period's share only, so the wait is at most a period.
    const wait = budget.waitMs();
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(100);
    // Twice the wait asked for: the test runner's own CPU while it waits counts too.
    await idle(2 * wait + 100);
    expect(budget.waitMs()).toBe(0);
  });
});
