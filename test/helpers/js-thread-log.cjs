// Preloaded with `node -r` into a process under test. Node runs preloads in every thread that runs JavaScript (the
// main thread and each worker thread, each a V8 isolate of its own), so every one of them appends a line to
// $JS_THREADS_FILE as it starts: its OS thread id and what it is — `main`, `delivery` (its workerData carries the
// config) or `worker` (any other). Node names all of its OS threads "node", so this is what tells them apart;
// js-threads.ts reads which are still alive from /proc/<pid>/task. Test-side only.
const { appendFileSync, readlinkSync } = require('node:fs');
const { isMainThread, workerData } = require('node:worker_threads');

const file = process.env.JS_THREADS_FILE;
if (file) {
  const tid = readlinkSync('/proc/thread-self').split('/').pop();
  const role = isMainThread ? 'main' : workerData && workerData.config ? 'delivery' : 'worker';
  appendFileSync(file, `${tid} ${role}\n`);
}
