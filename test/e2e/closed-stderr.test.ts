/**
 * `serve` whose log reader went away (`serve 2>&1 | head -3`, a log shipper that died) still stops on SIGTERM.
 * Exiting flushed the unwritten log lines synchronously, and that flush retried EPIPE forever: the process hung
 * until SIGKILL.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(30_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');

it('stops on SIGTERM after the reader of its stderr has gone', async () => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-closed-stderr-'));
  const child = spawn(process.execPath, [MAIN, 'serve'], { cwd, env: { PATH: process.env.PATH ?? '', PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let seen = '';
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('chatops-bridge listening')) resolve();
    });
  });
  // The reader goes away, as `head` does after its lines.
  child.stderr!.destroy();
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
  if (code === 'hung') child.kill('SIGKILL');
  expect(code).toBe(0);
});
