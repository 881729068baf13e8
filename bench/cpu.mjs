/**
 * CPU time of processes over a measured interval, from /proc/<pid>/stat (utime + stime of every thread of the
 * process, in clock ticks of `getconf CLK_TCK`). Linux only; where /proc cannot be read the figures are null.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks;
/** Clock ticks per second of /proc/<pid>/stat's times (`getconf CLK_TCK`, 100 on common kernels). */
export function ticksPerSecond() {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return clockTicks;
}

/**
 * utime + stime of `pid` in clock ticks, or undefined when it is gone or unreadable. With `thread`, of that one
 * thread of the process only (a Node process's main thread has the process's own id).
 */
export function cpuTicks(pid, thread) {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces or parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return undefined;
  }
}

/**
 * CPU of a fixed set of long-lived processes (the bridges) since `start()`, in ms (`readMs()`, any number of
 * times); null when one of them cannot be read (gone or not on this machine). With `mainThreadOnly`, of each
 * process's main thread alone: a bridge's receiving thread (HTTP, validation, the accepts' commits), without its
 * delivery thread and V8's and libuv's helpers.
 */
export function fixedCpu(pids, mainThreadOnly = false) {
  let base;
  const ticksOf = (pid) => cpuTicks(pid, mainThreadOnly ? pid : undefined);
  return {
    start() {
      base = pids.map(ticksOf);
    },
    readMs() {
      let ticks = 0;
      for (const [i, pid] of pids.entries()) {
        const now = ticksOf(pid);
        if (now === undefined || base[i] === undefined) return null;
        ticks += now - base[i];
      }
      return (ticks * 1000) / ticksPerSecond();
    },
  };
}

/**
 * CPU time of every thread of `pids` now, in ns, from /proc/<pid>/task/<tid>/schedstat (time on a CPU, which the
 * scheduler counts in ns: fine enough for an idle process, where /proc/<pid>/stat's 10 ms ticks read 0 for
 * seconds); null when one of them cannot be read. A thread that exits takes its time with it.
 */
export function schedCpuNs(pids) {
  let ns = 0;
  try {
    for (const pid of pids) {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        } catch {
          // The thread ended between the listing and the read: its time is gone with it.
        }
      }
    }
  } catch {
    return null;
  }
  return ns;
}

/** The process's command line as `ps` shows it (PostgreSQL rewrites its own to say what each process is). */
export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/** Direct children of `pid` (the kernel's /proc/<pid>/task/<pid>/children; a single-threaded parent assumed). */
export function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Parent pid of `pid`, or undefined. */
export function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * CPU of the children of `parent` that `classify(cmdline)` puts in a group (a name; null: none; undefined: not
 * known yet), since `start()`: children come and go (PostgreSQL forks a backend per connection), so they are
 * listed every `everyMs` until `stop()`. A child first seen after `start()` counts from 0 (its times start at its
 * fork); one that exits between two listings loses what it used since the last one (at most `everyMs` of its CPU).
 * `readMs()` → { [group]: ms, pids: { [group]: count of processes seen } }.
 */
export function childrenCpu(parent, classify, everyMs = 200) {
  let seen;
  let timer;
  const look = (initial) => {
    for (const pid of childrenOf(parent)) {
      const entry = seen.get(pid);
      if (entry) {
        entry.last = cpuTicks(pid) ?? entry.last;
        continue;
      }
      const group = classify(cmdline(pid) ?? '');
      // undefined: not known yet (a process just forked may still show its parent's command line); ask again.
      if (group === undefined) continue;
      if (group === null) {
        seen.set(pid, { group: null });
        continue;
      }
      const now = cpuTicks(pid);
      if (now === undefined) continue;
      seen.set(pid, { group, base: initial ? now : 0, last: now });
    }
  };
  return {
    start() {
      seen = new Map();
      look(true);
      timer = setInterval(() => look(false), everyMs);
    },
    stop() {
      clearInterval(timer);
    },
    readMs() {
      look(false);
      const out = { pids: {} };
      for (const entry of seen.values()) {
        if (!entry.group) continue;
        out[entry.group] = (out[entry.group] ?? 0) + ((entry.last - entry.base) * 1000) / ticksPerSecond();
        out.pids[entry.group] = (out.pids[entry.group] ?? 0) + 1;
      }
      return out;
    },
  };
}

/**
 * CPU of the whole machine since `start()` (every process: the bench's own, the bridges, PostgreSQL and anything
 * else running), from /proc/stat's first line: `readMs()` → busy ms (all but idle and iowait) summed over cores.
 */
export function machineCpu() {
  const read = () => {
    try {
      const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
      const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
      return user + nice + system + irq + softirq + steal;
    } catch {
      return undefined;
    }
  };
  let base;
  return {
    start() {
      base = read();
    },
    readMs() {
      const now = read();
      return now === undefined || base === undefined ? null : ((now - base) * 1000) / ticksPerSecond();
    },
  };
}

/**
 * The bridges' own per-thread CPU counters (chatops_thread_cpu_seconds_total), summed over `urls` by thread name,
 * in ms: { main, delivery } (delivery absent where deliveries run in the main thread). Null when one cannot be read.
 */
export async function threadCpuMs(urls) {
  const sums = {};
  for (const url of urls) {
    let text;
    try {
      const res = await fetch(url);
      if (!res.ok) return null;
      text = await res.text();
    } catch {
      return null;
    }
    for (const m of text.matchAll(/^chatops_thread_cpu_seconds_total\{thread="(\w+)"\} ([\d.e+-]+)$/gm)) sums[m[1]] = (sums[m[1]] ?? 0) + Number(m[2]) * 1000;
  }
  return sums;
}
