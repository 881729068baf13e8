/**
 * The built CLI's `serve` as a child process, the way an operator runs it: `node dist/main.js serve --config F`,
 * logs read from its stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Everything it logged so far. */
  stderr(): string;
  /** Sends `signal` and resolves with the exit code once it exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts serve and resolves once it logs that it listens (rejects with its log if it exits first). `nodeArgs` go
 * before the script (e.g. `-r` a preload); `launcher` runs node (e.g. `['nice', '-n', '3']`, which execs it, so the
 * child's pid stays node's).
 */
export function startServe(configFile: string, env: Record<string, string>, nodeArgs: string[] = [], launcher: string[] = []): Promise<ServeProcess> {
  const [command, ...args] = [...launcher, process.execPath, ...nodeArgs, MAIN, 'serve', '--config', configFile];
  const child = spawn(command!, args, { env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /"port":(\d+).*"msg":"chatops-bridge listening"/.exec(stderr);
      if (m) {
        resolve({
          child,
          url: `http://127.0.0.1:${m[1]}`,
          stderr: () => stderr,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

/** Waits until serve has logged `text` (a fragment of a JSON line), failing after `timeoutMs` with the log. */
export async function untilLogged(serve: ServeProcess, text: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!serve.stderr().includes(text)) {
    if (Date.now() > end) throw new Error(`serve never logged ${text}:\n${serve.stderr().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
