/** What `serve` gets from the store it opened, whichever the engine (serve-store.ts opens it). */
import type { StoreEngine } from './store-contract';
import type { OutboxStore } from './store';
import type { WakeTargets } from './postgres/pg-wake';
import type { Checkpointer } from './checkpointer';

export type { WakeTargets } from './postgres/pg-wake';

/**
 * Wake-ups between the processes that share a store (PostgreSQL LISTEN/NOTIFY, pg-wake.ts). Absent on SQLite,
 * where one process receives and delivers and wakes its own loops.
 */
export interface StoreWakes {
  /** Tells the other processes that work was recorded; call after the commit that recorded it. */
  readonly announce: WakeTargets;
  /**
   * Wakes `targets` whenever another process announces work, over a connection of its own that is reconnected
   * when lost, until `stop`. Wake-ups only hasten the loops' polls; they are never needed for correctness.
   */
  listen(targets: WakeTargets): { stop(): Promise<void> };
}

/** The store `serve` runs on, whichever the engine. */
export interface ServedStore {
  readonly engine: StoreEngine;
  /** The SQLite store itself (its synchronous API, for tools and tests); undefined on PostgreSQL. */
  readonly sqlite?: OutboxStore;
  /** SQLite: the WAL checkpoints' side on the store's connection, for the delivery thread to run them (serve-store.ts). */
  readonly checkpoints?: Checkpointer;
  /** This process's instance id (in the owner row or the replicas table, and in /metrics). */
  readonly instanceId: string;
  /** PostgreSQL: wake-ups across the processes sharing the store. */
  readonly wakes?: StoreWakes;
  /**
   * The store's part of /readyz: it answers and takes writes (probed at most once a second, however many callers
   * ask), and on SQLite its log has never failed a sync (after one, webhooks are answered 503 until a restart).
   */
  health(): Promise<{ ok: boolean; detail?: string }>;
  /** Closes the engine and gives the store up (on SQLite: the owner row, then the lock, last). */
  close(): Promise<void>;
}

/**
 * `probe` run at most once per `everyMs`; callers in between share the last answer (or the probe in flight).
 * /readyz needs no credentials, so pollers must not be able to make the store work for each of their requests.
 */
export function cachedProbe(probe: () => Promise<boolean>, everyMs = 1000): () => Promise<boolean> {
  let last: { at: number; answer: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= everyMs) last = { at: now, answer: probe().catch(() => false) };
    return last.answer;
  };
}
