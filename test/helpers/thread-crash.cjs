// Preloaded into `serve` (node -r): inside the delivery thread only (its workerData carries the config; the main
// thread and the checkpoint thread are left alone), throws an uncaught error as soon as the file named by
// CRASH_DELIVERY_THREAD_FILE appears, after removing it. A test makes the thread die at the moment it chooses,
// as a bug or an out-of-memory in the thread would, without any hook in the bridge's own code.
const { isMainThread, workerData } = require('node:worker_threads');
const fs = require('node:fs');

const file = process.env.CRASH_DELIVERY_THREAD_FILE;
if (!isMainThread && file && workerData && workerData.config) {
  setInterval(() => {
    if (!fs.existsSync(file)) return;
    fs.unlinkSync(file);
    throw new Error('injected crash of the delivery thread');
  }, 20).unref();
}
