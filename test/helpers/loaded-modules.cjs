// Preloaded with `node -r` into a process under test. Its main thread, on SIGUSR2, writes the files of every
// CommonJS module it has loaded so far (JSON array) to $LOADED_MODULES_FILE; the delivery thread (its workerData
// carries the config; threads get no signals) writes its own list to $LOADED_MODULES_FILE.thread every 100 ms.
// Test-side only.
const { writeFileSync } = require('node:fs');
const { isMainThread, workerData } = require('node:worker_threads');
const file = process.env.LOADED_MODULES_FILE;
const write = (to) => writeFileSync(to, JSON.stringify(Object.keys(require.cache)));
if (file && isMainThread) process.on('SIGUSR2', () => write(file));
if (file && !isMainThread && workerData && workerData.config) setInterval(() => write(`${file}.thread`), 100).unref();
