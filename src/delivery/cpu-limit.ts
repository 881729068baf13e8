import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text; throws when it cannot (missing, no permission). */
export type ReadText = (file: string) => string;

/** A cgroup hierarchy as this process sees it mounted: where, which part of it, and with which controllers. */
interface CgroupMount {
  version: 1 | 2;
  /** The group of the hierarchy the mount shows at its mount point ("/" unless a container was given only its own). */
  root: string;
  mountPoint: string;
  controllers: string[];
}

/**
 * The CPU limit of this process's cgroup in cores (0.25 for a container limited to 250 millicores), or undefined
 * when there is none, it is no tighter than the machine, or it cannot be read (another OS, no /sys/fs/cgroup).
 * Reads the CFS quota the way container runtimes set it: cgroup v2's `cpu.max` ("25000 100000", or "max …"), v1's
 * `cpu.cfs_quota_us` and `cpu.cfs_period_us` (-1: none). The process's group (/proc/self/cgroup) is found under the
 * hierarchy's mount as /proc/self/mountinfo shows it: a v1 container usually sees its own group at the mount point,
 * under a path that names the host's group. The tightest limit of the group and its visible ancestors counts (a
 * Kubernetes pod's limit sits on the pod's group, above the container's).
 */
export function cgroupCpuLimit(read: ReadText = (file) => readFileSync(file, 'utf8')): number | undefined {
  let groups: string;
  let mounts: CgroupMount[];
  try {
    groups = read('/proc/self/cgroup');
    mounts = cgroupMounts(read('/proc/self/mountinfo'));
  } catch {
    return undefined;
  }
  const limits: number[] = [];
  for (const line of groups.split('\n')) {
    const [, controllers, group] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (controllers === undefined || group === undefined) continue;
    const version = controllers === '' ? 2 : 1;
    if (version === 1 && !controllers.split(',').includes('cpu')) continue;
    const mount = mounts.find((m) => m.version === version && (version === 2 || m.controllers.includes('cpu')));
    if (!mount) continue;
    for (const dir of groupDirs(mount, group)) {
      const cores = version === 2 ? quotaV2(read, dir) : quotaV1(read, dir);
      if (cores !== undefined) limits.push(cores);
    }
  }
  const tightest = limits.length > 0 ? Math.min(...limits) : undefined;
  return tightest !== undefined && tightest < availableParallelism() ? tightest : undefined;
}

/** The cgroup mounts of /proc/self/mountinfo ("36 25 0:31 / /sys/fs/cgroup/cpu rw,… - cgroup cgroup rw,cpu,cpuacct"). */
function cgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const fields = before.split(' ');
    const [fsType, , superOptions = ''] = after.split(' ');
    const root = unescapeMountPath(fields[3] ?? '');
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    if (fsType === 'cgroup2') mounts.push({ version: 2, root, mountPoint, controllers: [] });
    else if (fsType === 'cgroup') mounts.push({ version: 1, root, mountPoint, controllers: superOptions.split(',') });
  }
  return mounts;
}

/** mountinfo escapes spaces, tabs, newlines and backslashes as octal (`\040`). */
const unescapeMountPath = (text: string) => text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/**
 * The directories of `group` and of its ancestors that the mount shows, the group's own first. A group outside the
 * mount's root (a view the runtime did not expect) is looked for at the mount point itself.
 */
function groupDirs(mount: CgroupMount, group: string): string[] {
  const root = mount.root === '/' ? '' : mount.root;
  const inside = group === mount.root ? '' : group.startsWith(`${root}/`) ? group.slice(root.length) : '';
  const dirs: string[] = [];
  for (let rel = inside; ; rel = rel.slice(0, rel.lastIndexOf('/'))) {
    dirs.push(`${mount.mountPoint}${rel}`);
    if (rel === '') return dirs;
  }
}

function quotaV2(read: ReadText, dir: string): number | undefined {
  try {
    const [quota, period] = read(`${dir}/cpu.max`).trim().split(/\s+/);
    return quota === 'max' ? undefined : cores(Number(quota), Number(period));
  } catch {
    return undefined;
  }
}

function quotaV1(read: ReadText, dir: string): number | undefined {
  try {
    return cores(Number(read(`${dir}/cpu.cfs_quota_us`).trim()), Number(read(`${dir}/cpu.cfs_period_us`).trim()));
  } catch {
    return undefined;
  }
}

const cores = (quotaUs: number, periodUs: number) => (quotaUs > 0 && periodUs > 0 ? quotaUs / periodUs : undefined);
