/**
 * Reads what `strace -f -tt -T -y -xx -s 4096 -o FILE` wrote about a process and its threads, and answers the one
 * question the durability tests ask: was the store's write-ahead log synced, after an alert's commit was written,
 * before that alert's HTTP answer left? Syscalls are matched to their thread, including the `<unfinished ...>` /
 * `<... resumed>` halves strace prints when threads interleave. `-xx` hex-encodes every string (paths included),
 * so buffers are compared in their hex form and nothing in them can break the line's structure.
 */
import { readFileSync } from 'node:fs';

/** One finished system call. Times in microseconds since the trace's first midnight. */
export interface Syscall {
  tid: number;
  name: string;
  /** The file an fd-taking call acted on (`-y`), decoded; '' when none. */
  path: string;
  /** The call's arguments and result as printed (hex-escaped strings). */
  text: string;
  /** Result (the number after `=`), NaN when none was printed. */
  ret: number;
  start: number;
  end: number;
}

const LINE = /^(\d+)\s+(\d\d):(\d\d):(\d\d)\.(\d{6}) (.*)$/;

/** `\x41\x42` → 'AB' (latin1: each byte one char). */
export function unhex(text: string): string {
  return text.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** 'AB' → `\x41\x42`: how `-xx` prints a buffer holding that text. */
export function hexOf(text: string): string {
  return [...Buffer.from(text, 'latin1')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

/** Parses the trace; calls still unfinished at its end (the process was stopped in them) are dropped. */
export function parseStrace(file: string): Syscall[] {
  const calls: Syscall[] = [];
  const open = new Map<number, { name: string; head: string; start: number }>();
  let lastMicros = 0;
  let dayOffset = 0;
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const tid = Number(m[1]);
    let at = ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1e6 + Number(m[5]) + dayOffset;
    if (at < lastMicros - 12 * 3600e6) {
      dayOffset += 24 * 3600e6; // the trace crossed midnight
      at += 24 * 3600e6;
    }
    lastMicros = at;
    const rest = m[6]!;
    if (rest.startsWith('---') || rest.startsWith('+++')) continue;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      const begun = open.get(tid);
      open.delete(tid);
      if (!begun || begun.name !== resumed[1]) continue;
      calls.push(finish(tid, begun.name, begun.head + resumed[2]!, begun.start, at));
      continue;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) continue;
    if (rest.endsWith('<unfinished ...>')) {
      open.set(tid, { name: call[1]!, head: call[2]!.slice(0, -'<unfinished ...>'.length), start: at });
      continue;
    }
    calls.push(finish(tid, call[1]!, call[2]!, at, undefined));
  }
  return calls.sort((a, b) => a.start - b.start);
}

function finish(tid: number, name: string, text: string, start: number, resumedAt: number | undefined): Syscall {
  const duration = /<(\d+)\.(\d{6})>\s*$/.exec(text);
  const end = duration ? start + Number(duration[1]) * 1e6 + Number(duration[2]) : (resumedAt ?? start);
  const path = /^\d+<([^>]*)>/.exec(text);
  const ret = /\)\s+=\s+(-?\d+)/.exec(text);
  return { tid, name, path: path ? unhex(path[1]!) : '', text, ret: ret ? Number(ret[1]) : NaN, start, end };
}

/** The bytes of the first string argument of a call (a write's buffer). */
function firstBuffer(call: Syscall): Buffer {
  const m = /"((?:\\x[0-9a-f]{2})*)"/.exec(call.text);
  return Buffer.from(m ? unhex(m[1]!) : '', 'latin1');
}

/** Every string argument of a call (a writev's buffers), decoded and joined. */
function allBuffers(call: Syscall): string {
  return [...call.text.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map((m) => unhex(m[1]!)).join('');
}

/** One HTTP answer as it left on a socket: when its first byte was written, and everything written for it. */
export interface SocketAnswer {
  start: number;
  socket: string;
  text: string;
}

/** HTTP answers written to sockets, each with the writes that followed it on the same socket until the next answer. */
export function httpAnswers(calls: readonly Syscall[]): SocketAnswer[] {
  const answers: SocketAnswer[] = [];
  const current = new Map<string, SocketAnswer>();
  const statusLine = hexOf('HTTP/1.1 ');
  for (const call of calls) {
    if (!['write', 'writev', 'sendto', 'sendmsg'].includes(call.name) || !call.path.startsWith('socket:')) continue;
    if (call.text.includes(statusLine)) {
      const answer = { start: call.start, socket: call.path, text: allBuffers(call) };
      answers.push(answer);
      current.set(call.path, answer);
    } else {
      const answer = current.get(call.path);
      if (answer) answer.text += allBuffers(call);
    }
  }
  return answers;
}

/** When the WAL frame that committed the transaction holding `needle` (hex form) was written, or undefined. */
export function commitOf(calls: readonly Syscall[], walFile: string, needle: string): number | undefined {
  const header = new Map<number, Buffer>();
  let waiting: number | undefined;
  for (const call of calls) {
    if (call.name !== 'pwrite64' || call.path !== walFile || call.ret < 0) continue;
    const bytes = firstBuffer(call);
    // A frame is a 24-byte header (page number, then the database size when the frame commits, else 0) and a page.
    if (bytes.length === 24) {
      header.set(call.tid, bytes);
      continue;
    }
    if (bytes.length < 512) continue; // the log's own 32-byte header
    if (waiting === undefined && call.text.includes(needle)) waiting = call.tid;
    const commits = (header.get(call.tid)?.readUInt32BE(4) ?? 0) !== 0;
    if (waiting === call.tid && commits) return call.end;
  }
  return undefined;
}

/** Successful fsync/fdatasync calls on `file`. */
export function syncsOf(calls: readonly Syscall[], file: string): Syscall[] {
  return calls.filter((c) => (c.name === 'fdatasync' || c.name === 'fsync') && c.path === file && c.ret === 0);
}
