/**
 * The delivering side of `serve` on SQLite, run in a worker thread of its own (delivery-thread-main.ts) so that
 * rendering, the SDKs' requests and the bookkeeping of deliveries never hold the event loop that answers webhooks.
 * The thread opens its own connection to the store file (WAL lets the two connections read beside each other and
 * take turns to write; each side waits only briefly for the other's write lock). This side spawns it, wakes it,
 * reloads and stops it, keeps the last readiness it reported, applies the metrics it forwards, and restarts it when
 * it dies, after freeing the leases it held (nothing else delivers from this store while it is down). The thread
 * also runs the store's WAL checkpoints on its connection while it is up (checkpointer.ts), so that `serve` needs
 * no third thread (a V8 heap of its own, ~10 MB) for them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from './config/schema';
import type { ReadinessCheck } from './http/app';
import type { BridgeMetrics } from './observability/metrics';
import { applyMetricEvents, type MetricEvent } from './observability/forwarded-metrics';
import { redactSecrets } from './observability/redact';
import type { WorkSignals } from './bridge-delivery';
import type { CheckpointOutcome, CheckpointRunner, Checkpointer } from './delivery/checkpointer';
import type { TemplateFilesSnapshot } from './templates/template-files';

/** What the thread gets at start. */
export interface ThreadData {
  config: Config;
  /** The template files the main thread compiled and accepted with `config`: the thread compiles these, not the disk's. */
  templateFiles: TemplateFilesSnapshot;
  /** The SQLite store file the main thread holds the lock of. */
  storeFile: string;
  /** Whether the process's stderr is a terminal (the thread's own stderr never is): picks the same log format. */
  stderrIsTTY: boolean;
}

/** Main thread → delivery thread. `checkpoint`: one WAL checkpoint (CheckpointRunner.checkpoint), answered `checkpointed`. */
export type ToThread =
  | { type: 'wake'; deliveries: boolean; messages: boolean }
  | { type: 'reload'; id: number; config: Config; templateFiles: TemplateFilesSnapshot }
  | { type: 'checkpoint'; fromFrames: number }
  | { type: 'stop'; graceMs: number };

/** Delivery thread → main thread. */
export type FromThread =
  /** `tid`: the thread's kernel id (Linux), for its CPU time in /metrics. */
  | { type: 'ready'; tid?: number }
  | { type: 'metrics'; events: MetricEvent[] }
  | { type: 'readiness'; worker: ReadinessCheck; tokens: ReadinessCheck[] }
  | { type: 'reloaded'; id: number; error?: string }
  | { type: 'checkpointed'; outcome: CheckpointOutcome };

/** The compiled entry of the thread, beside this file in dist/. */
const ENTRY = path.join(__dirname, 'delivery-thread-main.js');
/** A thread that died is started again after this, doubling to {@link RESTART_MAX_MS} while it keeps dying young. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A thread that lived this long before dying starts again after {@link RESTART_FIRST_MS}. */
const LIVED_LONG_MS = 60_000;
/**
 * How long a stop waits past the delivery's own grace and one request timeout for the thread to finish (its store
 * records, its logs). Short: with the HTTP server's close before it, the whole stop must fit serve's stop budget
 * (2 × shutdownTimeoutMs + requestTimeoutMs + 5 s), or a hung thread would end it as "stop did not finish".
 */
const STOP_EXTRA_MS = 2_000;

/**
 * Whether `serve` delivers in a thread: on a SQLite store file, unless `delivery.thread` is false. An in-memory
 * store cannot be shared between two connections, and PostgreSQL scales the sides apart with `serve --role`.
 * Throws when a thread is wanted but its compiled entry is missing (the bridge is not run from its build).
 */
export function wantsDeliveryThread(config: Config): boolean {
  if (!config.delivery.thread || config.store.engine !== 'sqlite' || config.store.path === ':memory:') return false;
  if (!existsSync(ENTRY)) throw new Error(`delivery.thread needs the built bridge: ${ENTRY} is missing (run npm run build, or set delivery.thread: false)`);
  return true;
}

export interface DeliveryThreadOptions {
  config: Config;
  storeFile: string;
  /** The template files of the running config, as the main thread accepted them (BridgeLive.templateFiles). */
  templateFiles(): TemplateFilesSnapshot;
  /** Frees every lease in the store; called only while no thread runs (a dead thread's claims become claimable). */
  releaseLeases(): number;
  secrets(): readonly string[];
  logger: Logger;
  metrics: BridgeMetrics;
  /**
   * The store's WAL checkpoints: each thread is attached to run them once it is ready, and detached when it dies
   * (the store's connection then checkpoints on commit until its successor is ready) or is told to stop.
   */
  checkpoints?: Checkpointer;
}

/** The delivering side in a worker thread, as bridge.ts drives it. */
export class DeliveryThread {
  private worker: Worker | undefined;
  private config: Config;
  private stopping = false;
  private readyChecks: { worker: ReadinessCheck; tokens: ReadinessCheck[] } = { worker: { name: 'worker', ok: false, detail: 'delivery thread starting' }, tokens: [] };
  private pendingWake = { deliveries: false, messages: false, scheduled: false };
  private restartMs = RESTART_FIRST_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private reloads = new Map<number, () => void>();
  private nextReload = 1;
  private startedAt = 0;
  private exited: Promise<void> = Promise.resolve();
  /** The running thread's side of the checkpoints, once it is ready (attached to options.checkpoints). */
  private checkpointing: CheckpointRunner | undefined;

  constructor(private readonly options: DeliveryThreadOptions) {
    this.config = options.config;
  }

  /** Wakes the thread's loops; calls within one turn of the event loop are sent as one message. */
  readonly wake: WorkSignals = {
    deliveries: () => this.signal('deliveries'),
    messages: () => this.signal('messages'),
  };

  /** The thread's part of /readyz, as it last reported it: the worker (not ok while the thread is down), the tokens. */
  readiness(): { worker: ReadinessCheck; tokens: ReadinessCheck[] } {
    return this.readyChecks;
  }

  /** Starts the thread; resolves when it delivers, rejects when it died before that (the first start only). */
  start(): Promise<void> {
    return new Promise((resolve, reject) => this.spawn({ resolve, reject }));
  }

  /**
   * Sends the reloaded config, with the template files the main thread accepted with it (read from
   * `templateFiles()` now, and again at every restart); settles when the thread applied it (or is gone).
   */
  reconfigure(next: Config): Promise<void> {
    this.config = next;
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    const id = this.nextReload++;
    return new Promise((resolve) => {
      this.reloads.set(id, resolve);
      worker.postMessage({ type: 'reload', id, config: next, templateFiles: this.options.templateFiles() } satisfies ToThread);
    });
  }

  /** Stops the thread: it stops claiming, finishes its sends within `graceMs`, closes its connection and ends. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    // No checkpoint asked for any more, nor waited for: the thread's stop must not queue behind one.
    this.detachCheckpoints();
    const worker = this.worker;
    if (!worker) return;
    const timeout = setTimeout(() => {
      this.options.logger.error({ graceMs }, 'delivery thread did not stop in time; terminating it');
      void worker.terminate();
    }, graceMs + this.config.delivery.requestTimeoutMs + STOP_EXTRA_MS);
    worker.postMessage({ type: 'stop', graceMs } satisfies ToThread);
    await this.exited;
    clearTimeout(timeout);
  }

  private signal(kind: 'deliveries' | 'messages'): void {
    this.pendingWake[kind] = true;
    if (this.pendingWake.scheduled) return;
    this.pendingWake.scheduled = true;
    // At the end of this turn, not the next: a wake is on the path from webhook to chat.
    queueMicrotask(() => {
      const { deliveries, messages } = this.pendingWake;
      this.pendingWake = { deliveries: false, messages: false, scheduled: false };
      this.worker?.postMessage({ type: 'wake', deliveries, messages } satisfies ToThread);
    });
  }

  private spawn(first?: { resolve: () => void; reject: (error: Error) => void }): void {
    const { logger, metrics } = this.options;
    const worker = new Worker(ENTRY, { workerData: { config: this.config, templateFiles: this.options.templateFiles(), storeFile: this.options.storeFile, stderrIsTTY: process.stderr.isTTY === true } satisfies ThreadData });
    this.worker = worker;
    this.startedAt = Date.now();
    let failure: Error | undefined;
    let resolveExit!: () => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    // One checkpoint at a time (the checkpointer waits for each answer), so one answer is awaited at most.
    let checkpointed: ((outcome: CheckpointOutcome) => void) | undefined;
    const checkpointing: CheckpointRunner = {
      checkpoint: (fromFrames) =>
        new Promise((resolve) => {
          checkpointed = resolve;
          worker.postMessage({ type: 'checkpoint', fromFrames } satisfies ToThread);
        }),
    };
    worker.on('message', (message: FromThread) => {
      switch (message.type) {
        case 'ready':
          metrics.threadCpu.track('delivery', message.tid);
          if (!this.stopping) {
            this.checkpointing = checkpointing;
            this.options.checkpoints?.attach(checkpointing);
          }
          first?.resolve();
          first = undefined;
          return;
        case 'checkpointed':
          checkpointed?.(message.outcome);
          checkpointed = undefined;
          return;
        case 'metrics':
          // While it works, the thread's CPU is read at each batch too: if it dies, only the time since is lost.
          metrics.threadCpu.refresh();
          return applyMetricEvents(metrics, message.events);
        case 'readiness':
          this.readyChecks = { worker: message.worker, tokens: message.tokens };
          return;
        case 'reloaded':
          if (message.error) logger.error({ err: { message: message.error } }, 'the delivery thread rejected the reloaded config; it keeps delivering with the previous one');
          this.reloads.get(message.id)?.();
          this.reloads.delete(message.id);
          return;
      }
    });
    worker.on('error', (error) => {
      failure = error;
      logger.error({ err: { message: redactSecrets(error.message, this.options.secrets()), stack: redactSecrets(error.stack ?? '', this.options.secrets()) } }, 'the delivery thread failed');
    });
    worker.on('exit', (code) => {
      this.worker = undefined;
      this.detachCheckpoints();
      for (const settle of this.reloads.values()) settle();
      this.reloads.clear();
      this.readyChecks = { worker: { name: 'worker', ok: false, detail: 'delivery thread not running' }, tokens: this.readyChecks.tokens };
      resolveExit();
      if (first) return first.reject(new Error(`the delivery thread stopped before it started delivering (exit code ${code}${failure ? `: ${redactSecrets(failure.message, this.options.secrets())}` : ''})`));
      if (this.stopping) return;
      metrics.loopError('delivery');
      this.restartMs = Date.now() - this.startedAt >= LIVED_LONG_MS ? RESTART_FIRST_MS : this.restartMs;
      const released = this.freeLeases();
      logger.error({ code, released, restartInMs: this.restartMs }, 'the delivery thread stopped unexpectedly; its leases are freed and it is started again');
      this.restartTimer = setTimeout(() => this.spawn(), this.restartMs);
      this.restartMs = Math.min(RESTART_MAX_MS, this.restartMs * 2);
    });
  }

  /**
   * The thread no longer checkpoints (stopping or dead): a checkpoint in flight is forgotten, and until its
   * successor is ready the store's own connection checkpoints on commit at SQLite's default 1,000 pages. Not the
   * 8,192-page backstop: with nothing else copying the log, that would copy and sync 32 MB in one commit on the
   * event loop; 1,000 pages keeps each of those to the 40-100 ms SQLite's default always cost, and the log to 4 MB.
   */
  private detachCheckpoints(): void {
    if (this.checkpointing) this.options.checkpoints?.detach(this.checkpointing);
    this.checkpointing = undefined;
  }

  /** The dead thread's leases, claimable again (a store that refuses now is tried again by the next thread's claims after the lease). */
  private freeLeases(): number | string {
    try {
      return this.options.releaseLeases();
    } catch (error) {
      return `not freed (${(error as Error).message}); they run out after delivery.leaseMs`;
    }
  }
}
