/**
 * The JavaScript threads (V8 isolates) of a process started with the js-thread-log.cjs preload: every one that
 * started, and which of them still run (their OS thread is still in /proc/<pid>/task).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Pass to `node` before the script, with `JS_THREADS_FILE` set in its environment. */
export const JS_THREADS_PRELOAD = ['-r', path.resolve(__dirname, 'js-thread-log.cjs')];

export interface JsThread {
  tid: number;
  role: 'main' | 'delivery' | 'worker';
}

/** Every JavaScript thread that started, in order (the main thread first; its tid is the process id). */
export function startedJsThreads(file: string): JsThread[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [tid, role] = line.split(' ');
      return { tid: Number(tid), role: role as JsThread['role'] };
    });
}

/** The JavaScript threads of process `pid` that still run. */
export function liveJsThreads(file: string, pid: number): JsThread[] {
  return startedJsThreads(file).filter((t) => existsSync(`/proc/${pid}/task/${t.tid}`));
}
