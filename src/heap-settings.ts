import v8 from 'node:v8';

/**
 * The V8 heap settings the bridge is measured and documented with, set from inside the process so that they hold
 * however it was started: `npm start` and the image once passed them on node's command line, and a bridge started
 * as `node dist/main.js serve` (a unit file, a Dockerfile of one's own) ran without them, at about 230 MB of peak
 * RSS in the throughput bench against about 146 (issue 17).
 *
 * - `--semi-space-growth-factor=1`: each young generation stays at its first size (1 MB per semi-space) instead of
 *   growing to 16 MB under load, a growth that was most of the difference and that a scavenge never gave back. The
 *   size itself (`--max-semi-space-size`) is read only when a heap is made, too late for the main thread's; the
 *   growth factor is read at each scavenge.
 * - `--heap-growing-percent=50`: the old generation is let grow by half, not by up to four times, between full
 *   collections (read at each collection).
 *
 * A setting given on the command line or in NODE_OPTIONS is left as given (a semi-space size there also leaves the
 * growth factor alone, so the size asked for can be reached).
 *
 * V8 puts the growth factor back to at least 2 whenever it makes a heap, a worker thread's too, and the factor is
 * the process's: {@link keepHeapSettings} sets it again once each worker thread runs.
 */
export interface HeapFlagSources {
  /** node's own options (`process.execArgv`). */
  execArgv: readonly string[];
  /** `NODE_OPTIONS`, which node reads as more of them. */
  nodeOptions: string | undefined;
}

const GROWTH_FACTOR = '--semi-space-growth-factor=1';
/** Whether {@link applyHeapSettings} set the growth factor (the command line did not), so it is kept. */
let growthFactorSet = false;

/** The flags to set, as `--name=value`: those of the settings above that `sources` leave unset. */
export function heapFlagsToSet(sources: HeapFlagSources): string[] {
  const given = new Set(
    [...sources.execArgv, ...(sources.nodeOptions ?? '').split(/\s+/)]
      .filter((arg) => arg.startsWith('--'))
      // V8 reads `--max_semi_space_size` and `--max-semi-space-size` alike.
      .map((arg) => arg.slice(2).split('=')[0]!.replace(/_/g, '-')),
  );
  const flags: string[] = [];
  if (!given.has('heap-growing-percent')) flags.push('--heap-growing-percent=50');
  if (!given.has('max-semi-space-size') && !given.has('semi-space-growth-factor')) flags.push(GROWTH_FACTOR);
  return flags;
}

/** Sets {@link heapFlagsToSet}'s flags in this process: before the heaps grow, and before any worker thread starts. */
export function applyHeapSettings(sources: HeapFlagSources = { execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS }): void {
  for (const flag of heapFlagsToSet(sources)) {
    v8.setFlagsFromString(flag);
    if (flag === GROWTH_FACTOR) growthFactorSet = true;
  }
}

/**
 * Sets the growth factor again after a worker thread's heap was made (call on its `online` event; a no-op unless
 * {@link applyHeapSettings} set it). Until then the process's young generations may have grown one step.
 */
export function keepHeapSettings(): void {
  if (growthFactorSet) v8.setFlagsFromString(GROWTH_FACTOR);
}
