// Preloaded with `node -r` into a process under test: on SIGUSR2 its main thread writes the files of every
// CommonJS module it has loaded so far (JSON array) to $LOADED_MODULES_FILE. Test-side only.
const { writeFileSync } = require('node:fs');
const { isMainThread } = require('node:worker_threads');
if (isMainThread && process.env.LOADED_MODULES_FILE) {
  process.on('SIGUSR2', () => writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify(Object.keys(require.cache))));
}
