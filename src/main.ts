#!/usr/bin/env node
// First, before the modules below load and allocate, and before any thread starts: the heap settings hold however
// node was started (heap-settings.ts). Compiled to CommonJS, the call runs before the next require.
import { applyHeapSettings } from './heap-settings';
applyHeapSettings();
import { buildCli } from './cli/index';
import { readEnvFile, type EnvFileRead } from './cli/env-file';

let envFile: EnvFileRead | null = null;
try {
  // Before anything reads the environment: every command sees ./.env's variables (the environment's own win).
  envFile = readEnvFile();
} catch (error) {
  process.stderr.write(`chatops-bridge: ${(error as Error).message}\n`);
  process.exit(1);
}

buildCli(envFile)
  .parseAsync(process.argv)
  .catch((error: Error) => {
    process.stderr.write(`chatops-bridge: ${error.message}\n`);
    process.exit(1);
  });
