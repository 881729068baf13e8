/**
 * Entry of the delivery thread (bridge-delivery-thread.ts starts it): the delivering side of `serve`
 * (bridge-delivery.ts) on a SQLite connection of its own, with its own platform clients and pace. It answers the
 * main thread's wake-ups, reloads and stop, forwards its metrics in batches (forwarded-metrics.ts) and its readiness when it changes.
 * It also runs the store's WAL checkpoints when the main thread asks (checkpointer.ts decides when).
 * Its log lines go straight to stderr, like the main thread's, marked `thread: "delivery"`.
 */
// First, before the modules below load and allocate: making this thread's heap put the process's young-generation
// growth back (heap-settings.ts). Compiled to CommonJS, the call runs before the next require.
import { applyHeapSettings } from './heap-settings';
applyHeapSettings();
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from './config/schema';
import { OutboxStore } from './delivery/store';
import { SqliteEngine } from './delivery/sqlite-engine';
import { Pacer } from './delivery/pacer';
import { DELIVERY_THREAD_NICE_INCREMENT, lowerThreadPriority } from './delivery/thread-priority';
import { CpuBudget, DELIVERY_SHARE_OF_CPU_LIMIT } from './delivery/cpu-budget';
import { cgroupCpuLimit } from './delivery/cpu-limit';
import { closePlatformClients } from './destinations/registry';
import { createLogger } from './observability/logger';
import { forwardingMetrics } from './observability/forwarded-metrics';
import { redactSecrets } from './observability/redact';
import { BridgeLive } from './bridge-live';
import { createDelivery } from './bridge-delivery';
import type { FromThread, ThreadData, ToThread } from './bridge-delivery-thread';
import type { TemplateFilesSnapshot } from './templates/template-files';
import { ownThreadId } from './observability/thread-id';

/**
 * How long the thread's store work keeps trying while another connection (the main thread's accepts) holds the
 * write lock, retrying every fraction of a millisecond (OutboxStoreOptions.spinLockWaitMs) rather than in SQLite's
 * busy-handler steps of 1, 2, 5, 10… ms. No longer than the main thread's own wait: this thread runs HTTP requests
 * with timeouts, and a blocked loop lets a timeout fire before the answer that already arrived is read, so a
 * delivered message is sent again (test/e2e/store-outage.test.ts).
 */
const STORE_LOCK_WAIT_MS = 100;
/** How often the thread looks whether its readiness changed (a token check's answer, the worker's state). */
const READINESS_EVERY_MS = 250;

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('delivery-thread-main runs only as the delivery thread of serve');
  const { config, templateFiles, storeFile, stderrIsTTY } = workerData as ThreadData;
  const post = (message: FromThread) => port.postMessage(message);
  // Written as they come: lines still buffered when the thread dies would be lost with it.
  const logger = createLogger(undefined, undefined, stderrIsTTY, true).child({ thread: 'delivery' });
  // The receiving thread first when both want the CPU (a burst in a pod with a CPU limit): a webhook waits for no
  // delivery's rendering or requests; deliveries catch up once the burst is answered.
  const priority = lowerThreadPriority(DELIVERY_THREAD_NICE_INCREMENT);
  if ('error' in priority) logger.debug({ err: { message: priority.error } }, 'the delivery thread runs at the priority of the process');
  // The templates the main thread accepted, not the directory's files now: one edited since (or a reload the main
  // thread rejected) would keep a restarted thread from starting, and a reload from matching the main thread's.
  const live = new BridgeLive(config, logger, true, templateFiles);
  // Its own connection: better-sqlite3 is synchronous, so the thread's claims and records run here, not on the
  // receiving loop. The schema is the main thread's (it migrated it before starting this thread).
  const store = new OutboxStore(storeFile, { spinLockWaitMs: STORE_LOCK_WAIT_MS });
  const engine = new SqliteEngine(store);
  const metrics = forwardingMetrics((events) => post({ type: 'metrics', events }));
  // A thread that dies (a bug, an out-of-memory in a callback) first sends what it counted since the last batch:
  // the main thread receives it before the exit, so the deliveries of its last batch (FORWARD_EVERY_MS) stay in /metrics. A monitor
  // only: the error still ends the thread, and the main thread restarts it.
  process.on('uncaughtExceptionMonitor', () => metrics.flushNow());
  // Under a CPU limit (a container's), a priority is not enough: see cpu-budget.ts. Read once, at the thread's start.
  const cpuLimit = cgroupCpuLimit();
  const cpuBudget = cpuLimit === undefined ? undefined : new CpuBudget(cpuLimit * DELIVERY_SHARE_OF_CPU_LIMIT);
  if (cpuLimit !== undefined) logger.info({ cpuLimitCores: cpuLimit, deliveryShareCores: cpuLimit * DELIVERY_SHARE_OF_CPU_LIMIT }, 'CPU limit: the delivery thread keeps to its share of it');
  const delivery = createDelivery({ engine, pacer: new Pacer(), live, logger, metrics, ...(cpuBudget ? { cpuBudget } : {}) });

  let reported = '';
  const report = () => {
    const { worker, tokens } = delivery.readiness();
    const text = JSON.stringify([worker, tokens]);
    if (text === reported) return;
    reported = text;
    post({ type: 'readiness', worker, tokens });
  };
  const readinessTimer = setInterval(report, READINESS_EVERY_MS);

  let stopping = false;
  port.on('message', (message: ToThread) => {
    switch (message.type) {
      case 'wake':
        if (message.deliveries) delivery.wake.deliveries();
        if (message.messages) delivery.wake.messages();
        return;
      case 'reload':
        return reload(message.id, message.config, message.templateFiles);
      case 'checkpoint':
        return checkpoint(message.fromFrames);
      case 'stop':
        if (stopping) return;
        stopping = true;
        void stop(message.graceMs);
        return;
    }
  });

  const reload = (id: number, next: Config, files: TemplateFilesSnapshot) => {
    let replaced;
    try {
      replaced = live.replace(next, files);
    } catch (error) {
      post({ type: 'reloaded', id, error: redactSecrets((error as Error).message, live.secrets()) });
      return;
    }
    void delivery.reconfigure(next).then(() => {
      closePlatformClients(replaced);
      post({ type: 'reloaded', id });
    });
  };

  // On this thread's own connection, not a second one: a connection is a page cache and compiled schema more, and
  // one thread runs one thing at a time anyway. Queued behind the store work before it (never inside a
  // transaction), and skipped once stopping (the main thread stopped asking before it said stop; a drain must not
  // wait behind one). A checkpoint of a long log blocks this thread for 40-100 ms while it copies and syncs (a
  // burst of 900 KB alerts): like this thread's own waits for the main thread's write lock (STORE_LOCK_WAIT_MS),
  // short beside its requests' timeouts, and the price of keeping it off the receiving loop without a third thread.
  const checkpoint = (fromFrames: number) =>
    void engine.checkpoint(fromFrames, () => stopping).then(
      (result) => result && post({ type: 'checkpointed', outcome: { ok: true, ...result } }),
      (error: { message?: string; code?: string }) => post({ type: 'checkpointed', outcome: { ok: false, message: String(error?.message), code: error?.code } }),
    );

  const stop = async (graceMs: number) => {
    clearInterval(readinessTimer);
    await delivery.stop(graceMs);
    live.close();
    await engine.close();
    metrics.flushNow();
    // Ends the thread once its last log lines are written (the port would keep it alive).
    logger.flush(() => port.close());
  };

  delivery.start();
  report();
  const tid = ownThreadId();
  post({ type: 'ready', ...(tid !== undefined ? { tid } : {}) });
}

main();
