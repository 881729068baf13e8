#!/usr/bin/env node
import { buildCli } from './cli/index';

buildCli()
  .parseAsync(process.argv)
  .catch((error: Error) => {
    process.stderr.write(`chatops-bridge: ${error.message}\n`);
    process.exit(1);
  });
