import { existsSync, readFileSync } from 'node:fs';
import util from 'node:util';

/** The env file read at start, in the current directory, as most Node tools (and Docker Compose's `env_file`) do. */
export const ENV_FILE = '.env';

/** What reading the env file did: the names it set and the names the environment already had (never values). */
export interface EnvFileRead {
  file: string;
  set: string[];
  kept: string[];
}

/**
 * Reads `./.env` into `env` when the file exists, with Node's own parser (`util.parseEnv`, the one behind
 * `process.loadEnvFile` and `node --env-file`; Node ≥ 20.12): a variable already in the environment keeps its
 * value, so `FOO=x chatops-bridge …` and a container's environment win over the file. Returns null when there is
 * no file; throws, naming the file and never a value, when it cannot be read.
 */
export function readEnvFile(env: NodeJS.ProcessEnv = process.env, file = ENV_FILE): EnvFileRead | null {
  if (!existsSync(file)) return null;
  if (typeof util.parseEnv !== 'function') throw new Error(`cannot read ${file}: Node ${process.versions.node} cannot parse it (Node 20.12 or later can)`);
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const read: EnvFileRead = { file, set: [], kept: [] };
  for (const [name, value] of Object.entries(util.parseEnv(content))) {
    if (value === undefined) continue;
    if (env[name] !== undefined) read.kept.push(name);
    else {
      env[name] = value;
      read.set.push(name);
    }
  }
  return read;
}
