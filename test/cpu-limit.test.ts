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
  const V2_ROOT = '30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n';

  it('reads a cgroup v2 quota in cores, from the process own group', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_ROOT, '/sys/fs/cgroup/cpu.max': '25000 100000\n' }))).toBe(0.25);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/kubepods/pod1/c1\n', '/proc/self/mountinfo': V2_ROOT, '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '10000 100000\n' }))).toBe(0.1);
  });

  it('takes the tightest limit of the group and its ancestors (a pod limit above its container)', () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      '/proc/self/mountinfo': V2_ROOT,
      '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '20000 100000\n',
      '/sys/fs/cgroup/kubepods/cpu.max': 'max 100000\n',
    });
    expect(cgroupCpuLimit(read)).toBe(0.2);
  });

  it('answers no limit for "max", a quota at or above the machine, or nothing readable', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_ROOT, '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
    const machine = `${availableParallelism() * 100000} 100000\n`;
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_ROOT, '/sys/fs/cgroup/cpu.max': machine }))).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_ROOT }))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_ROOT, '/sys/fs/cgroup/cpu.max': 'garbage\n' }))).toBeUndefined();
  });

  it('finds a v1 container group at its mount point, where the mount root is the group the host names', () => {
    // Docker without a cgroup namespace: /proc/self/cgroup names the host path, the mount shows only that group.
    const read = files({
      '/proc/self/cgroup': '5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n',
      '/proc/self/mountinfo': [
        '40 30 0:35 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory',
        '41 30 0:36 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct',
      ].join('\n'),
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '50000\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuLimit(read)).toBe(0.5);
  });

  it('reads a v1 group below a mount of the whole hierarchy (a host, or this machine), -1 meaning none', () => {
    const mountinfo = '27 20 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n28 20 0:25 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n';
    // A hybrid host lists the v2 line too; its hierarchy has no cpu controller (no cpu.max).
    const groups = '4:cpu:/b\n0::/b\n';
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': groups, '/proc/self/mountinfo': mountinfo, '/sys/fs/cgroup/cpu/b/cpu.cfs_quota_us': '25000', '/sys/fs/cgroup/cpu/b/cpu.cfs_period_us': '100000' }))).toBe(0.25);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': groups, '/proc/self/mountinfo': mountinfo, '/sys/fs/cgroup/cpu/b/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/b/cpu.cfs_period_us': '100000\n', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBeUndefined();
  });

  it('reads this machine without throwing', () => {
    const limit = cgroupCpuLimit();
    expect(limit === undefined || (limit > 0 && limit < availableParallelism())).toBe(true);
  });
});

describe('CpuBudget', () => {
  /** A clock the test moves: wall time and the process's CPU time, in ms. */
  const clock = () => {
    const t = { wall: 1000, cpu: 500 };
    return { t, source: { wallMs: () => t.wall, cpuMs: () => t.cpu } };
  };

  it('asks for no wait while the process stays within its share', () => {
    const { t, source } = clock();
    const budget = new CpuBudget(0.125, source);
    for (let i = 0; i < 50; i++) {
      t.wall += 100;
      t.cpu += 12; // 0.12 of a core, under 0.125
      expect(budget.waitMs()).toBe(0);
    }
  });

  it('asks for a wait once the process used more than its share and the saved period, then none once it earned it back', () => {
    const { t, source } = clock();
    const budget = new CpuBudget(0.1, source); // 10 ms per 100 ms period, 10 ms saved at most
    t.wall += 10;
    t.cpu += 5; // earned 1, had 10 saved: 6 left
    expect(budget.waitMs()).toBe(0);
    t.wall += 10;
    t.cpu += 10; // earned 1: 3 over, earned back in 30 ms at 0.1 of a core
    expect(budget.waitMs()).toBe(30);
    t.wall += 30;
    expect(budget.waitMs()).toBe(0);
  });

  it('counts an overdraft only up to one period, so a long burst is not paid back after it', () => {
    const { t, source } = clock();
    const budget = new CpuBudget(0.125, source);
    // A 20 s burst at a quarter of a core: the process used twice its share all along. The first period spends
    // what was saved; every later one asks for the longest wait, one period.
    const waits: number[] = [];
    for (let i = 0; i < 200; i++) {
      t.wall += 100;
      t.cpu += 25;
      waits.push(budget.waitMs());
    }
    expect(waits[0]).toBe(0);
    expect(new Set(waits.slice(1))).toEqual(new Set([100]));
    // One quiet period later there is nothing left to pay back, where the burst overspent 2.5 s.
    t.wall += 100;
    expect(budget.waitMs()).toBe(0);
  });

  it('reads the real process CPU time by default (a busy loop makes it wait)', () => {
    const budget = new CpuBudget(0.001); // 0.1 ms per 100 ms
    const end = performance.now() + 30;
    while (performance.now() < end) {
      /* use the CPU */
    }
    expect(budget.waitMs()).toBeGreaterThan(0);
  });
});
