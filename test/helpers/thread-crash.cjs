// Preloaded into `serve` (node -r): inside the delivery thread only (its workerData carries the config; the main
// thread and the checkpoint thread are left alone), throws an uncaught error as soon as the file named by
// CRASH_DELIVERY_THREAD_FILE appears, after removing it. A test makes the thread die at the moment it chooses,
// as a bug or an out-of-memory in the thread would, without any hook in the bridge's own code.
// With CRASH_DELIVERY_THREAD_AFTER_LOG, the thread dies instead on the turn after it writes a log line containing
// that text the first time (its log lines are written synchronously to stderr): right after a delivery it
// recorded, say, sooner than the 20 ms polling of the file could.
const { isMainThread, workerData } = require('node:worker_threads');
const fs = require('node:fs');

const file = process.env.CRASH_DELIVERY_THREAD_FILE;
const afterLog = process.env.CRASH_DELIVERY_THREAD_AFTER_LOG;
if (!isMainThread && workerData && workerData.config) {
  if (file) {
    setInterval(() => {
      if (!fs.existsSync(file)) return;
      fs.unlinkSync(file);
      throw new Error('injected crash of the delivery thread');
    }, 20).unref();
  }
  if (afterLog) {
    const writeSync = fs.writeSync;
    let armed = true;
    fs.writeSync = function (fd, data, ...rest) {
      const written = writeSync.call(this, fd, data, ...rest);
      if (armed && fd === 2 && String(data).includes(afterLog)) {
        armed = false;
        setImmediate(() => {
          throw new Error('injected crash of the delivery thread');
        });
      }
      return written;
    };
  }
}
