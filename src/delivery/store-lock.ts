import { openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';

/**
 * Claims a store file for one serving process. Two bridges on one file would each release the other's leases at
 * start-up and post the same deliveries twice (an overlapping deploy on a shared volume does exactly that). A
 * lock left by a dead process (or by this very pid, as after a container restart as pid 1) is taken over.
 * Returns the release function. CLI commands that only inspect or requeue rows do not take the lock.
 */
export function acquireStoreLock(storePath: string): () => void {
  if (storePath === ':memory:') return () => undefined;
  const lockPath = `${storePath}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(lockPath);
        } catch {
          /* already gone */
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(`store ${storePath} is in use by another chatops-bridge (pid ${holder}); one process per store file`);
      }
      unlinkSync(lockPath);
    }
  }
  throw new Error(`could not lock store ${storePath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
