import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { CheckpointOutcome, CheckpointRunner, Checkpointer } from './checkpointer';
import { heapSettingsSource } from '../heap-settings';

/**
 * The thread's code, evaluated rather than loaded from a file so that it runs the same from `dist/` and from the
 * TypeScript sources: it opens its own connection and on each message runs one checkpoint step as
 * {@link CheckpointRunner.checkpoint} says (OutboxStore.checkpointStep is the same step on a store's connection).
 */
const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
parentPort.on('message', (message) => {
  if (message === 'close') { db.close(); parentPort.close(); return; }
  try {
    let [result] = db.pragma('wal_checkpoint(NOOP)');
    if (result.log >= message.fromFrames && result.checkpointed < result.log) [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message), code: error && error.code });
  }
});
`;

/**
 * A thread that does nothing but the WAL checkpoints, on a connection of its own: what `serve` runs them in when
 * no delivery thread does (`delivery.thread: false`), a V8 heap of its own (~10 MB) for that alone. Attaches itself
 * to `checkpoints` at once; if it fails, it is detached for good (logged), so the store's connection checkpoints
 * on commit again.
 */
export class CheckpointThread implements CheckpointRunner {
  private readonly worker: Worker;
  private waiting: ((outcome: CheckpointOutcome) => void) | undefined;
  private done = false;
  private exited = false;

  constructor(
    file: string,
    private readonly checkpoints: Checkpointer,
    private readonly logger: Logger,
  ) {
    this.worker = new Worker(heapSettingsSource() + THREAD_CODE, { eval: true, workerData: { driver: require.resolve('better-sqlite3'), file } });
    this.worker.unref();
    this.worker.on('message', (outcome: CheckpointOutcome) => {
      this.waiting?.(outcome);
      this.waiting = undefined;
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      this.exited = true;
      if (code !== 0) this.fail(new Error(`checkpoint thread exited with code ${code}`));
    });
    checkpoints.attach(this);
  }

  checkpoint(fromFrames: number): Promise<CheckpointOutcome> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.worker.postMessage({ fromFrames });
    });
  }

  private fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.logger.warn({ err: { message: error.message } }, 'the WAL checkpoint thread stopped; the store checkpoints on commit again');
    this.checkpoints.detach(this);
  }

  /** Ends the thread and closes its connection; call after the checkpointer stopped, before the store closes. */
  async close(): Promise<void> {
    this.done = true;
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    const timeout = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(timeout);
  }
}
